"""redis-py's asyncio client against trioredis (the server runs on its own Trio thread)."""

import asyncio

import redis.asyncio as aioredis


def test_asyncio_client_commands_pipeline_and_pubsub(server):
    async def main():
        r = aioredis.Redis(port=server.port)  # RESP3 via HELLO 3
        try:
            assert await r.ping() is True
            assert await r.set("k", "v", ex=100) is True
            assert await r.get("k") == b"v"
            assert 0 < await r.ttl("k") <= 100
            async with r.pipeline(transaction=True) as pipe:
                pipe.incr("n").incrby("n", 10).lpush("l", "a", "b").lrange("l", 0, -1)
                assert await pipe.execute() == [1, 11, 2, [b"b", b"a"]]
            pubsub = r.pubsub()
            await pubsub.subscribe("ch")
            assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"
            assert await r.publish("ch", "hello") == 1
            msg = await pubsub.get_message(timeout=5)
            assert msg["type"] == "message" and msg["data"] == b"hello"
            await pubsub.aclose()
            assert await r.blpop(["empty"], timeout=0.1) is None
        finally:
            await r.aclose()

    asyncio.run(main())
