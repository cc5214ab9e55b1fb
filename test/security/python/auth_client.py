#!/usr/bin/env python3
"""Joins a wampmesh realm with one of Autobahn|Python's own authenticators.

    /usr/bin/python3 test/security/python/auth_client.py --url ws://127.0.0.1:8080/ws \
        --realm com.example --method scram --authid alice --secret 'correct horse battery' \
        [--privkey HEX32] [--call com.example.echo] [--serializer json|msgpack|cbor]

Methods: ticket (--secret), wampcra (--secret), cryptosign (--privkey: the 32-byte Ed25519
seed in hex; --authid optional), scram (--secret; Autobahn's WAMP-SCRAM, kdf argon2id-13).
The authenticators are Autobahn's (autobahn.wamp.auth.create_authenticator), driven the way
its Component does it: one HELLO with that authmethod, on_challenge for AUTHENTICATE,
on_welcome to check the router (SCRAM's server signature).

Prints one JSON line on stdout:
    {"joined": true, "authid": ..., "authrole": ..., "authmethod": ..., "authprovider": ...,
     "call": {"result": ...} | {"error": uri}}        (call only with --call)
    {"joined": false, "reason": uri, "message": ...}
Exit status 0 when joined. Needs python3-autobahn (22.7.1 on Debian 12, 23.1.2 on 13), python3-nacl for cryptosign,
python3-argon2 and python3-passlib for scram.
"""

import argparse
import asyncio
import json
import sys

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.asyncio.websocket import WampWebSocketClientFactory  # noqa: E402
from autobahn.wamp.auth import create_authenticator  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import ComponentConfig  # noqa: E402
from autobahn.websocket.util import parse_url  # noqa: E402

SERIALIZERS = {'json': JsonSerializer, 'msgpack': MsgPackSerializer, 'cbor': CBORSerializer}


def _mend_wampcra_kdf():
    """Autobahn 23.1 (Debian 13) hands PBKDF2HMAC the class hashes.SHA256 where cryptography
    >= 39 wants an instance, so its salted WAMP-CRA raises TypeError before AUTHENTICATE. Only
    then, autobahn.wamp.auth.pbkdf2 becomes the same PBKDF2-HMAC from hashlib; the challenge
    handling stays Autobahn's."""
    import hashlib
    import autobahn.wamp.auth as auth
    try:
        auth.pbkdf2(b'probe', b'salt', 1, 32)
        return
    except TypeError:
        pass

    def pbkdf2(data, salt, iterations=1000, keylen=32, hashfunc=None):
        return hashlib.pbkdf2_hmac(hashfunc or 'sha256', data, salt, iterations, keylen)

    auth.pbkdf2 = pbkdf2


_mend_wampcra_kdf()


class AuthSession(ApplicationSession):
    def __init__(self, config, authenticator, procedure, done):
        super().__init__(config)
        self.authenticator = authenticator
        self.procedure = procedure
        self.done = done

    def _finish(self, result):
        if not self.done.done():
            self.done.set_result(result)

    def onConnect(self):
        a = self.authenticator
        self.join(self.config.realm, authmethods=[a.name], authid=a._args.get('authid'), authextra=a.authextra)

    def onChallenge(self, challenge):
        return self.authenticator.on_challenge(self, challenge)

    def onWelcome(self, msg):
        # A string refuses the router (e.g. a wrong SCRAM server signature).
        refusal = self.authenticator.on_welcome(self, msg.authextra)
        if refusal is not None:
            self._finish({'joined': False, 'reason': 'client.refused_router', 'message': refusal})
        return refusal

    async def onJoin(self, details):
        result = {
            'joined': True, 'authid': details.authid, 'authrole': details.authrole,
            'authmethod': details.authmethod, 'authprovider': details.authprovider,
        }
        if self.procedure:
            try:
                result['call'] = {'result': await self.call(self.procedure)}
            except ApplicationError as e:
                result['call'] = {'error': e.error}
        self._finish(result)
        self.leave()

    def onLeave(self, details):
        self._finish({'joined': False, 'reason': details.reason, 'message': details.message})
        self.disconnect()

    def onDisconnect(self):
        self._finish({'joined': False, 'reason': 'transport.closed', 'message': 'disconnected'})


def authenticator_for(args):
    kw = {}
    if args.authid:
        kw['authid'] = args.authid
    if args.method == 'ticket':
        kw['ticket'] = args.secret
    elif args.method == 'wampcra':
        kw['secret'] = args.secret
    elif args.method == 'scram':
        kw['password'] = args.secret
    elif args.method == 'cryptosign':
        kw['privkey'] = args.privkey
    else:
        raise SystemExit('unknown method ' + args.method)
    return create_authenticator(args.method, **kw)


async def main(args):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    authenticator = authenticator_for(args)
    config = ComponentConfig(realm=args.realm)
    factory = WampWebSocketClientFactory(
        lambda: AuthSession(config, authenticator, args.call, done),
        url=args.url, serializers=[SERIALIZERS[args.serializer]()],
    )
    _secure, host, port, _resource, _path, _params = parse_url(args.url)
    transport, _protocol = await loop.create_connection(factory, host, port)
    try:
        return await asyncio.wait_for(done, args.timeout)
    except asyncio.TimeoutError:
        return {'joined': False, 'reason': 'client.timeout', 'message': 'no WELCOME or ABORT in time'}
    finally:
        transport.close()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--url', required=True)
    parser.add_argument('--realm', required=True)
    parser.add_argument('--method', required=True, choices=['ticket', 'wampcra', 'cryptosign', 'scram'])
    parser.add_argument('--authid')
    parser.add_argument('--secret')
    parser.add_argument('--privkey')
    parser.add_argument('--call')
    parser.add_argument('--serializer', default='json', choices=sorted(SERIALIZERS))
    parser.add_argument('--timeout', type=float, default=20.0)
    outcome = asyncio.run(main(parser.parse_args()))
    print(json.dumps(outcome, default=str))
    sys.exit(0 if outcome.get('joined') else 1)
