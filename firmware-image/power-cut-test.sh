#!/bin/bash
# Power-cut test: hard resets of a VM running wampmesh under systemd while a client on the host
# makes acknowledged writes; after every reboot nothing acknowledged may be missing and SQLite's
# `PRAGMA integrity_check` must say ok.
#
#   firmware-image/power-cut-test.sh [--cycles N] [--keep]
#
# The machine: Debian trixie amd64 (the Pi image's suite, systemd and wampmesh unit, installed
# from the wampmesh .deb as on the image), built by mmdebstrap natively and booted by
# qemu-system-x86_64 with KVM when /dev/kvm works (TCG otherwise) from its own kernel and
# initrd, the root filesystem an ext4 virtio disk. The Pi image itself (build.sh: ~15 min, and
# every boot under arm64 emulation takes minutes) would make a 10-cycle test take an hour; what
# a power cut tests (ext4, SQLite's WAL and fsync, the router's acknowledgement after commit)
# is the same on both.
#
# Each cycle: boot; a oneshot unit runs `PRAGMA integrity_check` on the database before the
# router starts and prints it on the serial console (a host file); the host client checks that
# every write acknowledged so far is there (power-cut-client.py verify); then two host clients
# write for a random 3-10 s (wampmesh.user.create as the administrator, and PUBLISH with
# acknowledge to a topic with history), logging each acknowledged id on the host; then the VM is
# reset hard: alternately `kill -9` of qemu and the qemu monitor's `system_reset`. The guest's
# RAM (page cache included) is lost either way; the host is not, so writes qemu had handed to
# the host file survive: a disk's own volatile cache is not modelled.
#
# Not part of `npm test` (a VM, a few minutes). Needs root (mmdebstrap, device nodes). The root
# filesystem is cached under $WAMPMESH_POWERCUT_CACHE (default /var/tmp/wampmesh-powercut)
# keyed by the executable, the package list and power-cut-guest.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"

cycles=10
keep=0
while [ $# -gt 0 ]; do
  case $1 in
    --cycles) cycles=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    *) die "unknown option $1" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root"
ensure_packages mmdebstrap qemu-system-x86 e2fsprogs python3
started=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/var/tmp}/wampmesh-powercut.XXXXXX")
qemu_pid=
writers=()
stop_qemu() { [ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null && wait "$qemu_pid" 2>/dev/null; qemu_pid=; }
cleanup() {
  for p in "${writers[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_qemu || true
  if [ "$keep" = 1 ]; then log "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

ADMIN_PW='power cut admin pw 5521'
deb=$("$root/scripts/build-deb.sh" --arch amd64 --compress none --out "$work/deb")
packages=systemd,systemd-sysv,udev,kmod,linux-image-amd64,initramfs-tools,zstd,libstdc++6,libgcc-s1,sqlite3,iproute2
cache=${WAMPMESH_POWERCUT_CACHE:-/var/tmp/wampmesh-powercut}
key=$( (cat "$root/dist/wampmesh-linux-x64" "$here/power-cut-guest.sh"; echo "$packages") | sha256sum | cut -c1-16)
built=$cache/$key
if [ ! -f "$built/root.img" ]; then
  mirror=$(debian_mirror)
  rootfs=$work/rootfs
  log "mmdebstrap trixie amd64 from $mirror"
  t0=$(date +%s)
  mmdebstrap --arch=amd64 --variant=minbase --mode=root \
    --include="$packages" \
    --aptopt='APT::Sandbox::User "root"' --dpkgopt=force-confdef --dpkgopt=force-confold \
    --customize-hook="'$here/power-cut-guest.sh' \"\$1\" '$deb' '$ADMIN_PW'" \
    trixie "$rootfs" "deb $mirror trixie main" >"$work/mmdebstrap.log" 2>&1 \
    || { tail -40 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed (log above)"; }
  log "root folder ready in $(( $(date +%s) - t0 )) s"
  mkdir -p "$built.tmp"
  cp -L "$rootfs/vmlinuz" "$built.tmp/vmlinuz"
  cp -L "$rootfs/initrd.img" "$built.tmp/initrd"
  mkfs.ext4 -q -L powercut -d "$rootfs" "$built.tmp/root.img" "$(( $(du -sm --apparent-size "$rootfs" | cut -f1) + 600 ))M"
  rm -rf "$built" && mv "$built.tmp" "$built"
fi
disk=$work/root.img
cp --sparse=always "$built/root.img" "$disk"

# KVM when this host offers it; where it fails (nested KVM here stops the kernel's decompressor
# with "KVM internal error. Suberror: 1"), TCG: slower (minutes per boot), the same resets.
accel=tcg
[ -w /dev/kvm ] && [ "${WAMPMESH_POWERCUT_ACCEL:-kvm}" = kvm ] && accel=kvm
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
serial=$work/serial.log
monitor=$work/monitor.sock
boot_vm() {
  qemu-system-x86_64 -accel "$accel" -M q35 -cpu max -smp 2 -m 1024 \
    -kernel "$built/vmlinuz" -initrd "$built/initrd" \
    -append "root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=0" \
    -drive "file=$disk,if=virtio,format=raw" \
    -netdev "user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:$port-:8081" -device virtio-net-pci,netdev=n0 \
    -device virtio-rng-pci -display none -serial "file:$serial.$1" -monitor "unix:$monitor,server,nowait" \
    2>>"$work/qemu.log" &
  qemu_pid=$!
  sleep 5
  if [ "$accel" = kvm ] && ! kill -0 "$qemu_pid" 2>/dev/null; then
    log "qemu with KVM stopped at once ($(head -1 "$work/qemu.log")): using TCG"
    accel=tcg
    boot_vm "$1"
  fi
}
monitor() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()+b"\n"); s.recv(4096)' "$monitor" "$1"; }
client() { WAMP_ADMIN_TICKET="admin $ADMIN_PW" python3 "$here/power-cut-client.py" "$@"; }

users=$work/acked-users.txt
events=$work/acked-events.txt
: > "$users"
: > "$events"
result=0
boot_vm 0
for cycle in $(seq 0 "$cycles"); do
  t0=$(date +%s)
  if ! report=$(client verify 127.0.0.1 "$port" "$users" "$events" 600); then
    result=1; log "boot $cycle: LOST acknowledged writes: $report"
  else
    log "boot $cycle (up in $(( $(date +%s) - t0 )) s): $report"
  fi
  sleep 1
  check=$(cat "$serial".* | tr -d '\r' | grep -a "powercut-check: boot $cycle " || true)
  if grep -q 'integrity_check: ok$' <<<"$check"; then log "  $check"
  else result=1; log "  integrity check of boot $cycle: FAILED or missing: ${check:-no line}"; fi
  [ "$cycle" = "$cycles" ] && break

  client users 127.0.0.1 "$port" "$users" "u$cycle" 2>>"$work/writers.log" & writers=($!)
  client events 127.0.0.1 "$port" "$events" "e$cycle" 2>>"$work/writers.log" & writers+=($!)
  sleep "$(( 3 + RANDOM % 8 ))"
  if [ $(( cycle % 2 )) = 0 ]; then
    kill -9 "$qemu_pid"; wait "$qemu_pid" 2>/dev/null || true; qemu_pid=
    how="kill -9 of qemu"
  else
    monitor system_reset
    how="system_reset"
  fi
  for p in "${writers[@]}"; do wait "$p" 2>/dev/null || true; done
  writers=()
  log "cycle $cycle: hard reset ($how) with $(wc -l < "$users") users and $(wc -l < "$events") events acknowledged so far"
  [ -z "$qemu_pid" ] && boot_vm "$((cycle + 1))"
done
stop_qemu || true

log "power-cut test $([ $result = 0 ] && echo PASSED || echo FAILED): $cycles hard resets ($accel), $(wc -l < "$users") users and $(wc -l < "$events") events acknowledged, in $(( $(date +%s) - started )) s"
[ $result = 0 ] || { tail -40 "$serial".* >&2; keep=1; }
exit $result
