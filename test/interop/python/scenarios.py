"""Autobahn|Python against wampmesh: the basic RPC and PubSub contract on one transport and
one serializer. See wamp_interop.py for the output contract; CASES below is the list the ava
driver expects to see reported, one entry per case.

usage: scenarios.py --transport ws|rs --serializer json|msgpack|cbor
                    --ws-url URL --rs-host HOST --rs-port PORT --prefix URI_PREFIX
"""

import argparse
import asyncio
from typing import Any, Dict, List, Tuple

from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions, CallResult, PublishOptions, RegisterOptions

from wamp_interop import (Endpoint, InteropSession, Results, check, close_all, connect, guarded,
                          run_main, strict_mismatch, wait_until)

CASES = [
    'join',
    'register',
    'call_single_result',
    'call_args_kwargs',
    'application_error',
    'no_such_procedure',
    'publish_acknowledged',
    'publisher_excluded_by_default',
    'publisher_receives_with_exclude_me_false',
    'large_string_1mb',
    'large_bytes_1mb',
    'unregister',
    'progressive_results',
    'leave',
]

NO_SUCH_PROCEDURE = 'wamp.error.no_such_procedure'
ONE_MIB = 1 << 20


class Inbox:
    """Events received by one subscription, in arrival order."""

    def __init__(self) -> None:
        self.events: List[Tuple[tuple, Dict[str, Any]]] = []

    def __call__(self, *args, **kwargs) -> None:
        self.events.append((args, kwargs))


async def main(results: Results, opts: argparse.Namespace) -> None:
    endpoint = Endpoint(opts.transport, opts.ws_url, opts.rs_host, opts.rs_port)
    p = opts.prefix
    proc_echo, proc_add, proc_fail = p + '.echo', p + '.add', p + '.fail'
    error_uri = p + '.error.custom'

    sessions: List[InteropSession] = []

    async def join() -> None:
        # Two sessions: one calls/publishes, the other registers/subscribes, so that the
        # router really routes between sessions and "exclude_me" has someone else to reach.
        sessions.append(await connect(endpoint, opts.serializer, 'caller'))
        sessions.append(await connect(endpoint, opts.serializer, 'callee'))
        check(all(isinstance(s.session_id, int) and s.session_id > 0 for s in sessions),
              'session ids must be positive integers, got {}'.format([s.session_id for s in sessions]))

    if not await results.run('join', join):
        for case in CASES[1:]:
            results.fail(case, 'not run: no session could join')
        return
    caller, callee = sessions

    def echo(*args, **kwargs):
        return CallResult(*args, **kwargs)

    def add(a, b, scale=1):
        return (a + b) * scale

    def fail(*args, **kwargs):
        raise ApplicationError(error_uri, 'first', 2, detail={'nested': True}, code=42)

    registrations = {}

    async def register() -> None:
        for uri, fn in ((proc_echo, echo), (proc_add, add), (proc_fail, fail)):
            reg = await guarded(sessions, callee.register(fn, uri), 'REGISTER ' + uri)
            check(isinstance(reg.id, int) and reg.id > 0, 'registration id must be a positive integer, got {!r}'.format(reg.id))
            registrations[uri] = reg
    await results.run('register', register)

    async def call_single_result() -> None:
        # One positional result comes back as a plain value, not a CallResult.
        res = await guarded(sessions, caller.call(proc_add, 2, 3, scale=10), 'CALL add')
        problem = strict_mismatch(50, res)
        check(problem is None, 'add(2, 3, scale=10): {}'.format(problem))
    await results.run('call_single_result', call_single_result)

    async def call_args_kwargs() -> None:
        args = [1, 'two', [3, {'four': 4}], None, True]
        kwargs = {'k': 'v', 'n': -7, 'f': 0.25}
        res = await guarded(sessions, caller.call(proc_echo, *args, **kwargs), 'CALL echo')
        check(isinstance(res, CallResult), 'expected CallResult, got {!r}'.format(res))
        problem = strict_mismatch(args, res.results) or strict_mismatch(kwargs, res.kwresults)
        check(problem is None, 'echo: {}'.format(problem))
    await results.run('call_args_kwargs', call_args_kwargs)

    async def application_error() -> None:
        try:
            res = await guarded(sessions, caller.call(proc_fail, 'ignored'), 'CALL fail')
        except ApplicationError as e:
            check(e.error == error_uri, 'error URI: expected {}, got {}'.format(error_uri, e.error))
            problem = (strict_mismatch(['first', 2], list(e.args))
                       or strict_mismatch({'detail': {'nested': True}, 'code': 42}, e.kwargs))
            check(problem is None, 'error payload: {}'.format(problem))
            return
        raise AssertionError('call succeeded with {!r}, expected ERROR {}'.format(res, error_uri))
    await results.run('application_error', application_error)

    async def expect_no_such_procedure(uri: str) -> None:
        try:
            res = await guarded(sessions, caller.call(uri, 1), 'CALL ' + uri)
        except ApplicationError as e:
            check(e.error == NO_SUCH_PROCEDURE, 'expected {}, got {} {}'.format(NO_SUCH_PROCEDURE, e.error, e.args))
            return
        raise AssertionError('call of {} succeeded with {!r}, expected ERROR {}'.format(uri, res, NO_SUCH_PROCEDURE))

    await results.run('no_such_procedure', lambda: expect_no_such_procedure(p + '.nobody.home'))

    async def publish_acknowledged() -> None:
        topic = p + '.topic.ack'
        inbox = Inbox()
        await guarded(sessions, callee.subscribe(inbox, topic), 'SUBSCRIBE ' + topic)
        pub = await guarded(sessions, caller.publish(topic, 'hello', 7, options=PublishOptions(acknowledge=True), who='py'),
                            'PUBLISH (acknowledge) ' + topic)
        check(pub is not None and isinstance(pub.id, int) and pub.id > 0,
              'PUBLISHED must carry a positive integer publication id, got {!r}'.format(pub))
        await wait_until(lambda: len(inbox.events) >= 1, 'EVENT on ' + topic, sessions)
        args, kwargs = inbox.events[0]
        problem = strict_mismatch(['hello', 7], list(args)) or strict_mismatch({'who': 'py'}, kwargs)
        check(problem is None, 'event payload: {}'.format(problem))
    await results.run('publish_acknowledged', publish_acknowledged)

    async def publisher_excluded_by_default() -> None:
        # A negative ("no event") cannot be awaited, so it is sequenced: the publisher sends
        # 'first' (default options) then 'marker' with exclude_me=False. WAMP orders events
        # from one publisher to one subscriber, so once the marker has arrived, 'first' would
        # have arrived before it if the router had (wrongly) delivered it.
        topic = p + '.topic.exclude'
        own, other = Inbox(), Inbox()
        await guarded(sessions, caller.subscribe(own, topic), 'SUBSCRIBE (publisher) ' + topic)
        await guarded(sessions, callee.subscribe(other, topic), 'SUBSCRIBE (other) ' + topic)
        await guarded(sessions, caller.publish(topic, 'first', options=PublishOptions(acknowledge=True)), 'PUBLISH first')
        await guarded(sessions, caller.publish(topic, 'marker', options=PublishOptions(acknowledge=True, exclude_me=False)),
                      'PUBLISH marker')
        await wait_until(lambda: len(own.events) >= 1 and len(other.events) >= 2, 'events on ' + topic, sessions)
        check([list(a) for a, _ in other.events] == [['first'], ['marker']],
              'other subscriber must get first then marker, got {}'.format(other.events))
        check([list(a) for a, _ in own.events] == [['marker']],
              'publisher must not get its own event without exclude_me=False, got {}'.format(own.events))
    await results.run('publisher_excluded_by_default', publisher_excluded_by_default)

    async def publisher_receives_with_exclude_me_false() -> None:
        topic = p + '.topic.self'
        own = Inbox()
        await guarded(sessions, caller.subscribe(own, topic), 'SUBSCRIBE ' + topic)
        await guarded(sessions, caller.publish(topic, 'to-self', options=PublishOptions(acknowledge=True, exclude_me=False)),
                      'PUBLISH ' + topic)
        await wait_until(lambda: len(own.events) >= 1, 'own EVENT on ' + topic, sessions)
        check([list(a) for a, _ in own.events] == [['to-self']], 'got {}'.format(own.events))
    await results.run('publisher_receives_with_exclude_me_false', publisher_receives_with_exclude_me_false)

    async def large(value: Any, what: str) -> None:
        res = await guarded(sessions, caller.call(proc_echo, value, size=len(value)), 'CALL echo ' + what)
        check(isinstance(res, CallResult), 'expected CallResult, got {!r}'.format(type(res)))
        problem = strict_mismatch([value], res.results) or strict_mismatch({'size': len(value)}, res.kwresults)
        check(problem is None, '{} echo: {}'.format(what, problem))

    # Non-ASCII in the big string: multi-byte UTF-8 split across buffer boundaries is where
    # framing code goes wrong.
    big_string = ('wamp-mesh ü€😀 ' * (ONE_MIB // 16 + 1))[:ONE_MIB]
    big_bytes = bytes(range(256)) * (ONE_MIB // 256)
    await results.run('large_string_1mb', lambda: large(big_string, '1 MiB string'))
    await results.run('large_bytes_1mb', lambda: large(big_bytes, '1 MiB bytes'))

    async def unregister() -> None:
        reg = registrations.get(proc_echo)
        check(reg is not None, 'not run: echo was never registered')
        await guarded(sessions, reg.unregister(), 'UNREGISTER ' + proc_echo)
        await expect_no_such_procedure(proc_echo)
    await results.run('unregister', unregister)

    async def progressive_results() -> None:
        # Autobahn|Python announces call_canceling beside progressive_call_results: the case the
        # spec describes (Autobahn|JS, which does not, is in autobahn-js.test.ts).
        uri = p + '.count'

        def count(n, details=None):
            if details is None or details.progress is None:
                raise ApplicationError(p + '.error.no_receive_progress')
            for i in range(1, n + 1):
                details.progress(i, of=n)
            return 'done'
        await guarded(sessions, callee.register(count, uri, options=RegisterOptions(details=True)), 'REGISTER ' + uri)
        seen: List[Tuple[list, Dict[str, Any]]] = []
        res = await guarded(sessions, caller.call(uri, 3, options=CallOptions(on_progress=lambda *a, **kw: seen.append((list(a), kw)))),
                            'CALL ' + uri + ' (receive_progress)')
        check(seen == [([1], {'of': 3}), ([2], {'of': 3}), ([3], {'of': 3})],
              'progressive results, in order, before the final one: got {}'.format(seen))
        check(res == 'done', 'final result: expected done, got {!r}'.format(res))
    await results.run('progressive_results', progressive_results)

    async def leave() -> None:
        # The router answers our GOODBYE with its own, reason wamp.close.goodbye_and_out.
        caller.leave()
        reason = await asyncio.wait_for(asyncio.shield(caller.disconnected), 5)
        check(reason == 'wamp.close.goodbye_and_out',
              'GOODBYE reply reason: expected wamp.close.goodbye_and_out, got {}'.format(reason))
    await results.run('leave', leave)

    await close_all(sessions)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument('--transport', choices=['ws', 'rs'], required=True)
    parser.add_argument('--serializer', choices=['json', 'msgpack', 'cbor'], required=True)
    parser.add_argument('--ws-url', required=True)
    parser.add_argument('--rs-host', default='127.0.0.1')
    parser.add_argument('--rs-port', type=int, required=True)
    parser.add_argument('--prefix', required=True)
    parser.add_argument('--deadline', type=float, default=40.0)
    return parser.parse_args()


if __name__ == '__main__':
    options = parse_args()
    run_main(lambda results: main(results, options), options.deadline)
