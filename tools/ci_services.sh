#!/usr/bin/env bash
# The programs the tests run for real: headless Chromium, PostgreSQL, Redis. Installed from Debian's packages when the
# machine lacks them and we may (root + apt-get, as in CI); elsewhere the tests that need them skip and say so.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium chromium-driver)
command -v redis-server >/dev/null || need+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing test services: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # the Debian package starts a cluster of its own on 5432; the tests start their own servers on free ports
  command -v service >/dev/null && { service postgresql stop >/dev/null 2>&1 || true; service redis-server stop >/dev/null 2>&1 || true; }
else
  echo "note: ${need[*]} not installed and not root: the tests that need them will be skipped" >&2
fi
exit 0
