"""Key slots: CRC16 (XMODEM, as Redis's crc16.c) of the key or of its ``{hash tag}``, and the
16384-bit slot bitmaps of the bus (bit ``slot & 7`` of byte ``slot >> 3``, as Redis's
bitmapTestBit)."""

from __future__ import annotations

SLOTS = 16384


def _table() -> list[int]:
    out = []
    for i in range(256):
        crc = i << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        out.append(crc)
    return out


_CRC_TABLE = _table()


def crc16(data: bytes) -> int:
    crc = 0
    t = _CRC_TABLE
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ t[((crc >> 8) ^ b) & 0xFF]
    return crc


def key_slot(key: bytes) -> int:
    """Redis's keyHashSlot: hash only what is between the first ``{`` and the next ``}`` when
    that is not empty."""
    s = key.find(b"{")
    if s >= 0:
        e = key.find(b"}", s + 1)
        if e > s + 1:
            key = key[s + 1:e]
    return crc16(key) & 0x3FFF


def bitmap_test(bitmap: bytes | bytearray, slot: int) -> bool:
    return bool(bitmap[slot >> 3] & (1 << (slot & 7)))


def bitmap_set(bitmap: bytearray, slot: int) -> None:
    bitmap[slot >> 3] |= 1 << (slot & 7)


def bitmap_clear(bitmap: bytearray, slot: int) -> None:
    bitmap[slot >> 3] &= ~(1 << (slot & 7)) & 0xFF


def bitmap_slots(bitmap: bytes | bytearray) -> list[int]:
    """The slots set in ``bitmap``, ascending."""
    out = []
    for i, byte in enumerate(bitmap):
        if byte:
            base = i << 3
            for bit in range(8):
                if byte & (1 << bit):
                    out.append(base + bit)
    return out


def bitmap_ranges(bitmap: bytes | bytearray) -> list[tuple[int, int]]:
    """[(start, end), ...] of the runs of set bits, skipping whole empty or full bytes."""
    out: list[tuple[int, int]] = []
    start = -1
    for i, byte in enumerate(bitmap):
        if byte == 0:
            if start >= 0:
                out.append((start, (i << 3) - 1))
                start = -1
        elif byte == 0xFF:
            if start < 0:
                start = i << 3
        else:
            for bit in range(8):
                if byte >> bit & 1:
                    if start < 0:
                        start = (i << 3) + bit
                elif start >= 0:
                    out.append((start, (i << 3) + bit - 1))
                    start = -1
    if start >= 0:
        out.append((start, len(bitmap) * 8 - 1))
    return out


def bitmap_of(slots) -> bytes:
    bm = bytearray(SLOTS // 8)
    for s in slots:
        bitmap_set(bm, s)
    return bytes(bm)


def ranges(slots: list[int]) -> list[tuple[int, int]]:
    """Ascending slots -> [(start, end), ...] of consecutive runs."""
    out: list[tuple[int, int]] = []
    for s in slots:
        if out and out[-1][1] == s - 1:
            out[-1] = (out[-1][0], s)
        else:
            out.append((s, s))
    return out


class SlotIndex:
    """Keys of one database by slot, kept only when cluster-enabled (Redis's slot_to_keys):
    COUNTKEYSINSLOT and GETKEYSINSLOT without a scan. ``source``/``total`` let the owner see
    a keyspace replaced or filled behind its back (an RDB load) and rebuild."""

    __slots__ = ("by_slot", "source", "total")

    def __init__(self, data: dict):
        self.reset(data)

    def reset(self, data: dict) -> None:
        """Index the keys of ``data`` afresh (FLUSHALL, a load that replaced the dict)."""
        self.by_slot: dict[int, dict] = {}
        self.source = data
        self.total = 0
        for k in data:
            self.add(k)

    def current(self, data: dict) -> SlotIndex:
        """Self, rebuilt first when ``data`` changed without the keyspace hooks seeing it."""
        if self.source is not data or self.total != len(data):
            self.reset(data)
        return self

    def add(self, key: bytes) -> None:
        slot = key_slot(key)
        keys = self.by_slot.get(slot)
        if keys is None:
            keys = self.by_slot[slot] = {}
        if key not in keys:
            keys[key] = None
            self.total += 1

    def discard(self, key: bytes) -> None:
        slot = key_slot(key)
        keys = self.by_slot.get(slot)
        if keys is not None and key in keys:
            del keys[key]
            self.total -= 1
            if not keys:
                del self.by_slot[slot]

    def count(self, slot: int) -> int:
        keys = self.by_slot.get(slot)
        return len(keys) if keys else 0

    def keys(self, slot: int, limit: int) -> list[bytes]:
        keys = self.by_slot.get(slot)
        if not keys:
            return []
        out = []
        for k in keys:
            if len(out) >= limit:
                break
            out.append(k)
        return out
