#!/bin/sh
# Run before the browser test (.ci/run does): test/browser/browser-login.js drives Debian's Chromium
# through playwright-core, because `npx playwright install` cannot download a browser here. A fresh
# Debian machine has none: install Debian's package, as root or through sudo. Recommends are left
# out (a desktop's worth of packages) except fonts-liberation, so screenshots show readable text.
set -eu
if [ -n "${CHROMIUM_PATH:-}" ] || [ -x /usr/bin/chromium ]; then exit 0; fi
echo "== installing chromium (apt), needed by the browser test"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "chromium is missing: install it (apt-get install chromium) or set CHROMIUM_PATH, and run the browser test again" >&2; exit 1; }
  sudo="sudo"
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 chromium fonts-liberation >/dev/null
[ -x /usr/bin/chromium ] || { echo "/usr/bin/chromium is still missing after apt-get install" >&2; exit 1; }
