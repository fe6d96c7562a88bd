"""Pub/Sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.

Subscription confirmations are replies of the command (arrays in RESP2, push frames in RESP3),
one per channel, so a SUBSCRIBE of N channels returns N frames back to back (as ``Raw`` bytes,
encoded for the client's protocol). Inside EXEC they land in EXEC's array exactly as Redis
writes them. Messages go out through the hub in ``trioredis/pubsub.py``.
"""

from __future__ import annotations

from .. import pubsub as _hub
from ..errors import CommandError
from ..glob import compile_glob
from ..protocol.replies import Push, Raw
from .registry import command, container
from .transactions import ReplOnly

container("pubsub", group="pubsub", since="2.8.0",
          summary="A container for Pub/Sub commands").complexity = "Depends on subcommand."


def _count(c) -> int:
    """Redis's clientSubscriptionsCount: channels + patterns (shard channels apart)."""
    return len(c.channels) + len(c.patterns)


def _shard_count(c) -> int:
    return len(c.shard_channels)


def _frames(c, frames: list) -> Raw:
    enc = c.encode
    data = b"".join([enc(Push(f)) for f in frames])
    if c.reply_mode != "on" and not c.in_exec:
        # CLIENT REPLY OFF/SKIP silences replies, not pushes: Redis 7.0 still sends these.
        c.push_raw(data)
        return Raw(b"")
    return Raw(data)


def _deny(c, name: str, in_multi_ok: bool) -> None:
    # A DENY BLOCKING client (a script, EXEC) expects one reply per command. SUBSCRIBE and
    # PSUBSCRIBE keep working inside MULTI for backward compatibility, as in Redis 7.0.
    if c.deny_blocking and not (in_multi_ok and c.in_multi):
        raise CommandError(f"ERR {name} isn't allowed for a DENY BLOCKING client")


@command("subscribe", -2, "pubsub noscript loading stale", group="pubsub", since="2.0.0",
         complexity="O(N) where N is the number of channels to subscribe to.")
def subscribe(c, argv):
    """Listen for messages published to the given channels"""
    _deny(c, "SUBSCRIBE", True)
    return _subscribe(c, argv, b"subscribe", _hub.hub_of(c.server).subscribe, _count)


@command("psubscribe", -2, "pubsub noscript loading stale", group="pubsub", since="2.0.0",
         complexity="O(N) where N is the number of patterns the client is already subscribed to.")
def psubscribe(c, argv):
    """Listen for messages published to channels matching the given patterns"""
    _deny(c, "PSUBSCRIBE", True)
    return _subscribe(c, argv, b"psubscribe", _hub.hub_of(c.server).psubscribe, _count)


@command("ssubscribe", -2, "pubsub noscript loading stale", keys=(1, -1, 1), group="pubsub",
         since="7.0.0",
         complexity="O(N) where N is the number of shard channels to subscribe to.")
def ssubscribe(c, argv):
    """Listen for messages published to the given shard channels"""
    _deny(c, "SSUBSCRIBE", False)
    return _subscribe(c, argv, b"ssubscribe", _hub.hub_of(c.server).ssubscribe, _shard_count)


def _subscribe(c, argv, kind: bytes, add, count) -> Raw:
    """Shared body of the three SUBSCRIBE commands: one confirmation frame per name."""
    frames = []
    for name in argv[1:]:
        add(c, name)
        frames.append([kind, name, count(c)])
    c.update_guard()
    return _frames(c, frames)


def _unsubscribe(c, argv, kind: bytes, current: set, remove, count) -> Raw:
    """Shared body of the three UNSUBSCRIBE commands (no arguments: everything)."""
    names = argv[1:] or list(current)
    frames = []
    for name in names:
        remove(c, name)
        frames.append([kind, name, count(c)])
    if not frames:  # subscribed to nothing: still one notification, with a null name
        frames.append([kind, None, count(c)])
    c.update_guard()
    return _frames(c, frames)


@command("unsubscribe", -1, "pubsub noscript loading stale", group="pubsub", since="2.0.0",
         complexity="O(N) where N is the number of clients already subscribed to a channel.")
def unsubscribe(c, argv):
    """Stop listening for messages posted to the given channels"""
    hub = _hub.hub_of(c.server)
    return _unsubscribe(c, argv, b"unsubscribe", c.channels, hub.unsubscribe, _count)


@command("punsubscribe", -1, "pubsub noscript loading stale", group="pubsub", since="2.0.0",
         complexity="O(N+M) where N is the number of patterns the client is already subscribed "
         "and M is the number of total patterns subscribed in the system (by any client).")
def punsubscribe(c, argv):
    """Stop listening for messages posted to channels matching the given patterns"""
    hub = _hub.hub_of(c.server)
    return _unsubscribe(c, argv, b"punsubscribe", c.patterns, hub.punsubscribe, _count)


@command("sunsubscribe", -1, "pubsub noscript loading stale", keys=(1, -1, 1), group="pubsub",
         since="7.0.0",
         complexity="O(N) where N is the number of clients already subscribed to a shard channel.")
def sunsubscribe(c, argv):
    """Stop listening for messages posted to the given shard channels"""
    hub = _hub.hub_of(c.server)
    return _unsubscribe(c, argv, b"sunsubscribe", c.shard_channels, hub.sunsubscribe,
                        _shard_count)


def _propagate_repl(c, argv) -> None:
    """PUBLISH goes to replicas, not the AOF (Redis's forceCommandPropagation(REPL)), through
    the "propagate_repl" hooks; inside EXEC it joins the transaction's MULTI/EXEC unit."""
    srv = c.server
    hooks = srv.hooks.get("propagate_repl")
    if hooks:
        if srv.prop_buffer is not None:
            srv.prop_buffer.append((c.db.id, ReplOnly(argv)))
        else:
            for fn in hooks:
                fn(c.db.id, argv)


@command("publish", 3, "pubsub loading stale fast", group="pubsub", since="2.0.0",
         complexity="O(N+M) where N is the number of clients subscribed to the receiving "
         "channel and M is the total number of subscribed patterns (by any client).")
def publish(c, argv):
    """Post a message to a channel"""
    n = _hub.hub_of(c.server).publish(argv[1], argv[2])
    rc = getattr(c.server, "rcluster", None)
    if rc is not None:  # Redis Cluster: to every node over the bus instead
        rc.propagate_publish(argv[1], argv[2], shard=False)
    else:
        _propagate_repl(c, argv)
    return n


@command("spublish", 3, "pubsub loading stale fast", keys=(1, 1, 1), group="pubsub",
         since="7.0.0",
         complexity="O(N) where N is the number of clients subscribed to the receiving shard "
         "channel.")
def spublish(c, argv):
    """Post a message to a shard channel"""
    n = _hub.hub_of(c.server).spublish(argv[1], argv[2])
    rc = getattr(c.server, "rcluster", None)
    if rc is not None:  # Redis Cluster: to the nodes of this shard
        rc.propagate_publish(argv[1], argv[2], shard=True)
    else:
        _propagate_repl(c, argv)
    return n


# -- PUBSUB -------------------------------------------------------------------------------------


def _syntax(argv) -> CommandError:
    sub = argv[1].decode("utf-8", "replace")[:128]
    return CommandError(
        f"ERR unknown subcommand or wrong number of arguments for '{sub}'. "
        f"Try {argv[0].decode('utf-8', 'replace').upper()} HELP."
    )


def _channel_list(argv, registry: dict) -> list:
    if len(argv) > 3:
        raise _syntax(argv)
    if len(argv) == 2:
        return list(registry)
    match = compile_glob(argv[2])
    return [ch for ch in registry if match(ch)]


@command("pubsub|channels", -2, "pubsub loading stale", group="pubsub", since="2.8.0",
         complexity="O(N) where N is the number of active channels, and assuming constant time "
         "pattern matching (relatively short channels and patterns)")
def pubsub_channels(c, argv):
    """List active channels"""
    return _channel_list(argv, _hub.hub_of(c.server).channels)


@command("pubsub|shardchannels", -2, "pubsub loading stale", group="pubsub", since="7.0.0",
         complexity="O(N) where N is the number of active shard channels, and assuming constant "
         "time pattern matching (relatively short shard channels).")
def pubsub_shardchannels(c, argv):
    """List active shard channels"""
    return _channel_list(argv, _hub.hub_of(c.server).shard_channels)


def _numsub(argv, registry: dict) -> list:
    out = []
    for ch in argv[2:]:
        subs = registry.get(ch)
        out.append(ch)
        out.append(len(subs) if subs else 0)
    return out


@command("pubsub|numsub", -2, "pubsub loading stale", group="pubsub", since="2.8.0",
         complexity="O(N) for the NUMSUB subcommand, where N is the number of requested channels")
def pubsub_numsub(c, argv):
    """Get the count of subscribers for channels"""
    return _numsub(argv, _hub.hub_of(c.server).channels)


@command("pubsub|shardnumsub", -2, "pubsub loading stale", group="pubsub", since="7.0.0",
         complexity="O(N) for the SHARDNUMSUB subcommand, where N is the number of requested "
         "shard channels")
def pubsub_shardnumsub(c, argv):
    """Get the count of subscribers for shard channels"""
    return _numsub(argv, _hub.hub_of(c.server).shard_channels)


@command("pubsub|numpat", 2, "pubsub loading stale", group="pubsub", since="2.8.0",
         complexity="O(1)")
def pubsub_numpat(c, argv):
    """Get the count of unique patterns pattern subscriptions"""
    return _hub.hub_of(c.server).numpat()


_HELP = [
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
]


@command("pubsub|help", 2, "loading stale", group="pubsub", since="6.2.0", complexity="O(1)")
def pubsub_help(c, argv):
    """Show helpful text about the different subcommands"""
    return list(_HELP)
