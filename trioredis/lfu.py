"""Redis's per-key access clocks: the 24-bit LRU clock and the LFU Morris counter.

A key's access word is kept in ``Database.access`` as Redis keeps it in ``robj.lru``: under an
LRU (or no) policy the LRU clock in seconds, 24 bits; under an LFU policy the time of the last
decrement in minutes (16 bits) shifted left by 8, or'ed with an 8-bit logarithmic counter.
Switching policy does not convert the words, as in Redis ("LRU and LFU data will take some time
to adjust"). Pure functions of the word and the time, so the keyspace can call them.
"""

from __future__ import annotations

import random

LRU_CLOCK_MAX = (1 << 24) - 1
LRU_CLOCK_RESOLUTION = 1000  # ms
LFU_INIT_VAL = 5

_random = random.random


def lru_clock(now_ms: int) -> int:
    """Redis's getLRUClock: seconds, modulo 2**24."""
    return (now_ms // LRU_CLOCK_RESOLUTION) & LRU_CLOCK_MAX


def idle_ms(word: int, clock: int) -> int:
    """Redis's estimateObjectIdleTime: ms since the LRU word, across a clock wrap."""
    if clock >= word:
        return (clock - word) * LRU_CLOCK_RESOLUTION
    return (clock + (LRU_CLOCK_MAX - word)) * LRU_CLOCK_RESOLUTION


def lfu_minutes(now_ms: int) -> int:
    """Redis's LFUGetTimeInMinutes: minutes, modulo 2**16."""
    return (now_ms // 60000) & 65535


def lfu_elapsed(ldt: int, minutes: int) -> int:
    if minutes >= ldt:
        return minutes - ldt
    return 65535 - ldt + minutes


def lfu_decayed(word: int, minutes: int, decay_time: int) -> int:
    """Redis's LFUDecrAndReturn: the counter after one decrement per ``decay_time`` minutes."""
    counter = word & 255
    if decay_time:
        periods = lfu_elapsed(word >> 8, minutes) // decay_time
        if periods:
            counter = 0 if periods > counter else counter - periods
    return counter


def lfu_log_incr(counter: int, log_factor: int) -> int:
    """Redis's LFULogIncr: +1 with probability 1 / ((counter - 5) * factor + 1)."""
    if counter == 255:
        return 255
    base = counter - LFU_INIT_VAL
    if base < 0:
        base = 0
    if _random() < 1.0 / (base * log_factor + 1):
        counter += 1
    return counter


def lfu_touch(word: int, minutes: int, log_factor: int, decay_time: int) -> int:
    """Redis's updateLFU: decay, then a logarithmic increment, stamped with the time."""
    counter = lfu_log_incr(lfu_decayed(word, minutes, decay_time), log_factor)
    return (minutes << 8) | counter


def lfu_new(minutes: int) -> int:
    """The word of a new key under LFU: LFU_INIT_VAL, so it is not evicted at once."""
    return (minutes << 8) | LFU_INIT_VAL
