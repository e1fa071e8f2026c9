#!/usr/bin/env bash
# System packages the test suite needs: Chromium, the real browser the report test renders in.
set -euo pipefail
if [ -n "${POWERFIRST_SKIP_BROWSER:-}" ] || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing chromium (Debian package) for the report browser test..." >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "the report browser test needs Chromium: 'sudo apt-get install chromium'" \
       "(or set POWERFIRST_SKIP_BROWSER=1 to skip that one test)" >&2
  exit 1
fi
