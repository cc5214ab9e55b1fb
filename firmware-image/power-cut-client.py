#!/usr/bin/python3
"""WAMP client (stdlib only, RawSocket + JSON) for power-cut-test.sh. It runs on the host, so
what it records survives the guest's hard reset: each write is appended to ACKLOG only after
the router acknowledged it.

  power-cut-client.py users   HOST PORT ACKLOG PREFIX   create users PREFIX-1, -2, ... in USERS_REALM
                                                         (wampmesh.user.create, as the administrator)
  power-cut-client.py events  HOST PORT ACKLOG PREFIX   publish PREFIX-1, -2, ... to TOPIC with
                                                         acknowledge: true (a topic with history)
  power-cut-client.py verify  HOST PORT USERLOG EVENTLOG DEADLINE_S
                                                         every acknowledged user and event is there

Writers keep WINDOW requests in flight and run until the connection dies (the reset). The
administrator's ticket comes from WAMP_ADMIN_TICKET="AUTHID TICKET".
"""
import json, os, socket, struct, sys, time

REALM = "com.example.powercut"  # config-file realm: anonymous, history on TOPIC
USERS_REALM = "com.example.powercut.users"  # a security-store realm (users live there)
TOPIC = "com.example.powercut.events"
WINDOW = 8
ROLES = {"caller": {}, "publisher": {}, "subscriber": {}}


class Session:
    def __init__(self, host, port, realm, ticket=None):
        self.s = socket.create_connection((host, port), timeout=30)
        self.s.sendall(bytes([0x7F, 0xF1, 0, 0]))  # JSON, 16 MiB
        reply = self._exact(4)
        if reply[0] != 0x7F or reply[1] & 0x0F != 1:
            raise ConnectionError(f"handshake refused: {reply.hex()}")
        details = {"roles": ROLES}
        if ticket is not None:
            details.update(authmethods=["ticket"], authid=ticket[0])
        self.send([1, realm, details])
        while True:
            m = self.receive()
            if m[0] == 4 and ticket is not None:
                self.send([5, ticket[1], {}])
            elif m[0] == 2:
                return
            else:
                raise ConnectionError(f"no WELCOME: {m}")

    def _exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.s.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def send(self, m):
        body = json.dumps(m).encode()
        self.s.sendall(struct.pack(">I", len(body)) + body)

    def receive(self):
        while True:
            head = self._exact(4)
            body = self._exact(struct.unpack(">I", head)[0] & 0xFFFFFF)
            if head[0] & 0x07 == 0:  # a WAMP message, not a RawSocket PING/PONG
                return json.loads(body)

    def call(self, request, procedure, args):
        self.send([48, request, {}, procedure, args])
        m = self.receive()
        if m[0] != 50:
            raise RuntimeError(f"{procedure}: {m}")
        return m[3] if len(m) > 3 else []  # [RESULT, CALL.Request, Details, Arguments]


def admin_ticket():
    t = os.environ.get("WAMP_ADMIN_TICKET", "").split(" ", 1)
    if len(t) != 2:
        sys.exit("WAMP_ADMIN_TICKET must be 'AUTHID TICKET'")
    return t


def write(kind, host, port, acklog, prefix):
    if kind == "users":
        s = Session(host, port, "wampmesh.admin", admin_ticket())
        request = lambda rid, name: [48, rid, {}, "wampmesh.user.create", [USERS_REALM, {"authid": name}]]
        acked = 50  # RESULT
    else:
        s = Session(host, port, REALM)
        request = lambda rid, name: [16, rid, {"acknowledge": True}, TOPIC, [name]]
        acked = 17  # PUBLISHED
    pending = {}
    n = 0
    with open(acklog, "a", buffering=1) as log:
        try:
            while True:
                while len(pending) < WINDOW:
                    n += 1
                    name = f"{prefix}-{n}"
                    pending[n] = name
                    s.send(request(n, name))
                m = s.receive()
                if m[0] == acked:
                    log.write(pending.pop(m[1]) + "\n")  # line-buffered: on the host's disk at once
                else:
                    raise RuntimeError(f"not acknowledged: {m}")
        except (ConnectionError, OSError) as e:
            print(f"{kind}: {prefix}: connection ended ({e}) with {len(pending)} unacknowledged", file=sys.stderr)


def lines(path):
    try:
        with open(path) as f:
            return [l.strip() for l in f if l.strip()]
    except FileNotFoundError:
        return []


def verify(host, port, userlog, eventlog, deadline_s):
    deadline = time.time() + deadline_s
    while True:  # qemu's port forward accepts before the guest listens
        try:
            admin = Session(host, port, "wampmesh.admin", admin_ticket())
            anon = Session(host, port, REALM)
            break
        except (ConnectionError, OSError):
            if time.time() > deadline:
                raise
            time.sleep(1)
    users = {u["authid"] for u in admin.call(1, "wampmesh.user.list", [USERS_REALM])[0]}
    anon.send([32, 1, {}, TOPIC])
    sub = anon.receive()
    if sub[0] != 33:
        raise RuntimeError(f"SUBSCRIBE: {sub}")
    events = {e["args"][0] for e in anon.call(2, "wamp.subscription.get_events", [sub[2], 1_000_000])[0]}
    want_users, want_events = lines(userlog), lines(eventlog)
    lost_users = [u for u in want_users if u not in users]
    lost_events = [e for e in want_events if e not in events]
    print(json.dumps({
        "acknowledged_users": len(want_users), "users_present": len(users), "lost_users": lost_users[:20],
        "acknowledged_events": len(want_events), "events_present": len(events), "lost_events": lost_events[:20],
    }))
    return 1 if lost_users or lost_events else 0


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode in ("users", "events"):
        write(mode, sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif mode == "verify":
        sys.exit(verify(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6])))
    else:
        sys.exit(__doc__)
