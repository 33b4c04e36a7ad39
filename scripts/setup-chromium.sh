#!/bin/sh
# Makes sure Debian's chromium is installed for the browser tests (test/web/, driven by playwright-core).
# Installs the package when it is missing (needs root and apt); prints the browser's path on stdout.
# Exit 3: chromium is not installed and cannot be installed here.
set -eu
find_browser() {
  for b in "${CHROMIUM_PATH:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
    if [ -n "$b" ] && [ -x "$b" ]; then echo "$b"; return 0; fi
  done
  return 1
}
if ! find_browser >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-chromium: installing Debian package chromium" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q chromium >&2 || { apt-get update -q >&2 && apt-get install -y -q chromium >&2; } || true
  fi
fi
find_browser || { echo "setup-chromium: chromium is not installed and could not be installed (needs root and apt-get)" >&2; exit 3; }
