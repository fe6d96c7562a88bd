#!/usr/bin/env python3
"""Write simulated sensor readings to streams with redis-py XADD, for the gateway dashboard.

    trioredis server --ws-port 8080                      # in one terminal
    python examples/sensor_producer.py                   # in another
    # then open http://127.0.0.1:8080/#streams=sensor:1,sensor:2,sensor:3

Each sensor is a stream (``sensor:1`` ...) with entries like
``temp=21.4 humidity=40.2 battery=97``, capped with ``MAXLEN ~`` so it does not grow forever.
Sensors report at different, slowly changing rates so the dashboard's chart has something to
show. Stop with Ctrl-C.
"""

from __future__ import annotations

import argparse
import math
import random
import time

import redis


def main() -> None:
    ap = argparse.ArgumentParser(description="XADD simulated sensor readings")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--password", default=None)
    ap.add_argument("--sensors", type=int, default=3)
    ap.add_argument("--rate", type=float, default=5.0, help="average readings/s per sensor")
    ap.add_argument("--maxlen", type=int, default=10_000, help="approximate entries kept")
    ap.add_argument("--seconds", type=float, default=0, help="stop after this long (0: never)")
    args = ap.parse_args()

    r = redis.Redis(host=args.host, port=args.port, password=args.password, protocol=2)
    rnd = random.Random(7)
    temp = [20 + rnd.random() * 3 for _ in range(args.sensors)]
    start = time.monotonic()
    due = [start] * args.sensors
    sent = 0
    try:
        while not args.seconds or time.monotonic() - start < args.seconds:
            now = time.monotonic()
            k = min(range(args.sensors), key=due.__getitem__)
            if due[k] > now:
                time.sleep(due[k] - now)
                continue
            temp[k] += rnd.gauss(0, 0.05)
            fields = {
                "temp": f"{temp[k]:.2f}",
                "humidity": f"{45 + 10 * math.sin(now / 20 + k):.1f}",
                "battery": str(100 - int((now - start) / 60) % 100),
            }
            r.xadd(f"sensor:{k + 1}", fields, maxlen=args.maxlen, approximate=True)
            sent += 1
            # Rates drift between 0.3x and 1.7x the average, differently for each sensor.
            rate = args.rate * (1 + 0.7 * math.sin((now - start) / 10 + 2 * k))
            due[k] += rnd.expovariate(rate)
    except KeyboardInterrupt:
        pass
    print(f"{sent} readings written")


if __name__ == "__main__":
    main()
