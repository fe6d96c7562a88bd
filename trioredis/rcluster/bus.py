"""Redis Cluster's bus protocol (Redis 7.0 ``clusterMsg``), sans-I/O: bytes in, messages out.

The layout follows Redis's cluster.h: a fixed 2256-byte header (signature ``RCmb``, total
length, protocol version 1, the sender's ports, type, count, epochs, replication offset, name,
slot bitmap, master, IP, extension count, flags, cluster state, message flags) and then the
body of the type: gossip sections plus ping extensions for PING/PONG/MEET, a node name for
FAIL, channel and message for PUBLISH/PUBLISHSHARD, a config epoch, name and bitmap for
UPDATE, a module id, type and payload for MODULE. Integers are big-endian (network order).
Names and IPs are NUL-padded fixed fields. Nothing here touches a socket: :class:`BusReader`
takes bytes and returns whole messages, :func:`encode` returns the bytes to send.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SIGNATURE = b"RCmb"
PROTO_VER = 1
SLOTS = 16384
NAMELEN = 40
IPLEN = 46  # NET_IP_STR_LEN
NULL_NAME = b"\0" * NAMELEN

# Message types (CLUSTERMSG_TYPE_*).
PING, PONG, MEET, FAIL, PUBLISH, AUTH_REQUEST, AUTH_ACK, UPDATE, MFSTART, MODULE, PUBLISHSHARD = (
    range(11))
TYPE_NAMES = ("ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack", "update",
              "mfstart", "module", "publishshard")

# Node flags (CLUSTER_NODE_*), as sent in the header and in gossip sections.
F_MASTER, F_SLAVE, F_PFAIL, F_FAIL, F_MYSELF = 1, 2, 4, 8, 16
F_HANDSHAKE, F_NOADDR, F_MEET, F_MIGRATE_TO, F_NOFAILOVER = 32, 64, 128, 256, 512

# mflags[0] (CLUSTERMSG_FLAG0_*).
MF_PAUSED, MF_FORCEACK, MF_EXT_DATA = 1, 2, 4

# Ping extension types (Redis 7.0 has the hostname only; later types are skipped, kept raw).
EXT_HOSTNAME = 0

CLUSTER_OK, CLUSTER_FAIL = 0, 1

# sig totlen ver port type count currentEpoch configEpoch offset sender myslots slaveof myip
# extensions notused1 pport cport flags state mflags
_HEADER = struct.Struct(f">4sIHHHHQQQ{NAMELEN}s{SLOTS // 8}s{NAMELEN}s{IPLEN}sH30sHHHB3s")
HEADER_LEN = _HEADER.size  # 2256: sizeof(clusterMsg) - sizeof(union clusterMsgData)
# nodename ping_sent pong_received ip port cport flags pport notused1
_GOSSIP = struct.Struct(f">{NAMELEN}sII{IPLEN}sHHHHH")
GOSSIP_LEN = _GOSSIP.size  # 104
_EXT = struct.Struct(">IHH")  # length (with this header), type, unused
_PUBLISH = struct.Struct(">II")
_UPDATE = struct.Struct(f">Q{NAMELEN}s{SLOTS // 8}s")
_MODULE = struct.Struct(">QIB")
MAX_MESSAGE = 1 << 30  # a bound on what a peer may announce (Redis trusts totlen as well)

assert HEADER_LEN == 2256 and GOSSIP_LEN == 104


class BusError(ValueError):
    """A frame that is not a valid Redis 7.0 cluster bus message."""


@dataclass
class Gossip:
    """One clusterMsgDataGossip section: what the sender knows about another node."""

    name: bytes
    ping_sent: int = 0  # seconds (Redis sends node->ping_sent / 1000)
    pong_received: int = 0
    ip: str = ""
    port: int = 0
    cport: int = 0
    flags: int = 0
    pport: int = 0


@dataclass
class Message:
    """One cluster bus message: the header fields plus the body of its type."""

    type: int
    sender: bytes = NULL_NAME
    port: int = 0
    cport: int = 0
    pport: int = 0
    flags: int = 0
    current_epoch: int = 0
    config_epoch: int = 0
    offset: int = 0
    myslots: bytes = bytes(SLOTS // 8)
    slaveof: bytes = NULL_NAME  # all NUL: the sender is a master
    myip: str = ""
    state: int = CLUSTER_OK
    mflags: bytes = b"\0\0\0"
    version: int = PROTO_VER
    count: int = 0  # gossip sections (set by encode for PING/PONG/MEET)
    gossip: list[Gossip] = field(default_factory=list)
    hostname: str | None = None  # the hostname ping extension
    other_exts: list[tuple[int, bytes]] = field(default_factory=list)  # types we do not know
    about: bytes = NULL_NAME  # FAIL: the failing node
    channel: bytes = b""  # PUBLISH / PUBLISHSHARD
    message: bytes = b""
    update_epoch: int = 0  # UPDATE: the config epoch, name and slots of the owner
    update_name: bytes = NULL_NAME
    update_slots: bytes = bytes(SLOTS // 8)
    module_id: int = 0  # MODULE
    module_type: int = 0
    module_payload: bytes = b""

    @property
    def is_ping_like(self) -> bool:
        return self.type in (PING, PONG, MEET)


def _cstr(raw: bytes) -> bytes:
    i = raw.find(b"\0")
    return raw if i < 0 else raw[:i]


def _pad(b: bytes, n: int) -> bytes:
    if len(b) > n:
        raise BusError(f"field longer than {n} bytes")
    return b + b"\0" * (n - len(b))


def _align8(n: int) -> int:
    return (n + 7) & ~7


# -- decoding ----------------------------------------------------------------------------------


def decode(frame: bytes | bytearray | memoryview) -> Message:
    """One whole message (exactly ``totlen`` bytes) -> Message; BusError when malformed, with
    the same length rules as Redis's clusterIsValidPacket."""
    frame = bytes(frame)
    if len(frame) < 8:
        raise BusError("frame shorter than 8 bytes")
    if frame[:4] != SIGNATURE:
        raise BusError("bad signature")
    if len(frame) < HEADER_LEN:
        raise BusError(f"frame of {len(frame)} bytes is shorter than the header")
    (sig, totlen, ver, port, typ, count, cur, cfg, off, sender, myslots, slaveof, myip, nexts,
     _unused, pport, cport, flags, state, mflags) = _HEADER.unpack_from(frame)
    if totlen != len(frame):
        raise BusError(f"totlen {totlen} but {len(frame)} bytes")
    m = Message(type=typ, sender=sender, port=port, cport=cport, pport=pport, flags=flags,
                current_epoch=cur, config_epoch=cfg, offset=off, myslots=myslots,
                slaveof=slaveof, myip=_cstr(myip).decode("ascii", "replace"), state=state,
                mflags=mflags, version=ver, count=count)
    if ver != PROTO_VER:
        return m  # Redis ignores other versions; the caller drops it (header fields only)
    body = memoryview(frame)[HEADER_LEN:]
    if typ in (PING, PONG, MEET):
        _decode_ping(m, body, nexts)
    elif typ == FAIL:
        if len(body) != NAMELEN:
            raise BusError("FAIL length mismatch")
        m.about = bytes(body[:NAMELEN])
    elif typ in (PUBLISH, PUBLISHSHARD):
        if len(body) < _PUBLISH.size:
            raise BusError("PUBLISH message too short")
        clen, mlen = _PUBLISH.unpack_from(body)
        # Redis: sizeof(clusterMsgDataPublish) - 8 (the bulk_data placeholder) + both lengths.
        if len(body) != _PUBLISH.size + clen + mlen:
            raise BusError("PUBLISH length mismatch")
        m.channel = bytes(body[8:8 + clen])
        m.message = bytes(body[8 + clen:8 + clen + mlen])
    elif typ == UPDATE:
        if len(body) != _UPDATE.size:
            raise BusError("UPDATE length mismatch")
        m.update_epoch, m.update_name, m.update_slots = _UPDATE.unpack_from(body)
    elif typ == MODULE:
        if len(body) < _MODULE.size:
            raise BusError("MODULE message too short")
        m.module_id, plen, m.module_type = _MODULE.unpack_from(body)
        if len(body) != _MODULE.size + plen:  # sizeof(clusterMsgModule) - 3 + len
            raise BusError("MODULE length mismatch")
        m.module_payload = bytes(body[_MODULE.size:_MODULE.size + plen])
    elif typ in (AUTH_REQUEST, AUTH_ACK, MFSTART):
        if len(body):
            raise BusError("bytes after a header-only message")
    # Unknown types: header only (Redis accepts and ignores them).
    return m


def _decode_ping(m: Message, body: memoryview, nexts: int) -> None:
    glen = m.count * GOSSIP_LEN
    if len(body) < glen:
        raise BusError("gossip sections past the end of the message")
    for i in range(m.count):
        name, ps, pr, ip, port, cport, flags, pport, _ = _GOSSIP.unpack_from(body, i * GOSSIP_LEN)
        m.gossip.append(Gossip(name, ps, pr, _cstr(ip).decode("ascii", "replace"), port, cport,
                               flags, pport))
    rest = body[glen:]
    if not m.mflags[0] & MF_EXT_DATA:
        if len(rest):
            raise BusError("bytes after the gossip sections without extension data")
        return
    pos = 0
    for _ in range(nexts):
        if len(rest) - pos < _EXT.size:
            raise BusError("ping extension header past the end of the message")
        elen, etype, _ = _EXT.unpack_from(rest, pos)
        if elen < _EXT.size or elen % 8 or pos + elen > len(rest):
            raise BusError("bad ping extension length")
        data = bytes(rest[pos + _EXT.size:pos + elen])
        if etype == EXT_HOSTNAME:
            m.hostname = _cstr(data).decode("utf-8", "replace")
        else:
            m.other_exts.append((etype, data))
        pos += elen
    if pos != len(rest):
        raise BusError("bytes after the ping extensions")


# -- encoding ----------------------------------------------------------------------------------


def encode(m: Message) -> bytes:
    """Message -> the bytes Redis would send (count, totlen, extensions computed here)."""
    body = b""
    mflags = bytearray(m.mflags)
    nexts = 0
    count = m.count
    if m.type in (PING, PONG, MEET):
        count = len(m.gossip)
        parts = [_GOSSIP.pack(_pad(g.name, NAMELEN), g.ping_sent, g.pong_received,
                              _pad(g.ip.encode(), IPLEN), g.port, g.cport, g.flags, g.pport, 0)
                 for g in m.gossip]
        exts = []
        if m.hostname:
            exts.append((EXT_HOSTNAME, m.hostname.encode() + b"\0"))
        exts.extend(m.other_exts)
        for etype, data in exts:
            size = _align8(_EXT.size + len(data))
            parts.append(_EXT.pack(size, etype, 0) + _pad(data, size - _EXT.size))
            nexts += 1
        if nexts:  # as Redis 7.0: the flag only when extensions follow
            mflags[0] |= MF_EXT_DATA
        body = b"".join(parts)
    elif m.type == FAIL:
        body = _pad(m.about, NAMELEN)
    elif m.type in (PUBLISH, PUBLISHSHARD):
        body = _PUBLISH.pack(len(m.channel), len(m.message)) + m.channel + m.message
    elif m.type == UPDATE:
        body = _UPDATE.pack(m.update_epoch, _pad(m.update_name, NAMELEN), m.update_slots)
    elif m.type == MODULE:
        body = _MODULE.pack(m.module_id, len(m.module_payload), m.module_type) + m.module_payload
    header = _HEADER.pack(
        SIGNATURE, HEADER_LEN + len(body), m.version, m.port, m.type, count, m.current_epoch,
        m.config_epoch, m.offset, _pad(m.sender, NAMELEN), m.myslots, _pad(m.slaveof, NAMELEN),
        _pad(m.myip.encode(), IPLEN), nexts, b"\0" * 30, m.pport, m.cport, m.flags, m.state,
        bytes(mflags))
    return header + body


# -- framing -----------------------------------------------------------------------------------


class BusReader:
    """Accumulates bytes from one link and returns the whole messages they complete.

    Like Redis's clusterReadHandler it reads the 8-byte prefix first, checks the signature and
    a minimum length, then waits for ``totlen`` bytes; a bad prefix raises BusError (the caller
    drops the link).
    """

    def __init__(self, max_message: int = MAX_MESSAGE):
        self.buf = bytearray()
        self.max_message = max_message

    def feed(self, data: bytes) -> list[Message]:
        self.buf += data
        out = []
        while len(self.buf) >= 8:
            if self.buf[:4] != SIGNATURE:
                raise BusError("bad signature")
            totlen = struct.unpack_from(">I", self.buf, 4)[0]
            if totlen < HEADER_LEN or totlen > self.max_message:
                raise BusError(f"bad message length {totlen}")
            if len(self.buf) < totlen:
                break
            frame = bytes(self.buf[:totlen])
            del self.buf[:totlen]
            out.append(decode(frame))
        return out
