#!/bin/sh
# Run before the tests (npm's pretest): test/server-session and test/multi-instance start a real
# redis-server on a loopback port (test/support/redis-server.ts). A fresh Debian machine has none:
# install Debian's package, as root or through sudo.
set -eu
if command -v redis-server >/dev/null 2>&1 || [ -n "${REDIS_SERVER:-}" ]; then exit 0; fi
echo "== installing redis-server (apt), needed by the tests"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "redis-server is missing: install it (apt-get install redis-server) and run the tests again" >&2; exit 1; }
  sudo="sudo"
fi
$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 redis-server >/dev/null
command -v redis-server >/dev/null || { echo "redis-server is still not on PATH after apt-get install" >&2; exit 1; }
