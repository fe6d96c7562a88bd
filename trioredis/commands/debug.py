"""DEBUG: one container command whose subcommands are dispatched by the ``_DEBUG`` table
(name -> handler, min argc, max argc), not registered as ``debug|sub`` entries, as in Redis.

A new subcommand is a ``_debug_<name>`` handler (here or in debug_more.py), an entry in ``_DEBUG``
(or ``MORE``) and, if Redis has it, its help lines in ``_HELP_TEXT`` (shown only for what exists).
DEBUG RELOAD is answered by persistence through the "debug_reload" hook.
"""

from __future__ import annotations

import os
import time

from ..errors import CommandError
from ..protocol.replies import OK, Raw, SetReply, Verbatim
from . import registry
from .args import parse_int, to_float, to_int
from .config_cmd import allowed
from .connection import subcommand_syntax_error
from .debug_more import MORE
from .registry import command
from .server import help_reply

# -- DEBUG -----------------------------------------------------------------------------------

DEBUG_DENIED = (
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server."
)
# Redis 7.0.15's DEBUG HELP, line groups by subcommand in its order; DEBUG HELP shows the groups
# of the subcommands this server has (see ``_DEBUG``), so it lists exactly what exists.
_HELP_TEXT = [
    ("aof-flush-sleep", ["AOF-FLUSH-SLEEP <microsec>",
     "    Server will sleep before flushing the AOF, this is used for testing."]),
    ("assert", ["ASSERT", "    Crash by assertion failed."]),
    ("change-repl-id", ["CHANGE-REPL-ID", "    Change the replication IDs of the instance.",
     "    Dangerous: should be used only for testing the replication subsystem."]),
    ("config-rewrite-force-all", ["CONFIG-REWRITE-FORCE-ALL",
     "    Like CONFIG REWRITE but writes all configuration options, including",
     "    keywords not listed in original configuration file or default values."]),
    ("crash-and-recover", ["CRASH-AND-RECOVER [<milliseconds>]",
     "    Hard crash and restart after a <milliseconds> delay (default 0)."]),
    ("digest", ["DIGEST", "    Output a hex signature representing the current DB content."]),
    ("digest-value", ["DIGEST-VALUE <key> [<key> ...]",
     "    Output a hex signature of the values of all the specified keys."]),
    ("error", ["ERROR <string>",
     "    Return a Redis protocol error with <string> as message. Useful for clients",
     "    unit tests to simulate Redis errors."]),
    ("leak", ["LEAK <string>", "    Create a memory leak of the input string."]),
    ("log", ["LOG <message>", "    Write <message> to the server log."]),
    ("htstats", ["HTSTATS <dbid>",
     "    Return hash table statistics of the specified Redis database."]),
    ("htstats-key", ["HTSTATS-KEY <key>",
     "    Like HTSTATS but for the hash table stored at <key>'s value."]),
    ("loadaof", ["LOADAOF", "    Flush the AOF buffers on disk and reload the AOF in memory."]),
    ("replicate", ["REPLICATE <string>",
     "    Replicates the provided string to replicas, allowing data divergence."]),
    ("object", ["OBJECT <key>", "    Show low level info about `key` and associated value."]),
    ("drop-cluster-packet-filter", ["DROP-CLUSTER-PACKET-FILTER <packet-type>",
     "    Drop all packets that match the filtered type. Set to -1 allow all packets."]),
    ("oom", ["OOM", "    Crash the server simulating an out-of-memory error."]),
    ("panic", ["PANIC", "    Crash the server simulating a panic."]),
    ("populate", ["POPULATE <count> [<prefix>] [<size>]",
     "    Create <count> string keys named key:<num>. If <prefix> is specified then",
     "    it is used instead of the 'key' prefix. These are not propagated to",
     "    replicas. Cluster slots are not respected so keys not belonging to the",
     "    current node can be created in cluster mode."]),
    ("protocol", ["PROTOCOL <type>",
     "    Reply with a test value of the specified type. <type> can be: string,",
     "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
     "    true, false."]),
    ("reload", ["RELOAD [option ...]",
     "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
     "    * MERGE: conflicting keys will be loaded from RDB.",
     "    * NOFLUSH: the existing database will not be removed before load, but",
     "      conflicting keys will generate an exception and kill the server.",
     "    * NOSAVE: the database will be loaded from an existing RDB file.",
     "    Examples:",
     "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
     "      the database.",
     "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
     "      existing RDB file.",
     "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
     "      file to the database."]),
    ("restart", ["RESTART [<milliseconds>]",
     "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0)."]),
    ("sdslen", ["SDSLEN <key>",
     "    Show low level SDS string info representing `key` and value."]),
    ("segfault", ["SEGFAULT", "    Crash the server with sigsegv."]),
    ("set-active-expire", ["SET-ACTIVE-EXPIRE <0|1>",
     "    Setting it to 0 disables expiring keys in background when they are not",
     "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
     "    default."]),
    ("quicklist-packed-threshold", ["QUICKLIST-PACKED-THRESHOLD <size>",
     "    Sets the threshold for elements to be inserted as plain vs packed nodes",
     "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default."]),
    ("set-skip-checksum-validation", ["SET-SKIP-CHECKSUM-VALIDATION <0|1>",
     "    Enables or disables checksum checks for RDB files and RESTORE's payload."]),
    ("sleep", ["SLEEP <seconds>", "    Stop the server for <seconds>. Decimals allowed."]),
    ("stringmatch-test", ["STRINGMATCH-TEST",
     "    Run a fuzz tester against the stringmatchlen() function."]),
    ("structsize", ["STRUCTSIZE", "    Return the size of different Redis core C structures."]),
    ("listpack", ["LISTPACK <key>",
     "    Show low level info about the listpack encoding of <key>."]),
    ("quicklist", ["QUICKLIST <key> [<0|1>]",
     "    Show low level info about the quicklist encoding of <key>.",
     "    The optional argument (0 by default) sets the level of detail"]),
    ("client-eviction", ["CLIENT-EVICTION",
     "    Show low level client eviction pools info (maxmemory-clients)."]),
    ("pause-cron", ["PAUSE-CRON <0|1>", "    Stop periodic cron job processing."]),
    ("replybuffer", ["REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
     "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
     "    In case NEVER is provided the last observed peak will never be reset",
     "    In case RESET is provided the peak reset time will be restored to the default value",
     "REPLYBUFFER RESIZING <0|1>",
     "    Enable or disable the reply buffer resize cron job"]),
    ("clusterlink", ["CLUSTERLINK KILL <to|from|all> <node-id>",
     "    Kills the link based on the direction to/from (both) with the provided node."]),
]
PROTOCOL_TYPES = ("string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|"
                  "false")


@command("debug", -2, "admin noscript loading stale", group="server", since="1.0.0",
         summary="A container for debugging commands", complexity="Depends on subcommand.")
def debug(c, argv):
    """A container for debugging commands"""
    srv = c.server
    if not allowed(c, srv.config["enable-debug-command"]):
        raise CommandError(DEBUG_DENIED)
    sub = argv[1].lower()
    n = len(argv)
    handler = _DEBUG.get(sub)
    if handler is None or not handler[1] <= n <= handler[2]:
        raise subcommand_syntax_error(argv)
    return handler[0](c, argv)


def _debug_help(c, argv):
    lines = []
    for name, text in _HELP_TEXT:
        if name.encode() in _DEBUG:
            lines.extend(text)
    return help_reply("DEBUG", lines)


def _debug_digest(c, argv):
    from ..digest import dataset_digest

    return dataset_digest(c.server).hex()


def _debug_digest_value(c, argv):
    from ..digest import key_value_digest

    return [key_value_digest(c.db, k).hex() for k in argv[2:]]


def _debug_sleep(c, argv):
    """Stop the whole server for the given seconds (strtod: junk reads as 0).

    A blocking ``time.sleep`` on purpose: handlers run on the one Trio loop, so this freezes
    every client, the cron and replication, exactly as Redis's nanosleep in debugCommand does;
    the suite relies on that (slow log entries, latency events, timeouts seen by replicas)."""
    secs = to_float(argv[2]) or 0.0
    if secs > 0:
        time.sleep(secs)
    return OK


def _debug_set_active_expire(c, argv):
    on = bool(_atoi(argv[2]))
    srv = c.server
    srv.active_expire_enabled = on
    runner = srv.runner
    if runner is not None:
        if on:
            runner.__dict__.pop("active_expire", None)
        else:
            runner.active_expire = lambda: None  # the cron's expire cycle, switched off
    return OK


def _atoi(b: bytes) -> int:
    s = b.strip()
    end = 1 if s[:1] in (b"-", b"+") else 0
    while end < len(s) and 48 <= s[end] <= 57:
        end += 1
    try:
        return int(s[:end])
    except ValueError:
        return 0


def _debug_log(c, argv):
    c.server.log.warning("DEBUG LOG: " + argv[2].decode("utf-8", "replace"))
    return OK


def _debug_error(c, argv):
    text = argv[2].decode("utf-8", "replace").replace("\r", " ").replace("\n", " ")
    return c.server.error_reply(text)  # no newlines in errors, as Redis maps them


def _debug_change_repl_id(c, argv):
    srv = c.server
    srv.log.notice("Changing replication IDs after receiving DEBUG change-repl-id")
    srv.replid = os.urandom(20).hex()
    srv.replid2 = "0" * 40
    srv.second_repl_offset = -1
    srv.run_hooks("replid_changed")
    return OK


def _debug_object(c, argv):
    from .keys import object_encoding  # OBJECT ENCODING's answer

    value = c.db.data.get(argv[2])
    if value is None:
        raise CommandError("ERR no such key")
    srv = c.server
    enc = object_encoding(value, srv.config)
    lru = int(srv.clock.time()) & ((1 << 24) - 1)
    text = b"Value at:0x%x refcount:1 encoding:%s serializedlength:%d lru:%d lru_seconds_idle:0" % (
        id(value), enc, _serialized_length(value), lru)
    if enc == b"quicklist":
        size = sum(len(x) for x in value)
        text += b" ql_nodes:%d ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d " \
                b"ql_uncompressed_size:%d" % (1, float(len(value)),
                                              srv.config["list-max-listpack-size"],
                                              int(srv.config["list-compress-depth"] != 0), size)
    return text.decode("latin-1")


def _len_prefix(n: int) -> int:
    return 1 if n < 64 else 2 if n < 16384 else 5


def _string_length(v) -> int:
    n = to_int(bytes(v)) if len(v) <= 20 else None
    if n is not None:
        return 2 if -128 <= n <= 127 else 3 if -32768 <= n <= 32767 else \
            5 if -(2**31) <= n < 2**31 else _len_prefix(len(v)) + len(v)
    return _len_prefix(len(v)) + len(v)


def _serialized_length(value) -> int:
    """An estimate of the value's RDB size (DEBUG OBJECT's serializedlength)."""
    t = value.__class__
    if t is bytes or t is bytearray:
        return _string_length(value)
    if t is dict:
        return _len_prefix(len(value)) + sum(_string_length(k) + _string_length(v)
                                             for k, v in value.items())
    try:
        return _len_prefix(len(value)) + sum(_string_length(x) for x in value
                                             if isinstance(x, bytes | bytearray))
    except TypeError:
        return 0


def _debug_populate(c, argv):
    count = parse_int(argv[2])
    if count < 0:
        raise CommandError("ERR value is out of range, must be positive")
    size = 0
    if len(argv) == 5:
        size = parse_int(argv[4])
        if size < 0:
            raise CommandError("ERR value is out of range, must be positive")
    prefix = argv[3] if len(argv) >= 4 else b"key"
    db = c.db
    for j in range(count):
        key = b"%s:%d" % (prefix, j)
        if db.lookup(key) is not None:
            continue
        val = b"value:%d" % j
        if size:
            val = val[:size].ljust(size, b"\0")
        db.add(key, val)
        db.modified(key, None, 0, dirty=0)
    return OK


def _debug_protocol(c, argv):
    kind = argv[2].lower()
    r3 = c.resp == 3
    if kind == b"string":
        return b"Hello World"
    if kind == b"integer":
        return 12345
    if kind == b"double":
        return Raw(b",3.141\r\n" if r3 else b"$5\r\n3.141\r\n")
    if kind == b"bignum":
        num = b"1234567999999999999999999999999999999"
        return Raw(b"(" + num + b"\r\n" if r3 else b"$%d\r\n%s\r\n" % (len(num), num))
    if kind == b"null":
        return None
    if kind == b"array":
        return [0, 1, 2]
    if kind == b"set":
        return SetReply([0, 1, 2])
    if kind == b"map":
        return {0: False, 1: True, 2: False}
    if kind == b"attrib":
        real = c.encode(b"Some real reply following the attribute")
        if r3:
            return Raw(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n" + real)
        return Raw(real)
    if kind == b"push":
        if not r3:
            raise CommandError("ERR RESP2 is not supported by this command")
        return Raw(b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"
                   + c.encode(b"Some real reply following the push reply"))
    if kind == b"verbatim":
        return Verbatim(b"This is a verbatim\nstring")
    if kind == b"true":
        return True
    if kind == b"false":
        return False
    raise CommandError("ERR Wrong protocol type name. Please use one of the following: "
                       + PROTOCOL_TYPES)


def _debug_reload(c, argv):
    hook = c.server.hooks.get("debug_reload")
    if not hook:
        raise CommandError("ERR DEBUG RELOAD needs persistence, which is not enabled")
    return hook[0](c, [a.lower() for a in argv[2:]])


registry.BY_NAME["debug"].doc_flags = ["syscmd"]

_DEBUG = {  # name -> (handler, min argc, max argc)
    b"help": (_debug_help, 2, 2),
    b"digest": (_debug_digest, 2, 2),
    b"digest-value": (_debug_digest_value, 2, 1 << 30),
    b"sleep": (_debug_sleep, 3, 3),
    b"set-active-expire": (_debug_set_active_expire, 3, 3),
    b"log": (_debug_log, 3, 3),
    b"error": (_debug_error, 3, 3),
    b"change-repl-id": (_debug_change_repl_id, 2, 2),
    b"object": (_debug_object, 3, 3),
    b"populate": (_debug_populate, 3, 5),
    b"protocol": (_debug_protocol, 3, 3),
    b"reload": (_debug_reload, 2, 1 << 30),
    **MORE,
}
