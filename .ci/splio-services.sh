#!/usr/bin/env bash
# Installs what the splio-client tests start on loopback: OpenSSH's sshd (SFTP tests) and
# Stoplight Prism (OpenAPI conformance test), plus the password-auth test user. Idempotent.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null; then
    $SUDO apt-get update
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends openssh-server openssh-client
fi
$SUDO mkdir -p /run/sshd

if ! command -v prism >/dev/null; then
    $SUDO npm install -g @stoplight/prism-cli@5
fi

# A real system user with a known password for the SFTP password-auth test (no shell).
if ! id splio-test >/dev/null 2>&1; then
    $SUDO useradd --create-home --shell /usr/sbin/nologin splio-test
    echo 'splio-test:splio-test-password' | $SUDO chpasswd
fi
