#!/bin/sh
# Prepares a SoftHSM2 token for Cerbère's PKCS#11 key provider (CI, tests, local trials).
# Installs Debian's softhsm2 package when it is missing (needs root and apt), writes a
# softhsm2.conf whose token directory is inside DIR, and initialises a token there.
#   scripts/setup-softhsm.sh DIR [TOKEN_LABEL] [USER_PIN] [SO_PIN]
# Prints on stdout, one per line: SOFTHSM2_CONF=…, CERBERE_PKCS11_MODULE=…, CERBERE_PKCS11_TOKEN=…
# Exit 3: SoftHSM2 is not installed and cannot be installed here.
set -eu
DIR=${1:?usage: setup-softhsm.sh DIR [TOKEN_LABEL] [USER_PIN] [SO_PIN]}
LABEL=${2:-cerbere}
PIN=${3:-123456}
SO_PIN=${4:-12345678}

find_module() {
  for m in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
    if [ -f "$m" ]; then echo "$m"; return 0; fi
  done
  return 1
}

if ! command -v softhsm2-util >/dev/null 2>&1 || ! find_module >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup-softhsm: installing Debian package softhsm2" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q softhsm2 >&2 || { apt-get update -q >&2 && apt-get install -y -q softhsm2 >&2; } || true
  fi
fi
if ! command -v softhsm2-util >/dev/null 2>&1; then echo "setup-softhsm: softhsm2 is not installed and could not be installed (needs root and apt-get)" >&2; exit 3; fi
MODULE=$(find_module) || { echo "setup-softhsm: libsofthsm2.so not found" >&2; exit 3; }

mkdir -p "$DIR/tokens"
chmod 700 "$DIR" "$DIR/tokens"
DIR=$(cd "$DIR" && pwd)
CONF="$DIR/softhsm2.conf"
cat > "$CONF" <<CONF
directories.tokendir = $DIR/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
export SOFTHSM2_CONF="$CONF"
if ! softhsm2-util --show-slots 2>/dev/null | grep -q "Label:[[:space:]]*$LABEL[[:space:]]*$"; then
  softhsm2-util --init-token --free --label "$LABEL" --so-pin "$SO_PIN" --pin "$PIN" >&2
fi
echo "SOFTHSM2_CONF=$CONF"
echo "CERBERE_PKCS11_MODULE=$MODULE"
echo "CERBERE_PKCS11_TOKEN=$LABEL"
