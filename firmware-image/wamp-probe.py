#!/usr/bin/python3
"""Minimal WAMP probe (stdlib only) for boot-test.sh: joins realm1 over RawSocket (JSON) or
WebSocket (JSON) and prints the WELCOME. Retries until the deadline, because qemu's port
forward accepts connections before the guest listens.

  wamp-probe.py rawsocket HOST PORT DEADLINE_S
  wamp-probe.py websocket HOST PORT DEADLINE_S

With WAMP_PROBE_SUBSCRIBE=TOPIC (RawSocket only) the session then subscribes to TOPIC and the
probe passes only on SUBSCRIBED: a WELCOME alone does not show that the session may do anything
(an ERROR, e.g. wamp.error.not_authorized, fails at once).

Inside TLS (wss, RawSocket over TLS) when WAMP_PROBE_FINGERPRINT is set: the server's
certificate must have that SHA-256 fingerprint ("AB:CD:..."), the way a user checks a
self-signed certificate against the one the device printed at first boot.
"""
import base64, hashlib, json, os, socket, ssl, struct, sys, time

FINGERPRINT = os.environ.get("WAMP_PROBE_FINGERPRINT", "").replace(":", "").lower()
# TLS without a pinned fingerprint: only to wait for the device to boot.
TLS = bool(FINGERPRINT) or os.environ.get("WAMP_PROBE_TLS") == "1"


def connect(host, port):
    s = socket.create_connection((host, port), timeout=10)
    if not TLS:
        return s
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # pinned by fingerprint below instead of a CA
    t = context.wrap_socket(s, server_hostname=host)
    seen = hashlib.sha256(t.getpeercert(binary_form=True)).hexdigest()
    if FINGERPRINT and seen != FINGERPRINT:
        t.close()
        raise ssl.SSLError(f"certificate fingerprint {seen} is not the expected {FINGERPRINT}")
    return t

HELLO = [1, "realm1", {"roles": {"caller": {}, "callee": {}, "publisher": {}, "subscriber": {}}}]
# From outside the board anonymous sessions are refused (loopback only), so the probe can log in
# as the administrator set in wampmesh.txt: WAMP_PROBE_TICKET="REALM AUTHID TICKET".
TICKET = os.environ.get("WAMP_PROBE_TICKET", "").split(" ", 2)
if len(TICKET) == 3:
    HELLO = [1, TICKET[0], {"roles": {"caller": {}}, "authmethods": ["ticket"], "authid": TICKET[1]}]
AUTHENTICATE = [5, TICKET[2], {}] if len(TICKET) == 3 else None
SUBSCRIBE = os.environ.get("WAMP_PROBE_SUBSCRIBE", "")


class Refused(Exception):
    """The router answered, and the answer was no: retrying will not change it."""


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    return buf


def rawsocket(host, port):
    stage = ["connecting"]  # named in a failure: which step the router ended the connection at
    try:
        return rawsocket_session(host, port, stage)
    except ConnectionError as e:
        raise ConnectionError(f"{e} during {stage[0]}") from e


def rawsocket_session(host, port, stage):
    with connect(host, port) as s:
        stage[0] = "handshake"
        s.sendall(bytes([0x7F, 0xF1, 0, 0]))  # JSON, max message 16 MiB
        reply = recv_exact(s, 4)
        if reply[0] != 0x7F or reply[1] & 0x0F != 1:
            raise ConnectionError(f"handshake refused: {reply.hex()}")
        def send(m):
            body = json.dumps(m).encode()
            s.sendall(struct.pack(">I", len(body)) + body)

        send(HELLO)
        stage[0] = "HELLO"
        while True:
            head = recv_exact(s, 4)
            length = struct.unpack(">I", head)[0] & 0xFFFFFF
            msg = json.loads(recv_exact(s, length))
            if head[0] & 0x07 != 0:
                continue
            if msg[0] == 4 and AUTHENTICATE is not None:
                send(AUTHENTICATE)
                stage[0] = "AUTHENTICATE"
                continue
            if msg[0] == 2 and SUBSCRIBE:
                welcome = msg
                send([32, 1, {}, SUBSCRIBE])
                stage[0] = "SUBSCRIBE"
                continue
            if msg[0] == 33 and SUBSCRIBE:  # [SUBSCRIBED, Request, Subscription]
                return welcome + [{"subscribed": SUBSCRIBE, "subscription": msg[2]}]
            if msg[0] == 8 and SUBSCRIBE:  # [ERROR, SUBSCRIBE, Request, Details, Error]
                raise Refused(f"SUBSCRIBE {SUBSCRIBE}: {msg[4]}")
            return msg


def websocket(host, port):
    with connect(host, port) as s:
        key = base64.b64encode(os.urandom(16)).decode()
        s.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: wamp.2.json\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(1)
            if not chunk:
                raise ConnectionError("closed during upgrade")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise ConnectionError(head.split(b"\r\n")[0].decode())
        def send(m):
            payload = json.dumps(m).encode()
            mask = os.urandom(4)
            s.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

        def receive():
            b0, b1 = recv_exact(s, 2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", recv_exact(s, 2))[0]
            elif n == 127:
                n = struct.unpack(">Q", recv_exact(s, 8))[0]
            return json.loads(recv_exact(s, n))

        send(HELLO)
        msg = receive()
        if msg[0] == 4 and AUTHENTICATE is not None:
            send(AUTHENTICATE)
            msg = receive()
        return msg


def main():
    kind, host, port, deadline = sys.argv[1], sys.argv[2], int(sys.argv[3]), time.monotonic() + float(sys.argv[4])
    probe = rawsocket if kind == "rawsocket" else websocket
    seen = []  # distinct failures, in order, so a failed run says what went wrong
    while time.monotonic() < deadline:
        try:
            msg = probe(host, port)
            if msg and msg[0] == 2:
                print(json.dumps(msg))
                return 0
            error = f"unexpected {msg}"
        except Refused as e:
            print(f"refused: {e}", file=sys.stderr)
            return 1
        except (OSError, ValueError) as e:
            error = repr(e)
        if error not in seen:
            seen.append(error)
        time.sleep(2)
    print(f"no WELCOME before the deadline; failures seen: {'; '.join(seen[-5:])}", file=sys.stderr)
    return 1


sys.exit(main())
