#!/usr/bin/env python3
"""Joins a wampmesh realm over RawSocket inside TLS with a client certificate, as Autobahn|Python
does it: asyncio's TLS (ssl.SSLContext with the client's certificate and key), Autobahn's
RawSocket client factory, and a HELLO offering authmethod "tls" (the WAMP spec's TLS client
certificate authentication: no CHALLENGE, the router knows the client from its certificate).

    /usr/bin/python3 test/transport/python/tls_client.py --port 8081 --realm com.example \
        --ca router.crt [--cert client.crt --key client.key] [--authid alice]

Prints one JSON line on stdout:
    {"joined": true, "authid": ..., "authrole": ..., "authmethod": ..., "authprovider": ...}
    {"joined": false, "reason": uri, "message": ...}
    {"joined": false, "error": text}       (TLS refused the connection, or it closed before WELCOME)
Exit status 0 when joined. Needs python3-autobahn.
"""

import argparse
import asyncio
import json
import ssl
import sys

import txaio

txaio.use_asyncio()

from autobahn.asyncio.rawsocket import WampRawSocketClientFactory, WampRawSocketClientProtocol  # noqa: E402
from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.wamp.types import ComponentConfig  # noqa: E402

# Autobahn 22.7.1's asyncio RawSocket client has no transport_details, which its session reads
# on WELCOME (AttributeError, and the session is dropped); only then it gets an empty one.
if not hasattr(WampRawSocketClientProtocol, 'transport_details'):
    WampRawSocketClientProtocol.transport_details = None


class TlsSession(ApplicationSession):
    def __init__(self, config, authid, done):
        super().__init__(config)
        self.wanted_authid = authid
        self.done = done

    def _finish(self, result):
        if not self.done.done():
            self.done.set_result(result)

    def onConnect(self):
        self.join(self.config.realm, authmethods=['tls'], authid=self.wanted_authid)

    def onJoin(self, details):
        self._finish({'joined': True, 'authid': details.authid, 'authrole': details.authrole,
                      'authmethod': details.authmethod, 'authprovider': details.authprovider})
        self.leave()

    def onLeave(self, details):
        self._finish({'joined': False, 'reason': details.reason, 'message': details.message})
        self.disconnect()

    def onDisconnect(self):
        self._finish({'joined': False, 'error': 'connection closed before WELCOME'})


async def main(args):
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=args.ca)
    if args.cert:
        context.load_cert_chain(args.cert, args.key)
    done = asyncio.get_running_loop().create_future()
    factory = WampRawSocketClientFactory(
        lambda: TlsSession(ComponentConfig(realm=args.realm), args.authid, done))
    try:
        transport, _ = await asyncio.get_running_loop().create_connection(
            factory, '127.0.0.1', args.port, ssl=context, server_hostname='127.0.0.1')
    except OSError as e:
        return {'joined': False, 'error': f'{type(e).__name__}: {e}'}
    # A connection the router closes before the RawSocket handshake has no session to say so.
    for _ in range(100):
        if done.done():
            return done.result()
        if transport.is_closing():
            await asyncio.sleep(0.1)
            return done.result() if done.done() else {'joined': False, 'error': 'closed before WELCOME'}
        await asyncio.sleep(0.1)
    return {'joined': False, 'error': 'no WELCOME within 10 s'}


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--realm', required=True)
    p.add_argument('--ca', required=True)
    p.add_argument('--cert')
    p.add_argument('--key')
    p.add_argument('--authid')
    result = asyncio.run(main(p.parse_args()))
    print(json.dumps(result), flush=True)
    sys.exit(0 if result.get('joined') else 1)
