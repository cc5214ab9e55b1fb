"""Autobahn|Python sessions remote-controlled by the advanced-profile acceptance tests.

The ava tests (test/advanced/*.test.ts) need a WAMP client this project did not write on the
other end of real sockets, and need it interleaved with what they do themselves (raw frames,
router restarts, killing a client). So instead of one scripted scenario per process, this
process holds any number of Autobahn sessions and does what the test asks, one JSON line per
command on stdin, one JSON line per answer or happening on stdout:

    -> {"id": 7, "op": "call", "session": "a", "procedure": "com.x", "args": [1]}
    <- {"id": 7, "ok": true, "result": {"args": [2], "kwargs": {}, "progress": []}}
    <- {"id": 8, "ok": false, "wamp": {"error": "wamp.error.canceled", "args": [], "kwargs": {}}}
    <- {"event": "invocation", "session": "b", "invocation": 3, ...}

Commands run concurrently (a call may wait for a long time while other commands go on).
Byte strings travel as {"$bytes": "<base64>"}. Everything WAMP happens in Autobahn: this file
only translates. Autobahn's own log goes to stderr.

usage: agent.py --ws-url URL --rs-host HOST --rs-port PORT
"""

import argparse
import asyncio
import base64
import json
import sys
import traceback
from typing import Any, Dict, Optional

import txaio

txaio.use_asyncio()

from autobahn.asyncio.rawsocket import WampRawSocketClientFactory, WampRawSocketClientProtocol  # noqa: E402
from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.asyncio.websocket import WampWebSocketClientFactory  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import (CallOptions, CallResult, ComponentConfig, PublishOptions,  # noqa: E402
                                 RegisterOptions, SubscribeOptions)
from autobahn.websocket.util import parse_url  # noqa: E402

# Autobahn 22.7.1's asyncio RawSocket client reads self.transport_details on WELCOME but only
# sets self._transport_details (fixed upstream later). Same workaround as test/interop/python.
if not hasattr(WampRawSocketClientProtocol, 'transport_details'):
    WampRawSocketClientProtocol.transport_details = property(lambda self: self._transport_details)

SERIALIZERS = {'json': JsonSerializer, 'msgpack': MsgPackSerializer, 'cbor': CBORSerializer}
OP_TIMEOUT = 10.0


def enc(value: Any) -> Any:
    """Python value -> JSON-able value (bytes as {"$bytes": base64})."""
    if isinstance(value, (bytes, bytearray)):
        return {'$bytes': base64.b64encode(bytes(value)).decode('ascii')}
    if isinstance(value, (list, tuple)):
        return [enc(v) for v in value]
    if isinstance(value, dict):
        return {str(k): enc(v) for k, v in value.items()}
    return value


def dec(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {'$bytes'}:
            return base64.b64decode(value['$bytes'])
        return {k: dec(v) for k, v in value.items()}
    if isinstance(value, list):
        return [dec(v) for v in value]
    return value


def emit(obj: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + '\n')
    sys.stdout.flush()


def result_of(res: Any) -> Dict[str, Any]:
    """What Autobahn handed back for a RESULT, as positional and keyword results."""
    if isinstance(res, CallResult):
        return {'args': enc(list(res.results)), 'kwargs': enc(dict(res.kwresults))}
    if res is None:
        # Autobahn returns None both for a RESULT without arguments and for [null].
        return {'args': [None], 'kwargs': {}}
    return {'args': [enc(res)], 'kwargs': {}}


class AgentSession(ApplicationSession):
    def __init__(self, config: ComponentConfig, name: str, joined: 'asyncio.Future'):
        super().__init__(config)
        self.name = name
        self._joined = joined
        self.disconnected: asyncio.Future = asyncio.get_running_loop().create_future()
        self.join_details = None

    async def onJoin(self, details):
        self.join_details = details
        if not self._joined.done():
            self._joined.set_result(self)

    async def onLeave(self, details):
        emit({'event': 'leave', 'session': self.name, 'reason': details.reason, 'message': details.message})
        if not self._joined.done():
            self._joined.set_exception(RuntimeError('ABORT instead of WELCOME: {} {}'.format(details.reason, details.message)))
        res = super().onLeave(details)
        if asyncio.iscoroutine(res) or isinstance(res, asyncio.Future):
            await res

    async def onDisconnect(self):
        emit({'event': 'disconnect', 'session': self.name})
        if not self._joined.done():
            self._joined.set_exception(RuntimeError('transport closed before WELCOME'))
        if not self.disconnected.done():
            self.disconnected.set_result(True)


class Agent:
    def __init__(self, opts: argparse.Namespace):
        self.opts = opts
        self.sessions: Dict[str, AgentSession] = {}
        self.registrations: Dict[int, Any] = {}
        self.subscriptions: Dict[int, Any] = {}
        self.calls: Dict[str, asyncio.Future] = {}
        # invocation key -> future the held invocation waits on; and one set when it finished
        self.holds: Dict[int, asyncio.Future] = {}
        self.finished: Dict[int, asyncio.Future] = {}
        self.invocation_seq = 0

    def session(self, name: str) -> AgentSession:
        s = self.sessions.get(name)
        if s is None:
            raise RuntimeError('no session named {!r}'.format(name))
        return s

    # ---- commands -----------------------------------------------------------------------

    async def op_connect(self, req):
        loop = asyncio.get_running_loop()
        joined = loop.create_future()
        name = req['session']
        serializer = SERIALIZERS[req.get('serializer', 'json')]()

        def make():
            s = AgentSession(ComponentConfig(realm=req['realm']), name, joined)
            self.sessions[name] = s
            return s

        if req.get('transport', 'ws') == 'ws':
            factory = WampWebSocketClientFactory(make, url=self.opts.ws_url, serializers=[serializer])
            _s, host, port, _r, _p, _q = parse_url(self.opts.ws_url)
        else:
            factory = WampRawSocketClientFactory(make, serializer=serializer)
            host, port = self.opts.rs_host, self.opts.rs_port
        await asyncio.wait_for(loop.create_connection(factory, host, port), OP_TIMEOUT)
        s = await asyncio.wait_for(joined, OP_TIMEOUT)
        d = s.join_details
        return {'session': d.session, 'authid': d.authid, 'authrole': d.authrole, 'realm': d.realm}

    async def op_leave(self, req):
        s = self.session(req['session'])
        if s.is_attached():
            s.leave(req.get('reason', 'wamp.close.normal'))
        await asyncio.wait_for(asyncio.shield(s.disconnected), OP_TIMEOUT)
        return {}

    async def op_register(self, req):
        s = self.session(req['session'])
        behavior = req.get('behavior', {'kind': 'echo'})
        options = dict(req.get('options', {}))
        handler = self._make_endpoint(s, behavior)
        reg = await s.register(handler, req['procedure'], options=RegisterOptions(details_arg='_details', **options))
        self.registrations[reg.id] = reg
        return {'registration': reg.id}

    async def op_unregister(self, req):
        reg = self.registrations.pop(req['registration'])
        await reg.unregister()
        return {}

    def _make_endpoint(self, s: AgentSession, behavior: Dict[str, Any]):
        kind = behavior.get('kind', 'echo')
        agent = self

        async def endpoint(*args, **kwargs):
            details = kwargs.pop('_details')
            agent.invocation_seq += 1
            key = agent.invocation_seq
            loop = asyncio.get_running_loop()
            agent.finished[key] = loop.create_future()
            emit({
                'event': 'invocation', 'session': s.name, 'invocation': key,
                'registration': details.registration.id, 'procedure': details.procedure,
                'caller': details.caller, 'caller_authid': details.caller_authid,
                'caller_authrole': details.caller_authrole,
                'receive_progress': details.progress is not None,
                'args': enc(list(args)), 'kwargs': enc(kwargs),
            })
            try:
                if kind == 'echo':
                    return CallResult(*args, **kwargs)
                if kind == 'whoami':
                    return s.name
                if kind == 'progress':
                    interval = behavior.get('interval_ms', 0) / 1000.0
                    for value in behavior.get('values', []):
                        if details.progress is not None:
                            details.progress(dec(value))
                        if interval:
                            await asyncio.sleep(interval)
                    return dec(behavior.get('final', 'final'))
                if kind == 'hold':
                    return await agent._hold(s, key, behavior)
                raise RuntimeError('unknown behavior {!r}'.format(kind))
            finally:
                fin = agent.finished.get(key)
                if fin is not None and not fin.done():
                    fin.set_result(True)

        return endpoint

    async def _hold(self, s: AgentSession, key: int, behavior: Dict[str, Any]):
        """Waits for a `release` command; reports an INTERRUPT (Autobahn cancels the task)."""
        loop = asyncio.get_running_loop()
        self.holds[key] = loop.create_future()
        try:
            release = await self.holds[key]
        except asyncio.CancelledError:
            emit({'event': 'interrupted', 'session': s.name, 'invocation': key})
            if behavior.get('on_interrupt', 'raise') == 'wait':
                # Answer the INTERRUPT only when the test says so (call canceling mode "kill").
                self.holds[key] = loop.create_future()
                release = await self.holds[key]
            else:
                raise ApplicationError(behavior.get('interrupt_error', ApplicationError.CANCELED), 'interrupted')
        if 'error' in release:
            raise ApplicationError(release['error'], *dec(release.get('args', [])))
        r = release.get('result', {})
        return CallResult(*dec(r.get('args', [])), **dec(r.get('kwargs', {})))

    async def op_release(self, req):
        key = req['invocation']
        fut = self.holds.get(key)
        if fut is None or fut.done():
            raise RuntimeError('invocation {} is not being held'.format(key))
        fut.set_result(req)
        # Answer only once Autobahn has sent its YIELD/ERROR, so that whatever the test sends
        # next through this same connection is ordered after it.
        await asyncio.wait_for(asyncio.shield(self.finished[key]), OP_TIMEOUT)
        for _ in range(3):
            await asyncio.sleep(0)
        return {}

    async def op_call(self, req):
        s = self.session(req['session'])
        progress = []
        tag = req.get('tag')
        opts = dict(req.get('options', {}))

        def on_progress(*args, **kwargs):
            item = {'args': enc(list(args)), 'kwargs': enc(kwargs)}
            progress.append(item)
            emit({'event': 'progress', 'session': s.name, 'tag': tag, **item})

        if opts.pop('receive_progress', False):
            opts['on_progress'] = on_progress
        options = CallOptions(**opts) if opts else None
        args = dec(req.get('args', []))
        kwargs = dec(req.get('kwargs', {}))
        if options is not None:
            fut = s.call(req['procedure'], *args, options=options, **kwargs)
        else:
            fut = s.call(req['procedure'], *args, **kwargs)
        fut = asyncio.ensure_future(fut)
        if tag is not None:
            self.calls[tag] = fut
        try:
            res = await asyncio.wait_for(asyncio.shield(fut), req.get('timeout', OP_TIMEOUT))
        finally:
            if tag is not None:
                self.calls.pop(tag, None)
        out = result_of(res)
        out['progress'] = progress
        return out

    async def op_cancel(self, req):
        fut = self.calls.get(req['tag'])
        if fut is None:
            raise RuntimeError('no call in flight tagged {!r}'.format(req['tag']))
        fut.cancel()
        return {}

    async def op_subscribe(self, req):
        s = self.session(req['session'])
        options = dict(req.get('options', {}))

        def handler(*args, **kwargs):
            details = kwargs.pop('_details')
            emit({
                'event': 'event', 'session': s.name, 'subscription': details.subscription.id,
                'topic': details.topic, 'publication': details.publication,
                'publisher': details.publisher, 'publisher_authid': details.publisher_authid,
                'publisher_authrole': details.publisher_authrole, 'retained': details.retained,
                'args': enc(list(args)), 'kwargs': enc(kwargs),
            })

        sub = await s.subscribe(handler, req['topic'], options=SubscribeOptions(details_arg='_details', **options))
        self.subscriptions[sub.id] = sub
        return {'subscription': sub.id}

    async def op_unsubscribe(self, req):
        sub = self.subscriptions.pop(req['subscription'])
        await sub.unsubscribe()
        return {}

    async def op_publish(self, req):
        s = self.session(req['session'])
        options = PublishOptions(**req.get('options', {}))
        pub = s.publish(req['topic'], *dec(req.get('args', [])), options=options, **dec(req.get('kwargs', {})))
        if pub is not None:
            pub = await pub
            return {'publication': pub.id}
        return {}

    # ---- plumbing -----------------------------------------------------------------------

    async def handle(self, req):
        rid = req.get('id')
        try:
            method = getattr(self, 'op_' + req['op'])
            result = await method(req)
            emit({'id': rid, 'ok': True, 'result': result})
        except ApplicationError as e:
            emit({'id': rid, 'ok': False, 'wamp': {'error': e.error, 'args': enc(list(e.args)), 'kwargs': enc(e.kwargs or {})}})
        except asyncio.CancelledError:
            emit({'id': rid, 'ok': False, 'exception': 'CancelledError'})
        except BaseException as e:  # noqa: BLE001 - every failure goes back to the test
            print(traceback.format_exc(), file=sys.stderr)
            emit({'id': rid, 'ok': False, 'exception': '{}: {}'.format(type(e).__name__, e)})


async def main(opts: argparse.Namespace) -> None:
    agent = Agent(opts)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 26)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    emit({'event': 'ready'})
    tasks = set()
    while True:
        line = await reader.readline()
        if not line:
            break
        line = line.strip()
        if not line:
            continue
        task = asyncio.ensure_future(agent.handle(json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    # stdin closed: the test is done with us.
    for s in list(agent.sessions.values()):
        if s.is_attached():
            s.leave()
    pending = [s.disconnected for s in agent.sessions.values() if not s.disconnected.done()]
    if pending:
        await asyncio.wait(pending, timeout=2)


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--ws-url', required=True)
    parser.add_argument('--rs-host', default='127.0.0.1')
    parser.add_argument('--rs-port', type=int, required=True)
    txaio.start_logging(level='warn', out=sys.stderr)
    asyncio.run(main(parser.parse_args()))
