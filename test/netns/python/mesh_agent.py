"""A WAMP client that the namespace mesh tests drive line by line (Autobahn|Python, asyncio).

Run inside a namespace with Debian's interpreter:
    /usr/bin/python3 mesh_agent.py --url ws://127.0.0.1:8080/ws --realm realm1 --name A

It joins, prints {"event": "joined", "session": N}, then reads one JSON command per line on
stdin and answers each with one JSON line on stdout carrying the command's "id":
    {"id": 1, "op": "register", "procedure": "test.add"}     callee: add(a, b) -> [a + b, name]
    {"id": 2, "op": "call", "procedure": "test.add", "args": [1, 2], "timeout_ms": 5000}
        -> {"id": 2, "ok": true, "args": [3, "D"], "ms": 12}
        or {"id": 2, "ok": false, "error": "wamp.error.network_failure", "args": [...], "ms": 40}
    {"id": 3, "op": "subscribe", "topic": "test.news"}
    {"id": 4, "op": "publish", "topic": "test.news", "args": [...]}  (acknowledged)
    {"id": 5, "op": "stream", "topic": "test.news", "count": 5000, "rate": 500}
        publishes [1], [2], ... [count] at rate per second (not acknowledged), then answers
    {"id": 6, "op": "quit"}
Every event received prints {"event": "evt", "topic": ..., "args": [...]}. A lost session
prints {"event": "left", ...} and exits 3. EOF on stdin exits 0.
"""

import argparse
import asyncio
import json
import sys
import time

import txaio

txaio.use_asyncio()

from autobahn.asyncio.wamp import ApplicationSession  # noqa: E402
from autobahn.asyncio.websocket import WampWebSocketClientFactory  # noqa: E402
from autobahn.wamp.exception import ApplicationError  # noqa: E402
from autobahn.wamp.serializer import JsonSerializer  # noqa: E402
from autobahn.wamp.types import CallResult, ComponentConfig, PublishOptions, SubscribeOptions  # noqa: E402
from autobahn.websocket.util import parse_url  # noqa: E402


def out(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


class Agent(ApplicationSession):
    def __init__(self, config, name, done):
        super().__init__(config)
        self.name = name
        self.done = done
        # asyncio holds tasks weakly: a pending task nobody references is garbage-collected
        # mid-await ("Task was destroyed but it is pending!"). Keep them here until done.
        self.tasks = set()

    def spawn(self, coro):
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def onJoin(self, details):
        out({"event": "joined", "session": details.session})
        self.spawn(self.commands())

    async def commands(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                self.finish(0)
                return
            try:
                cmd = json.loads(line)
            except ValueError:
                out({"event": "bad-command", "line": line.decode("utf8", "replace")})
                continue
            if cmd.get("op") == "quit":
                out({"id": cmd.get("id"), "ok": True})
                self.leave()
                self.finish(0)
                return
            # Commands run concurrently: a slow call must not hold up the next command.
            self.spawn(self.run(cmd))

    async def run(self, cmd):
        op = cmd.get("op")
        started = time.monotonic()
        reply = {"id": cmd.get("id")}
        try:
            if op == "register":
                def add(a, b):
                    return CallResult(a + b, self.name)
                await self.register(add, cmd["procedure"])
                reply["ok"] = True
            elif op == "subscribe":
                def on_event(*args, **kwargs):
                    out({"event": "evt", "topic": cmd["topic"], "args": list(args), "kwargs": kwargs})
                await self.subscribe(on_event, cmd["topic"], options=SubscribeOptions(match=cmd.get("match", "exact")))
                reply["ok"] = True
            elif op == "publish":
                await self.publish(cmd["topic"], *cmd.get("args", []), options=PublishOptions(acknowledge=True, exclude_me=False))
                reply["ok"] = True
            elif op == "stream":
                # In steps of 10 ms, on a schedule (not after each sleep): the rate holds even
                # when the loop is late.
                count, rate = cmd["count"], cmd["rate"]
                start = time.monotonic()
                sent = 0
                while sent < count:
                    due = min(count, int((time.monotonic() - start) * rate) + 1)
                    while sent < due:
                        sent += 1
                        self.publish(cmd["topic"], sent, options=PublishOptions(exclude_me=False))
                    await asyncio.sleep(0.01)
                reply["ok"] = True
                reply["args"] = [sent]
            elif op == "call":
                timeout = cmd.get("timeout_ms", 10000) / 1000.0
                # Not asyncio.wait_for: it waits for the cancelled call to finish, and a call the
                # router never answers never finishes. Report the timeout and leave it pending.
                pending = asyncio.ensure_future(self.call(cmd["procedure"], *cmd.get("args", [])))
                self.tasks.add(pending)
                pending.add_done_callback(self.tasks.discard)
                done, _ = await asyncio.wait({pending}, timeout=timeout)
                if not done:
                    pending.add_done_callback(lambda f: f.cancelled() or f.exception())
                    reply.update(ok=False, error="client.timeout")
                else:
                    res = pending.result()
                    reply["ok"] = True
                    reply["args"] = list(res.results) if isinstance(res, CallResult) else [res]
            else:
                reply.update(ok=False, error="agent.unknown_op")
        except ApplicationError as e:
            reply.update(ok=False, error=e.error, args=list(e.args[1:]) if len(e.args) > 1 else [])
        except Exception as e:  # noqa: BLE001 - reported to the driver, which decides
            reply.update(ok=False, error="agent.exception", message=repr(e))
        reply["ms"] = round((time.monotonic() - started) * 1000)
        out(reply)

    def finish(self, code):
        if not self.done.done():
            self.done.set_result(code)

    async def onLeave(self, details):
        out({"event": "left", "reason": details.reason, "message": details.message})
        self.finish(3)

    def onDisconnect(self):
        out({"event": "left", "reason": "disconnected"})
        self.finish(3)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="ws://127.0.0.1:8080/ws")
    parser.add_argument("--realm", default="realm1")
    parser.add_argument("--name", default="agent")
    opts = parser.parse_args()
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    config = ComponentConfig(realm=opts.realm)
    factory = WampWebSocketClientFactory(lambda: Agent(config, opts.name, done), url=opts.url, serializers=[JsonSerializer()])
    _, host, port, _, _, _ = parse_url(opts.url)
    try:
        await loop.create_connection(factory, host, port)
    except OSError as e:
        out({"event": "left", "reason": "connect-failed", "message": str(e)})
        return 4
    return await done


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
