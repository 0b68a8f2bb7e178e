#!/usr/bin/env bash
# Debian packages used by some tests: Chromium (browser tests), Prometheus, promtool, the Pushgateway,
# Alertmanager, amtool and the blackbox exporter (rules, scraping, alert routing, the MLflow probe),
# buildah/podman/debootstrap (image builds), hey and wrk (the load test, the serving benchmark).
# Installed when missing and we are root; otherwise the tests that need them skip, saying why.
set -uo pipefail
want=()
command -v chromium >/dev/null || want+=(chromium)
command -v promtool >/dev/null || want+=(prometheus)
command -v prometheus-pushgateway >/dev/null || want+=(prometheus-pushgateway)
command -v prometheus-alertmanager >/dev/null || want+=(prometheus-alertmanager)
command -v prometheus-blackbox-exporter >/dev/null || want+=(prometheus-blackbox-exporter)
for tool in buildah podman skopeo debootstrap runc hey wrk; do command -v "$tool" >/dev/null || want+=("$tool"); done
[[ ${#want[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "Not root: tests needing ${want[*]} will skip." >&2; exit 0
fi
echo "Installing Debian packages: ${want[*]}"
(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}") \
  >/tmp/tasador-system-deps.log 2>&1 || echo "apt-get failed (see /tmp/tasador-system-deps.log): those tests will skip." >&2
exit 0
