"""One node of the cluster as this node sees it, and nodes.conf (Redis's format).

A line of CLUSTER NODES and of nodes.conf is Redis's clusterGenNodeDescription:
``<id> <ip>:<port>@<cport>[,<hostname>] <flags> <master|-> <ping-sent> <pong-recv>
<config-epoch> <connected|disconnected> <slot ranges...>`` and, on this node's own line,
``[slot->-<id>]`` / ``[slot-<-<id>]`` for slots it migrates / imports. nodes.conf ends with
``vars currentEpoch N lastVoteEpoch M``.
"""

from __future__ import annotations

import os

from ..errors import ConfigError
from . import bus
from .slots import SLOTS, bitmap_ranges

# Flag names in Redis's order (representClusterNodeFlags).
FLAG_NAMES = ((bus.F_MYSELF, "myself"), (bus.F_MASTER, "master"), (bus.F_SLAVE, "slave"),
              (bus.F_PFAIL, "fail?"), (bus.F_FAIL, "fail"), (bus.F_HANDSHAKE, "handshake"),
              (bus.F_NOADDR, "noaddr"), (bus.F_NOFAILOVER, "nofailover"))
_BY_NAME = {name: bit for bit, name in FLAG_NAMES}


def random_name() -> str:
    return os.urandom(20).hex()


class Node:
    """A cluster node: address, role, slots, epochs, liveness, failure reports."""

    def __init__(self, name: str, flags: int = 0):
        self.name = name
        self.flags = flags
        self.ip = ""
        self.port = 0
        self.cport = 0
        self.pport = 0
        self.hostname = ""
        self.master: Node | None = None
        self.replicas: list[Node] = []
        self.config_epoch = 0
        self.slots = bytearray(SLOTS // 8)
        self.numslots = 0
        self.ping_sent = 0  # ms; 0: no ping in flight
        self.pong_received = 0  # ms
        self.data_received = 0  # ms
        self.fail_time = 0
        self.fail_reports: dict[str, int] = {}  # reporter name -> ms
        self.repl_offset = 0
        self.voted_time = 0  # ms: when we last voted for a replica of this master
        self.orphaned_time = 0  # ms: since when this master has had no working replica
        self.link = None  # our outbound link (rcluster.busio.Link)
        self.inbound_link = None
        self.ctime = 0  # ms: created (handshake timeout)
        self._ranges: list[tuple[int, int]] | None = None  # cache of slot_ranges()

    @property
    def bname(self) -> bytes:
        return self.name.encode()

    def has(self, flag: int) -> bool:
        return bool(self.flags & flag)

    @property
    def is_master(self) -> bool:
        return bool(self.flags & bus.F_MASTER)

    @property
    def is_replica(self) -> bool:
        return bool(self.flags & bus.F_SLAVE)

    @property
    def failed(self) -> bool:
        return bool(self.flags & bus.F_FAIL)

    def owns(self, slot: int) -> bool:
        return bool(self.slots[slot >> 3] & (1 << (slot & 7)))

    def set_slot(self, slot: int) -> bool:
        if self.owns(slot):
            return False
        self.slots[slot >> 3] |= 1 << (slot & 7)
        self.numslots += 1
        self._ranges = None
        return True

    def clear_slot(self, slot: int) -> bool:
        if not self.owns(slot):
            return False
        self.slots[slot >> 3] &= ~(1 << (slot & 7)) & 0xFF
        self.numslots -= 1
        self._ranges = None
        return True

    def slot_ranges(self) -> list[tuple[int, int]]:
        """The node's slots as (start, end) runs (cached until its slots change)."""
        if self._ranges is None:
            self._ranges = bitmap_ranges(self.slots)
        return self._ranges

    def flags_text(self) -> str:
        names = [name for bit, name in FLAG_NAMES if self.flags & bit]
        return ",".join(names) if names else "noflags"

    def address(self) -> str:
        text = f"{self.ip}:{self.port}@{self.cport}"
        return f"{text},{self.hostname}" if self.hostname else text

    def describe(self, migrating: dict | None = None, importing: dict | None = None) -> str:
        """This node's line of CLUSTER NODES / nodes.conf (without the newline)."""
        master = self.master.name if self.master is not None else "-"
        connected = "connected" if (self.link is not None or self.flags & bus.F_MYSELF) \
            else "disconnected"
        parts = [self.name, self.address(), self.flags_text(), master, str(self.ping_sent),
                 str(self.pong_received), str(self.config_epoch), connected]
        for start, end in self.slot_ranges():
            parts.append(str(start) if start == end else f"{start}-{end}")
        if self.flags & bus.F_MYSELF:
            for slot, target in sorted((migrating or {}).items()):
                parts.append(f"[{slot}->-{target.name}]")
            for slot, source in sorted((importing or {}).items()):
                parts.append(f"[{slot}-<-{source.name}]")
        return " ".join(parts)


def parse_flags(text: str) -> int:
    flags = 0
    for name in text.split(","):
        if name == "noflags":
            continue
        bit = _BY_NAME.get(name)
        if bit is None:
            raise ConfigError(f"unknown node flag {name!r}")
        flags |= bit
    return flags


def parse_address(text: str) -> tuple[str, int, int, str]:
    """``ip:port@cport[,hostname]`` -> (ip, port, cport, hostname)."""
    addr, _, hostname = text.partition(",")
    hostport, at, cport = addr.partition("@")
    ip, colon, port = hostport.rpartition(":")
    if not colon:
        raise ConfigError(f"bad node address {text!r}")
    try:
        p = int(port)
        cp = int(cport) if at else p + 10000
    except ValueError:
        raise ConfigError(f"bad node address {text!r}") from None
    return ip, p, cp, hostname
