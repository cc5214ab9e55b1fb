#!/usr/bin/env bash
# Debian packages the test suite needs: Python autobahn and its serializers/crypto for the
# interoperability tests (a second, independent WAMP implementation talking to ours), and
# patchelf for the runtime setup on Debian 12, prometheus for its promtool (the /metrics
# output is checked with `promtool check metrics`), and chromium for the web console's test
# (driven by npm playwright-core), util-linux for prlimit (the open-file limit test; essential on
# Debian, listed so the dependency is written down), and mosquitto-clients (mosquitto_pub/sub, a
# third-party MQTT client) for the MQTT tests, python3-jwt (with python3-cryptography for ES256)
# and curl to check OAuth2 tokens with a third-party JWT library, mosquitto (the broker) as the remote
# side of the MQTT bridge tests, and for test/packaging: apt-ftparchive (apt-utils)
# for the apt repository, mkfs.vfat, mtools, sfdisk and e2fsprogs for the Raspberry Pi OS-like
# image inject.sh is tried on, curl (a third-party HTTP client for the HTTP gateway's tests) and
# wrk (the HTTP gateway's benchmark rows), and openssl (the certificates and the client CA of the
# TLS tests, made at test time). Installs only what is missing, and only as root
# or through passwordless sudo; otherwise it says what to install and carries on.
set -euo pipefail

packages=(python3-autobahn python3-cbor2 python3-msgpack python3-nacl python3-argon2 python3-jwt python3-cryptography patchelf util-linux prometheus chromium
  mosquitto mosquitto-clients apt-utils dosfstools mtools fdisk e2fsprogs curl wrk openssl)

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
# Wait for another apt or dpkg run (unattended upgrades, a second checkout's tests) instead of
# failing at once on its lock.
apt=(apt-get -o DPkg::Lock::Timeout=600)
echo "install-test-deps: installing ${missing[*]}" >&2
# A fresh machine has no package lists yet; refresh them only when the first try fails.
if ! "${as_root[@]}" "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
  "${as_root[@]}" "${apt[@]}" update -qq
  "${as_root[@]}" "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
