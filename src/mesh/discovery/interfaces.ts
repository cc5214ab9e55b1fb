// Which network interfaces discovery runs on, and the IPv4 subnet arithmetic that ties a packet
// to the interface it arrived on (see the top of discovery/mdns.ts). Pure but for linuxInterfaceFlags
// (a sysfs read), which chooseInterfaces is given as a parameter: the choice is tested with
// made-up interface lists, apart from the sockets and timers of discovery/mdns.ts.

import { readFileSync } from 'node:fs';
import type { NetworkInterfaceInfo } from 'node:os';

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;
const IFF_MULTICAST = 0x1000;

export const IPV4 = /^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}$/;

export function ipv4ToInt(address: string): number | undefined {
  if (!IPV4.test(address)) return undefined;
  return address.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function inSubnet(address: string, ifaceAddress: string, netmask: string): boolean {
  const a = ipv4ToInt(address);
  const b = ipv4ToInt(ifaceAddress);
  const m = ipv4ToInt(netmask);
  if (a === undefined || b === undefined || m === undefined) return false;
  return (a & m) >>> 0 === (b & m) >>> 0;
}

export interface InterfaceChoice {
  readonly name: string;
  readonly address: string;
  readonly netmask: string;
}

/**
 * The interfaces to run on. `wanted` holds interface names or IPv4 addresses; without it every
 * interface that is up, not loopback, has multicast and an IPv4 address. One address per
 * interface: one group membership per interface is all mDNS needs.
 */
export function chooseInterfaces(
  wanted: readonly string[] | undefined,
  nets: NodeJS.Dict<NetworkInterfaceInfo[]>,
  flagsOf: (name: string) => number | undefined,
): InterfaceChoice[] {
  const out: InterfaceChoice[] = [];
  for (const [name, infos] of Object.entries(nets)) {
    const v4 = (infos ?? []).filter((i) => i.family === 'IPv4');
    if (v4.length === 0) continue;
    if (wanted === undefined) {
      const flags = flagsOf(name);
      if (v4[0]!.internal) continue;
      if (
        flags !== undefined &&
        ((flags & IFF_UP) === 0 || (flags & IFF_LOOPBACK) !== 0 || (flags & IFF_MULTICAST) === 0)
      )
        continue;
      out.push({ name, address: v4[0]!.address, netmask: v4[0]!.netmask });
    } else if (wanted.includes(name)) {
      out.push({ name, address: v4[0]!.address, netmask: v4[0]!.netmask });
    } else {
      const byAddress = v4.find((i) => wanted.includes(i.address));
      if (byAddress !== undefined) out.push({ name, address: byAddress.address, netmask: byAddress.netmask });
    }
  }
  return out;
}

/** Interface flags from sysfs (Linux); undefined where unreadable (then flags aren't checked). */
export function linuxInterfaceFlags(name: string): number | undefined {
  try {
    const text = readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim();
    const n = Number.parseInt(text, 16);
    return Number.isNaN(n) ? undefined : n;
  } catch {
    return undefined;
  }
}
