"""Autobahn|Python sessions on different serializers and transports talking through wampmesh.

Six sessions, one per (serializer, transport): json/ws, msgpack/ws, cbor/ws, json/rs, ...
Each registers an echo procedure and subscribes to one shared topic. Then
  * every session calls every other session's echo   -> cases "call A -> B" (caller -> callee)
  * every session publishes once to the shared topic -> cases "event A -> B" (publisher -> subscriber)
The payload is built from the values that transcoding gets wrong: byte strings (including
0x00 and 0xff, and empty), astral-plane and combining-mark unicode, integers at the 2^31,
2^32 and 2^53 edges, nested containers. Checks are type-exact (see strict_mismatch).

The echo callee checks what it received before echoing, so a failure says which leg broke:
CALL -> INVOCATION (reported by the callee as ERROR interop.payload_mismatch_at_callee) or
YIELD -> RESULT (reported by the caller).

usage: cross_serializer.py --ws-url URL --rs-host HOST --rs-port PORT --prefix URI_PREFIX
"""

import argparse
import itertools
from typing import Any, Dict, List, Tuple

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallResult, PublishOptions

from wamp_interop import (SERIALIZERS, Endpoint, InteropSession, Results, check, close_all, connect,
                          guarded, run_main, strict_mismatch, wait_until)

TRANSPORTS = ['ws', 'rs']
CALLEE_MISMATCH = 'interop.payload_mismatch_at_callee'

PAYLOAD_ARGS: List[Any] = [
    b'\x00\xff\x00\x01\xfe\xff',
    bytes(range(256)),
    b'',
    '\U0001F600\U0001F389 \U0001F469\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 \U0001F1EF\U0001F1F5',
    '中文字符 日本語のテキスト 한국어',
    # combining marks: e + acute, a + diaeresis, a Devanagari conjunct, stacked marks
    'e\u0301 a\u0308 \u0915\u094D\u0937 Z\u0351\u036B\u0343',
    # NUL inside a string: only a *leading* NUL marks binary in WAMP's JSON encoding
    'nul\x00inside',
    0, 1, -1, 255, 256, 65535, 65536,
    2**31 - 1, 2**31, 2**32 - 1, 2**32, 2**53 - 1, 2**53,
    -(2**31), -(2**31) - 1, -(2**53 - 1), -(2**53),
    0.5, -1.25, 1.5e300,
    True, False, None,
    [], {},
    {'nested': {'list': [1, [2, [3, {'bin': b'\x00\xff'}]]], '\u00fc': 'umlaut key', '': 'empty key'}},
]
PAYLOAD_KWARGS: Dict[str, Any] = {
    'bin': b'\xff\x00',
    'unicode': '\U0001F600中文e\u0301',
    'big': 2**53,
    'neg': -(2**53),
    'deep': {'a': [{'b': [b'\x00', '\U0001F600', 2**53 - 1]}]},
    'key_\U0001F600': True,
}


def node_name(serializer: str, transport: str) -> str:
    return '{}/{}'.format(serializer, transport)


NODES: List[Tuple[str, str]] = [(s, t) for t in TRANSPORTS for s in SERIALIZERS]


class Inbox:
    def __init__(self) -> None:
        self.events: List[Tuple[tuple, Dict[str, Any]]] = []

    def __call__(self, *args, **kwargs) -> None:
        self.events.append((args, kwargs))


def payload_problem(args: Any, kwargs: Any) -> Any:
    return strict_mismatch(PAYLOAD_ARGS, list(args), 'args') or strict_mismatch(PAYLOAD_KWARGS, kwargs, 'kwargs')


async def main(results: Results, opts: argparse.Namespace) -> None:
    p = opts.prefix
    topic = p + '.fanout'
    sessions: Dict[str, InteropSession] = {}
    inboxes: Dict[str, Inbox] = {}

    for serializer, transport in NODES:
        name = node_name(serializer, transport)
        endpoint = Endpoint(transport, opts.ws_url, opts.rs_host, opts.rs_port)

        async def join(name: str = name, serializer: str = serializer, endpoint: Endpoint = endpoint) -> None:
            sessions[name] = await connect(endpoint, serializer, name)
        await results.run('join ' + name, join)

    live = list(sessions.values())
    names = [node_name(s, t) for s, t in NODES]

    def echo(*args, **kwargs):
        problem = payload_problem(args, kwargs)
        if problem:
            raise ApplicationError(CALLEE_MISMATCH, problem)
        return CallResult(*args, **kwargs)

    for name in names:
        async def register(name: str = name) -> None:
            check(name in sessions, 'not run: session did not join')
            session = sessions[name]
            await guarded(live, session.register(echo, '{}.echo.{}'.format(p, name.replace('/', '_'))), 'REGISTER')
            inbox = Inbox()
            inboxes[name] = inbox
            await guarded(live, session.subscribe(inbox, topic), 'SUBSCRIBE')
        await results.run('register ' + name, register)

    for caller_name, callee_name in itertools.product(names, names):
        if caller_name == callee_name:
            continue

        async def call(caller_name: str = caller_name, callee_name: str = callee_name) -> None:
            check(caller_name in sessions and callee_name in inboxes, 'not run: a session did not join or register')
            procedure = '{}.echo.{}'.format(p, callee_name.replace('/', '_'))
            try:
                res = await guarded(live, sessions[caller_name].call(procedure, *PAYLOAD_ARGS, **PAYLOAD_KWARGS),
                                    'CALL ' + procedure)
            except ApplicationError as e:
                if e.error == CALLEE_MISMATCH:
                    raise AssertionError('CALL->INVOCATION leg altered the payload: {}'.format(e.args[0] if e.args else e))
                raise
            check(isinstance(res, CallResult), 'expected CallResult, got {!r}'.format(type(res)))
            problem = payload_problem(res.results, res.kwresults)
            check(problem is None, 'YIELD->RESULT leg altered the payload: {}'.format(problem))
        await results.run('call {} -> {}'.format(caller_name, callee_name), call)

    # Publish from each session; exclude_me is left at its default, so each subscriber
    # expects exactly one event from each of the other sessions.
    publishers_ok = []
    for name in names:
        if name not in sessions:
            for other in names:
                if other != name:
                    results.fail('event {} -> {}'.format(name, other), 'not run: publisher did not join')
            continue
        try:
            await guarded(live, sessions[name].publish(topic, *PAYLOAD_ARGS, options=PublishOptions(acknowledge=True),
                                                       publisher=name, **PAYLOAD_KWARGS), 'PUBLISH from ' + name)
            publishers_ok.append(name)
        except Exception as e:  # noqa: BLE001 - reported per delivery below
            for other in names:
                if other != name:
                    results.fail('event {} -> {}'.format(name, other), 'PUBLISH failed: {}: {}'.format(type(e).__name__, e))

    def delivered(subscriber: str) -> Dict[str, Tuple[tuple, Dict[str, Any]]]:
        by_publisher = {}
        for args, kwargs in inboxes[subscriber].events:
            by_publisher[kwargs.get('publisher')] = (args, kwargs)
        return by_publisher

    def all_arrived() -> bool:
        return all(set(delivered(s)) >= set(publishers_ok) - {s} for s in inboxes)

    try:
        await wait_until(all_arrived, 'events from all publishers', live, timeout=5)
    except Exception:  # noqa: BLE001 - the per-delivery cases below say which are missing
        pass

    for publisher in publishers_ok:
        for subscriber in names:
            if subscriber == publisher:
                continue

            async def event(publisher: str = publisher, subscriber: str = subscriber) -> None:
                check(subscriber in inboxes, 'not run: subscriber did not subscribe')
                got = delivered(subscriber)
                check(publisher in got, 'no event from {} arrived'.format(publisher))
                args, kwargs = got[publisher]
                kwargs = dict(kwargs)
                kwargs.pop('publisher')
                problem = payload_problem(args, kwargs)
                check(problem is None, 'PUBLISH->EVENT altered the payload: {}'.format(problem))
            await results.run('event {} -> {}'.format(publisher, subscriber), event)

    # Own events must not come back (exclude_me defaults to true).
    for name in inboxes:
        own = [kw.get('publisher') for _, kw in inboxes[name].events if kw.get('publisher') == name]
        if own:
            results.fail('event {} -> {}'.format(name, name), 'publisher received its own event without exclude_me=False')

    await close_all(live)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument('--ws-url', required=True)
    parser.add_argument('--rs-host', default='127.0.0.1')
    parser.add_argument('--rs-port', type=int, required=True)
    parser.add_argument('--prefix', required=True)
    parser.add_argument('--deadline', type=float, default=40.0)
    return parser.parse_args()


if __name__ == '__main__':
    options = parse_args()
    run_main(lambda results: main(results, options), options.deadline)
