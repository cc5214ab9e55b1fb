#!/usr/bin/env bash
# Debian packages the test suite needs: Python autobahn and its serializers/crypto for the
# interoperability tests (a second, independent WAMP implementation talking to ours),
# patchelf for the runtime setup on Debian 12, and mosquitto-clients (mosquitto_pub/sub, a
# third-party MQTT client) for the MQTT tests. Installs only what is missing, and only as root
# or through passwordless sudo; otherwise it says what to install and carries on.
set -euo pipefail

packages=(python3-autobahn python3-cbor2 python3-msgpack python3-nacl python3-argon2 patchelf mosquitto-clients)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done
(( ${#missing[@]} == 0 )) && exit 0

if (( EUID == 0 )); then
  as_root=()
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "install-test-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-test-deps: run: sudo apt-get install ${missing[*]}" >&2
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-test-deps: installing ${missing[*]}" >&2
# A fresh machine has no package lists yet; refresh them only when the first try fails.
if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
