#!/usr/bin/env bash
# Network-namespace test bed: several "hosts" on one machine, each reaching only its neighbours.
#
#   scripts/netns.sh up   <chain4|ring6> [TAG]   create (again, from scratch: idempotent)
#   scripts/netns.sh down <chain4|ring6> [TAG]   remove everything of that bed (idempotent)
#   scripts/netns.sh show <chain4|ring6> [TAG]   one line per node interface: NODE NETNS IFACE ADDRESS/24
#   scripts/netns.sh list                        every namespace this script owns (prefix wm-)
#
# chain4: nodes A B C D; links A-B, B-C, C-D.   ring6: nodes R0..R5; links R_i - R_(i+1 mod 6).
#
# Every name starts with "wm-<TAG>-" (TAG defaults to the topology), so beds with different
# tags live side by side (tests run concurrently) and nothing clashes with the host's names:
#   node namespace   wm-<TAG>-<NODE>          lo up, one veth per link named to-<PEER>
#   link namespace   wm-<TAG>-sw-<X><Y>       a bridge br0 with one veth port per node (p-<NODE>)
# Each link is its own L2 segment (its bridge in its own namespace), subnet 10.77.<k>.0/24 for
# the k-th link (1-based), node address 10.77.<k>.<node index + 1>. Nodes don't forward
# (ip_forward is 0 in a new namespace), so A reaches B but never C. Multicast is on on every
# veth and the bridges don't snoop, so mDNS (224.0.0.251) crosses each segment.
#
# The root namespace is never changed: veth pairs are created inside the namespaces
# (`ip -n NODE link add ... peer ... netns LINK`), never in the root one. The 10.77.x addresses
# exist only inside these namespaces. Needs root and iproute2 (installed with apt-get if missing).
set -euo pipefail

PREFIX=wm

die() { echo "netns.sh: $*" >&2; exit 1; }

usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root"; }

need_ip() {
  if ! command -v ip >/dev/null 2>&1; then
    command -v apt-get >/dev/null 2>&1 || die "iproute2 missing and no apt-get"
    echo "netns.sh: installing iproute2" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }
  fi
  ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here"
}

# Sets NODES (array) and LINKS (array of "X Y") for a topology.
topology() {
  case "$1" in
    chain4) NODES=(A B C D); LINKS=("A B" "B C" "C D") ;;
    ring6)
      NODES=(R0 R1 R2 R3 R4 R5); LINKS=()
      for i in 0 1 2 3 4 5; do LINKS+=("R$i R$(((i + 1) % 6))"); done ;;
    *) die "unknown topology '$1' (chain4 or ring6)" ;;
  esac
}

index_of() { local i; for i in "${!NODES[@]}"; do [ "${NODES[$i]}" = "$1" ] && { echo "$i"; return; }; done; die "no node $1"; }

valid_tag() { [[ "$1" =~ ^[A-Za-z0-9]{1,20}$ ]] || die "TAG must be 1-20 letters or digits"; }

ns_node() { echo "$PREFIX-$TAG-$1"; }
ns_link() { echo "$PREFIX-$TAG-sw-$1$2"; }

# Every namespace of one bed, existing or not.
all_ns() {
  local n l
  for n in "${NODES[@]}"; do ns_node "$n"; done
  for l in "${LINKS[@]}"; do read -r x y <<<"$l"; ns_link "$x" "$y"; done
}

down() {
  local ns pids
  for ns in $(all_ns); do
    [ -e "/run/netns/$ns" ] || continue
    # Only processes the tests started live in these namespaces; none may keep it alive.
    mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null || true)
    if [ "${#pids[@]}" -gt 0 ]; then kill -KILL "${pids[@]}" 2>/dev/null || true; fi
    ip netns del "$ns" 2>/dev/null || true
  done
}

up() {
  down
  local n l k=0 x y sw peer node_ns
  for n in "${NODES[@]}"; do
    ip netns add "$(ns_node "$n")"
    ip -n "$(ns_node "$n")" link set lo up
  done
  for l in "${LINKS[@]}"; do
    k=$((k + 1))
    read -r x y <<<"$l"
    sw=$(ns_link "$x" "$y")
    ip netns add "$sw"
    ip -n "$sw" link set lo up
    ip -n "$sw" link add br0 type bridge stp_state 0 mcast_snooping 0
    ip -n "$sw" link set br0 up
    for n in "$x" "$y"; do
      if [ "$n" = "$x" ]; then peer=$y; else peer=$x; fi
      node_ns=$(ns_node "$n")
      ip -n "$node_ns" link add "to-$peer" type veth peer name "p-$n" netns "$sw"
      ip -n "$sw" link set "p-$n" master br0 multicast on up
      ip -n "$node_ns" link set "to-$peer" multicast on up
      ip -n "$node_ns" addr add "10.77.$k.$(($(index_of "$n") + 1))/24" dev "to-$peer"
    done
  done
}

show() {
  local k=0 l x y n peer
  for l in "${LINKS[@]}"; do
    k=$((k + 1))
    read -r x y <<<"$l"
    for n in "$x" "$y"; do
      if [ "$n" = "$x" ]; then peer=$y; else peer=$x; fi
      echo "$n $(ns_node "$n") to-$peer 10.77.$k.$(($(index_of "$n") + 1))/24"
    done
  done
}

cmd=${1:-}
case "$cmd" in
  up|down|show)
    [ $# -ge 2 ] || usage
    topology "$2"
    TAG=${3:-$2}
    valid_tag "$TAG"
    if [ "$cmd" = show ]; then show; exit 0; fi
    need_root; need_ip
    "$cmd"
    if [ "$cmd" = up ]; then show; fi
    ;;
  list)
    need_ip
    ip netns list | awk '{print $1}' | grep "^$PREFIX-" || true
    ;;
  *) usage ;;
esac
