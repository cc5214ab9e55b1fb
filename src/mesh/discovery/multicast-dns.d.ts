// The part of multicast-dns 7.x (which ships no types) that src/mesh/discovery/mdns.ts uses. Packets
// are dns-packet 5.x objects; their shape is declared (and every field checked before use, since
// they come off the network) in discovery/packets.ts as DnsPacket / DnsRecord.

declare module 'multicast-dns' {
  import type { EventEmitter } from 'node:events';
  import type { RemoteInfo } from 'node:dgram';

  interface MulticastDnsOptions {
    /** UDP port (5353). */
    port?: number;
    type?: 'udp4' | 'udp6';
    /** Multicast group (224.0.0.251). */
    ip?: string;
    /** IPv4 address of the interface to join the group on and to send from. */
    interface?: string;
    /** Address to bind; must be '0.0.0.0' to receive multicast (bound to a unicast address it never does). */
    bind?: string | false;
    reuseAddr?: boolean;
    /** Deliver our own packets to other sockets on this host (other processes on the same host). */
    loopback?: boolean;
    /** IP TTL of outgoing multicast (RFC 6762: 255). */
    ttl?: number;
    multicast?: boolean;
  }

  interface MulticastDns extends EventEmitter {
    send(packet: object, rinfo: { address: string; port: number } | null, cb: (err?: Error | null) => void): void;
    destroy(cb?: () => void): void;
    on(event: 'query' | 'response' | 'packet', listener: (packet: unknown, rinfo: RemoteInfo) => void): this;
    on(event: 'error' | 'warning', listener: (err: Error) => void): this;
    on(event: 'ready' | 'networkInterface', listener: () => void): this;
  }

  function multicastDns(options?: MulticastDnsOptions): MulticastDns;
  export default multicastDns;
}
