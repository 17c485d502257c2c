#!/usr/bin/env bash
# Installs what the metrics tests of sync-examples need (Debian packages): `promtool` (package
# `prometheus`), which checks the text exposition format and the alert rules, and a Prometheus
# Pushgateway (package `prometheus-pushgateway`), which the tests start themselves on 127.0.0.1
# (a free port each). Neither package's service is started or left running here. Idempotent.
set -euo pipefail

need=()
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-pushgateway >/dev/null || [ -x /usr/bin/prometheus-pushgateway ] \
    || need+=(prometheus-pushgateway)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
$SUDO apt-get update
# policy-rc.d 101: the packages' own services are not started (the tests start a Pushgateway
# on a free loopback port of their own).
POLICY=/usr/sbin/policy-rc.d
if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$POLICY" >/dev/null
    $SUDO chmod +x "$POLICY"
    trap '$SUDO rm -f "$POLICY"' EXIT
fi
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need[@]}"
