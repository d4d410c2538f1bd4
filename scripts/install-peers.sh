#!/usr/bin/env bash
# Installs the peers kdive's tests compare against (Debian's crash 8.0.2)
# when missing. Tests that need them skip, saying so, when they are absent.
set -euo pipefail
if command -v crash >/dev/null; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "install-peers: not root or no apt-get: crash comparisons will be skipped" >&2
  exit 0
fi
apt-get update -qq >&2 || true
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends crash >&2 ||
  echo "install-peers: could not install crash: crash comparisons will be skipped" >&2
