#!/usr/bin/env bash
# Installs xmllint (Debian's libxml2-utils): the directo-client tests validate every put they
# build against Directo's input XSDs with it, and fail when it is missing. Idempotent.
set -euo pipefail

if command -v xmllint >/dev/null; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends libxml2-utils
