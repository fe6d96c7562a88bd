"""Run trioredis inside another Trio program and talk to it with redis-py.

    python examples/embedded.py

The server runs in this program's nursery on a free port; redis-py's blocking client runs in a
worker thread (``trio.to_thread``) so it does not block the event loop the server lives on.
Cancelling the nursery's scope stops the server cleanly.
"""

import redis
import trio

import trioredis


def use_it(port: int) -> None:
    r = redis.Redis(port=port)
    r.set("greeting", "hello from trioredis")
    print(r.get("greeting").decode())
    r.rpush("queue", "a", "b", "c")
    print("queue:", [x.decode() for x in r.lrange("queue", 0, -1)])
    r.close()


async def main() -> None:
    async with trio.open_nursery() as nursery:
        port = await nursery.start(trioredis.serve, {"port": 0, "save": ""})
        print(f"trioredis listening on 127.0.0.1:{port}")
        await trio.to_thread.run_sync(use_it, port)
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main)
