// Every timing and limit of the mesh, with the reason for its default: the one place to read or
// change them. The modules that use them take their defaults from here: MeshNode (config.ts),
// the links (links/links.ts, links/connection.ts), discovery (discovery/mdns.ts), replication
// (replication/replicator.ts) and the runtime that wires them (src/cli/mesh.ts). The ones marked [config]
// can be set in the config file's "mesh" section under the same name (src/config/config.ts
// checks them and names the field at fault); the others are internal and have no setting.
//
// Not here: numbers that a protocol fixes rather than a choice of ours, which stay next to the
// rule they implement: mDNS probing, announcement and query spacing (RFC 6762, discovery/mdns.ts),
// the link frame format's 24-bit length cap, the 4 KiB limit before authentication and the
// 64-octet PING payload (links/framing.ts).
//
// No imports: the config schema uses this module too.

export const meshDefaults = {
  // ---- overlay and routing (MeshNode) --------------------------------------------------------

  /** [config] Links each node tries to keep. Two keep a node reachable when one neighbour dies. */
  minLinks: 2,
  /** [config] Above this, redundant links are dropped (never one that would disconnect the overlay). 4 keeps a node cheap on a Pi. */
  maxLinks: 4,
  /** [config] Own advertisement re-flooded this often, so a silently vanished node ages out. */
  lsaRefreshMs: 30_000,
  /** [config] An advertisement not refreshed for this long is dropped: four refreshes missed. Must exceed 2 x lsaRefreshMs. */
  lsaMaxAgeMs: 120_000,
  /** [config] First redial delay after a failed dial; doubled per failure up to dialBackoffMaxMs. */
  dialBackoffMs: 1_000,
  /** [config] A node that stays away is tried once a minute: cheap, and it is back soon after it returns. */
  dialBackoffMaxMs: 60_000,
  /** Dials in progress at once: a Pi on Wi-Fi should not open a burst of handshakes. */
  maxDialsInFlight: 2,
  /** Registrations and subscriptions are re-advertised this long after a change, batched. */
  advertiseDebounceMs: 25,

  // ---- event delivery (EventSpreader; the contract is in README "Mesh") ----------------------

  /**
   * [config] A link whose event copies stay unacknowledged this long is declared dead, though
   * it may look alive (a silent failure: Wi-Fi out of range, a cable pulled, no RST). Three
   * heartbeat intervals: a neighbour acknowledges within ackDelayMs plus a round trip, so a
   * healthy link is far below it, and a Pi's stall of 2-3 s is mostly ridden out; a false alarm
   * costs a redial and nothing else (the copies go another way). Only with traffic: an idle link
   * is judged by deadAfterMs.
   */
  unackedDeadMs: 3_000,
  /** Acknowledgements batched per link: one small frame per 10 ms at most, ~100/s under load. */
  ackDelayMs: 10,
  /**
   * [config] Octets of event copies kept per link until the next hops have them (8 MiB: ~4 s of
   * 2,000 events/s of 1 KiB). Beyond, the oldest are forgotten (counted, logged): they were
   * sent, and are lost only if the link fails too.
   */
  linkUnackedBytes: 8 * 1024 * 1024,
  /** Copies still unacknowledged after this long are forgotten (counted): a stuck path must not pin memory. */
  linkUnackedMaxAgeMs: 60_000,
  /**
   * [config] Events for a destination that no route reaches, kept per destination to be
   * delivered in order when it is back: a reboot of a Pi (~30-60 s), a Wi-Fi drop. Beyond any
   * of the three bounds the oldest are dropped and counted (mesh status, "dropped").
   */
  outageHoldEvents: 100_000,
  /** [config] See outageHoldEvents: 16 MiB per destination, well within a Pi's memory for a few. */
  outageHoldBytes: 16 * 1024 * 1024,
  /** [config] See outageHoldEvents: two minutes, as long as a vanished node's advertisement lives (lsaMaxAgeMs). */
  outageHoldMs: 120_000,
  /**
   * [config] A subscriber's node holds back an origin's events behind a missing one this long
   * (without progress) before giving up the gap (counted). A missing event is nearly always
   * late, not lost: sent again after a silent failure (unackedDeadMs, once per failure on its
   * way), or on a slow path the route switched away from (backlogs of 5 s were measured on a
   * busy board). 10 s covers two failures in a row and such a path; a gap that is a real loss
   * (a bound was hit, a node died with it) holds that origin's later events up this long.
   */
  holdbackMs: 10_000,
  /** Events held back by a node, all origins together; beyond, the gap being held is given up at once (bounds that memory). */
  holdbackEvents: 50_000,
  /** Origins whose numbering a node remembers: far more nodes than a mesh of Pis has. */
  maxOrigins: 4_096,
  /** Hops an event copy may take: more than any mesh's diameter; ends copies caught in a transient routing loop. */
  eventTtl: 32,
  /** Dropped events are logged at most this often per reason, with a count. */
  dropLogIntervalMs: 10_000,
  /** MeshNode.tick: dials, redundant links, advertisement expiry need no finer resolution. */
  tickMs: 250,

  // ---- links (MeshLinks, LinkConnection) -----------------------------------------------------

  /** [config] A PING a second costs ~12 octets/s per link and measures the round-trip time. */
  heartbeatIntervalMs: 1_000,
  /**
   * [config] A peer silent this long is dead: six missed heartbeats. A Raspberry Pi under load
   * stalls for seconds at a time (SD-card write stalls, GC of a large heap, swapping, thermal
   * throttling, Wi-Fi power save and retransmits), so a peer (or we) may fall silent for 2-3 s
   * and still be healthy; 6 s rides that out and still finds a frozen, powered-off or cut-off
   * peer well before TCP would (minutes). A killed process is seen at once anyway: its kernel
   * closes the socket. Must be at least 2 x heartbeatIntervalMs.
   */
  deadAfterMs: 6_000,
  /** [config] Generous for TLS on a slow CPU over Wi-Fi; bounds stalled dials and half-open strangers. */
  handshakeTimeoutMs: 5_000,
  /**
   * [config] The largest mesh frame this node accepts, announced in its link hello; peers send
   * nothing larger (a call or result that would not fit is answered with
   * wamp.error.payload_size_exceeded). 16 MiB, capped by the 24-bit length field at 16 MiB - 1:
   * a frame carries one WAMP message plus routing fields, and RawSocket caps WAMP messages at
   * 16 MiB. At least 64 KiB (FRAME_BYTES_MIN): a node's route advertisement is sent whole, so a
   * small limit caps how much one node can advertise (about a thousand registrations and
   * subscriptions at 64 KiB); replication splits its pushes and version lists to fit.
   */
  maxFrameBytes: 16 * 1024 * 1024,
  /**
   * [config as maxQueuedBytes] Octets queued for a peer that does not read before its link is
   * closed: unless set, this many times maxFrameBytes, i.e. one frame being written plus one
   * more; beyond that the peer is not keeping up, and dropping the link lets the mesh route
   * around it. maxQueuedBytes must be at least maxFrameBytes.
   */
  maxQueuedFrames: 2,
  /** Inbound connections still in their handshake; more are dropped: a scan or a flood cannot hold more memory. */
  maxPendingHandshakes: 64,
  /** First retry of a static seed that did not answer; doubled per failure up to seedRetryMaxMs, with jitter. */
  seedRetryMs: 1_000,
  seedRetryMaxMs: 30_000,
  /** After a link is closed, a peer that does not finish closing (a frozen process) must not pin the socket. */
  closeLingerMs: 1_000,
  /** A frame too large for a peer is logged at most this often per peer and frame type (with a count of the rest). */
  oversizeLogIntervalMs: 10_000,
  /**
   * A link closed because a frame failed its integrity check (links/integrity.ts) is logged at
   * most this often per peer (with a count of the rest): someone tampering with a link can make
   * it fail on every redial, and must not flood the journal doing so.
   */
  integrityLogIntervalMs: 10_000,

  // ---- discovery (MdnsDiscovery) -------------------------------------------------------------

  /**
   * [config] TTL of our mDNS records. 120 s is RFC 6762 §10's TTL for records that name a host
   * (SRV, A) and what Avahi and Bonjour use. We give it to PTR and TXT too (instead of 75 min)
   * because here the records stand for a running node: a node that vanishes without a goodbye
   * (power cut, Wi-Fi out of range) is forgotten after at most 120 s. The link layer notices a
   * dead neighbour much sooner by itself; discovery only has to stop proposing it. Shorter TTLs
   * mean more refresh traffic on every link (each cache re-queries at 80% and 90% of the TTL),
   * which a Pi on Wi-Fi pays for. 2..4500.
   */
  mdnsTtlSec: 120,
  /**
   * [config] Browse queries start at 1 s and double up to this (RFC 6762 §5.2). New nodes
   * announce themselves, so browsing only catches announcements lost on a lossy link; 30 s is
   * under half of the TTL, so known-answer suppression keeps the answers to it few.
   */
  mdnsQueryIntervalMs: 30_000,
  /** Network interfaces are looked at again this often (Wi-Fi joined, cable plugged in, DHCP lease). */
  mdnsRescanIntervalMs: 5_000,
  /** After losing our name to another host on a link, probe again this much later (it may have left). */
  mdnsConflictRetryMs: 10_000,

  // ---- replication (Replicator) --------------------------------------------------------------

  /**
   * [config] Anti-entropy with every neighbour this often (and on every new link): cheap (one
   * digest per neighbour) and bounds how long a missed push lingers.
   */
  antiEntropyMs: 60_000,
  /**
   * A replicated record whose version (its hybrid logical clock) is this far ahead of our wall
   * clock is not applied (and our clock does not follow it); anti-entropy brings it in once
   * our clock has caught up. Clocks a year apart are a broken clock or a bad peer: adopting
   * such a clock pins every later version near it, and at the end of the HLC's 15 digits of
   * milliseconds no later version could be written at all. A year leaves room for any clock
   * that is merely wrong by hours (an RTC set to local time) or weeks (a board without one).
   */
  clockAheadMaxMs: 366 * 24 * 3600_000,
} as const;

/**
 * Bounds of maxFrameBytes: at least 64 KiB (see maxFrameBytes); at most 16 MiB (the link
 * frame's 24-bit length field makes that 16 MiB - 1 in effect).
 */
export const FRAME_BYTES_MIN = 65_536;
export const FRAME_BYTES_MAX = 16 * 1024 * 1024;
