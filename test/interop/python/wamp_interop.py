"""Shared plumbing for the Autobahn|Python interop scripts.

The scripts are driven by ava tests (test/interop/*.test.ts). Contract with the driver:
  * stdout carries exactly one line: a JSON object
        {"passed": [case, ...], "failed": [{"case": ..., "reason": ...}, ...]}
  * the exit status is 0 only if nothing failed;
  * Autobahn's own log (warnings and up) goes to stderr, where the driver shows it on failure.

Sessions are opened with explicit transport factories rather than ApplicationRunner, because
ApplicationRunner owns the event loop and caps WebSocket messages at 1 MiB, while these
scripts need several sessions in one loop and payloads a little over 1 MiB.
"""

import asyncio
import inspect
import json
import sys
import time
import traceback
from typing import Any, Awaitable, Callable, Dict, List, Optional, TypeVar

import txaio

txaio.use_asyncio()

from autobahn.asyncio.rawsocket import WampRawSocketClientFactory, WampRawSocketClientProtocol  # noqa: E402
from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.asyncio.websocket import WampWebSocketClientFactory  # noqa: E402
from autobahn.wamp.serializer import CBORSerializer, JsonSerializer, MsgPackSerializer  # noqa: E402
from autobahn.wamp.types import ComponentConfig  # noqa: E402
from autobahn.websocket.util import parse_url  # noqa: E402

# Autobahn 22.7.1's asyncio RawSocket client reads self.transport_details on WELCOME but only
# ever sets self._transport_details ("'WampRawSocketClientProtocol' object has no attribute
# 'transport_details'"). Fixed upstream later; this restores the attribute the session expects.
if not hasattr(WampRawSocketClientProtocol, 'transport_details'):
    WampRawSocketClientProtocol.transport_details = property(lambda self: self._transport_details)

SERIALIZERS = {
    'json': JsonSerializer,
    'msgpack': MsgPackSerializer,
    'cbor': CBORSerializer,
}

REALM = 'realm1'
# One WAMP operation on loopback takes milliseconds; 10 s only trips when something is stuck,
# and still leaves the driver's process timeout room to collect the JSON line.
OP_TIMEOUT = 10.0

T = TypeVar('T')


class SessionLost(Exception):
    pass


class InteropSession(ApplicationSession):
    """An ApplicationSession that reports join and disconnect through futures."""

    def __init__(self, config: ComponentConfig, joined: 'asyncio.Future[InteropSession]',
                 disconnected: 'asyncio.Future[str]', rejected: List[str]):
        super().__init__(config)
        self._joined = joined
        self.disconnected = disconnected
        self.leave_reason: Optional[str] = None
        # Messages from the router that Autobahn refused to parse (see RecordingSerializer).
        self.rejected = rejected

    def _why_lost(self, default: str) -> str:
        if self.rejected:
            return 'client rejected a message from the router: ' + '; '.join(self.rejected)
        return default

    async def onJoin(self, details):
        if not self._joined.done():
            self._joined.set_result(self)

    async def onLeave(self, details):
        self.leave_reason = details.reason
        if not self._joined.done():
            # ABORT instead of WELCOME
            self._joined.set_exception(SessionLost(
                'session did not join: {} {}'.format(details.reason, details.message or '')))
        await _maybe_await(super().onLeave(details))

    async def onDisconnect(self):
        if not self._joined.done():
            self._joined.set_exception(SessionLost(self._why_lost('transport closed before WELCOME')))
        if not self.disconnected.done():
            self.disconnected.set_result(self._why_lost(self.leave_reason or 'transport lost'))
        await _maybe_await(super().onDisconnect())


async def _maybe_await(value: Any) -> None:
    # The base class returns a future from some callbacks and None from others.
    if inspect.isawaitable(value):
        await value


def recording_serializer(serializer_class: type, rejected: List[str]) -> Any:
    """An instance of `serializer_class` that notes why it refused an incoming message.

    Autobahn parses and validates each message inside the serializer and, on a violation,
    only logs a warning and drops the connection; the session never learns why. Recording
    the error lets a failed case say, e.g., that WELCOME carried a float session id."""

    class RecordingSerializer(serializer_class):
        def unserialize(self, payload, isBinary=None):
            try:
                return super().unserialize(payload, isBinary)
            except Exception as e:
                rejected.append('{}: {}'.format(type(e).__name__, e))
                raise

    return RecordingSerializer()


class Endpoint:
    """Where the router listens. `transport` is 'ws' or 'rs'."""

    def __init__(self, transport: str, ws_url: str, rs_host: str, rs_port: int):
        self.transport = transport
        self.ws_url = ws_url
        self.rs_host = rs_host
        self.rs_port = rs_port


async def connect(endpoint: Endpoint, serializer: str, label: str) -> InteropSession:
    loop = asyncio.get_running_loop()
    joined: asyncio.Future = loop.create_future()
    disconnected: asyncio.Future = loop.create_future()

    rejected: List[str] = []

    def make_session() -> InteropSession:
        session = InteropSession(ComponentConfig(realm=REALM), joined, disconnected, rejected)
        session.label = label
        return session

    ser = recording_serializer(SERIALIZERS[serializer], rejected)
    if endpoint.transport == 'ws':
        factory = WampWebSocketClientFactory(make_session, url=endpoint.ws_url, serializers=[ser])
        _secure, host, port, _resource, _path, _params = parse_url(endpoint.ws_url)
    elif endpoint.transport == 'rs':
        factory = WampRawSocketClientFactory(make_session, serializer=ser)
        host, port = endpoint.rs_host, endpoint.rs_port
    else:
        raise ValueError('unknown transport {!r}'.format(endpoint.transport))

    await asyncio.wait_for(loop.create_connection(factory, host, port), OP_TIMEOUT)
    return await asyncio.wait_for(joined, OP_TIMEOUT)


async def guarded(sessions: List[InteropSession], awaitable: Awaitable[T], what: str,
                  timeout: float = OP_TIMEOUT) -> T:
    """Awaits one WAMP operation, failing fast if any involved session drops meanwhile.

    Without this, a router that closes the connection (or a client that aborts it on a
    protocol violation) would only show up as a timeout after OP_TIMEOUT seconds."""
    task = asyncio.ensure_future(awaitable)
    watchers = [asyncio.ensure_future(asyncio.shield(s.disconnected)) for s in sessions]
    try:
        done, _ = await asyncio.wait([task, *watchers], timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        for session, watcher in zip(sessions, watchers):
            if watcher in done:
                raise SessionLost('{}: session {} lost ({})'.format(
                    what, getattr(session, 'label', '?'), watcher.result()))
        raise asyncio.TimeoutError('{}: no answer within {} s'.format(what, timeout))
    finally:
        for w in watchers:
            w.cancel()
        if not task.done():
            task.cancel()


async def wait_until(predicate: Callable[[], bool], what: str, sessions: List[InteropSession],
                     timeout: float = OP_TIMEOUT) -> None:
    """Polls a condition with a deadline (events arrive asynchronously after PUBLISHED)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        for s in sessions:
            if s.disconnected.done():
                raise SessionLost('{}: session {} lost ({})'.format(
                    what, getattr(s, 'label', '?'), s.disconnected.result()))
        if time.monotonic() > deadline:
            raise asyncio.TimeoutError('{}: not within {} s'.format(what, timeout))
        await asyncio.sleep(0.01)


async def close_all(sessions: List[InteropSession]) -> None:
    for s in sessions:
        if s.is_attached():
            s.leave()
    pending = [s.disconnected for s in sessions if not s.disconnected.done()]
    if pending:
        await asyncio.wait(pending, timeout=3)


def describe(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + '...({} chars)'.format(len(text))


def strict_mismatch(expected: Any, actual: Any, path: str = '$') -> Optional[str]:
    """First difference between two decoded WAMP payloads, or None.

    Stricter than ==: 1 == 1.0 == True in Python, but a router that turns an integer into a
    float (or bytes into a base64 string) breaks typed clients, so the type must match too.
    Lists and tuples count as the same: the serializers return lists, Autobahn sometimes tuples."""
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)):
            return '{}: expected list, got {} {}'.format(path, type(actual).__name__, describe(actual))
        if len(expected) != len(actual):
            return '{}: expected {} items, got {}'.format(path, len(expected), len(actual))
        for i, (e, a) in enumerate(zip(expected, actual)):
            problem = strict_mismatch(e, a, '{}[{}]'.format(path, i))
            if problem:
                return problem
        return None
    if type(expected) is not type(actual):
        return '{}: expected {} {}, got {} {}'.format(
            path, type(expected).__name__, describe(expected), type(actual).__name__, describe(actual))
    if isinstance(expected, dict):
        if set(expected) != set(actual):
            return '{}: keys differ: missing {}, unexpected {}'.format(
                path, sorted(set(expected) - set(actual)), sorted(set(actual) - set(expected)))
        for key in expected:
            problem = strict_mismatch(expected[key], actual[key], '{}.{}'.format(path, key))
            if problem:
                return problem
        return None
    if expected != actual:
        if isinstance(expected, (bytes, str)) and len(expected) == len(actual):
            first = next(i for i, (e, a) in enumerate(zip(expected, actual)) if e != a)
            return '{}: differs first at index {} of {}'.format(path, first, len(expected))
        return '{}: expected {}, got {}'.format(path, describe(expected), describe(actual))
    return None


class Results:
    def __init__(self) -> None:
        self.passed: List[str] = []
        self.failed: List[Dict[str, str]] = []

    def ok(self, case: str) -> None:
        self.passed.append(case)

    def fail(self, case: str, reason: str) -> None:
        self.failed.append({'case': case, 'reason': reason})

    async def run(self, case: str, body: Callable[[], Awaitable[None]]) -> bool:
        """Runs one case; any exception is its failure reason. Returns whether it passed."""
        try:
            await body()
        except AssertionError as e:
            self.fail(case, str(e) or 'assertion failed')
            return False
        except Exception as e:  # noqa: BLE001 - every failure must reach the report
            self.fail(case, '{}: {}'.format(type(e).__name__, e))
            print('case {} raised:\n{}'.format(case, traceback.format_exc()), file=sys.stderr)
            return False
        self.ok(case)
        return True

    def emit(self) -> int:
        sys.stdout.write(json.dumps({'passed': self.passed, 'failed': self.failed}) + '\n')
        sys.stdout.flush()
        return 1 if self.failed else 0


def check(condition: bool, message: str) -> None:
    """assert that survives `python -O`."""
    if not condition:
        raise AssertionError(message)


def run_main(main: Callable[[Results], Awaitable[None]], deadline: float) -> None:
    """Runs `main` under an overall deadline and always prints the result line.

    The deadline sits below the driver's kill timeout so that a hang still yields a JSON line
    saying how far the script got, instead of a bare SIGKILL."""
    txaio.start_logging(level='warn', out=sys.stderr)
    results = Results()

    async def bounded() -> None:
        try:
            await asyncio.wait_for(main(results), deadline)
        except asyncio.TimeoutError:
            results.fail('script', 'overall deadline of {} s exceeded'.format(deadline))
        except Exception as e:  # noqa: BLE001
            results.fail('script', '{}: {}'.format(type(e).__name__, e))
            traceback.print_exc(file=sys.stderr)

    asyncio.run(bounded())
    sys.exit(results.emit())
