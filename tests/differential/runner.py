"""Differential corpus runner: the same command scripts against redis-server and trioredis.

Every command of a script goes to a real redis-server 7.0 and to trioredis over raw sockets;
the raw reply bytes must be identical. Redis is the oracle: a script says nothing about the
expected replies, it only lists commands.

Script format (``tests/differential/corpus/*.txt``)
---------------------------------------------------

* One command per line, split like redis-cli / ``redis.conf`` lines (Redis's
  ``sdssplitargs``, our ``trioredis.protocol.split_inline``): ``SET k "a b\\x00"``,
  ``SET k 'it\\'s'``. Commands are sent as RESP multibulk requests.
* Lines starting with ``#`` are comments.
* Blank lines separate **blocks**. Each block starts with new connections to both servers and
  a ``FLUSHALL``; state does not carry over from one block to the next (except server config:
  a block that runs ``CONFIG SET`` must set the value back).
* Flags, at the end of a line after `` # `` (whitespace before the ``#``):

  - ``# unordered``: compare as unordered: the elements of every array, set and map (map
    entries as key/value pairs), recursively, are compared as multisets. For SMEMBERS,
    HGETALL in RESP3, KEYS ...
  - ``# pairs``: with ``unordered``, a RESP2 flat array is compared as unordered key/value
    pairs (HGETALL, CONFIG GET in RESP2).
  - ``# any``: the reply's content is ignored; only its RESP type (first byte) must match
    (CLIENT ID, PTTL, RANDOMKEY of several keys, ...).
  - ``# replies=N``: the command gets N replies (SUBSCRIBE a b c: 3; CLIENT REPLY OFF: 0).

  Flags combine: ``SUBSCRIBE a b # replies=2 unordered``. A ``~`` before the command is short
  for ``# unordered``, a ``?`` for ``# any``: ``~ SMEMBERS s``.
* ``@name`` before a command (or before ``~``/``?``) sends it on another connection of the
  block (``@sub SUBSCRIBE ch``); connections are opened on first use. The unnamed connection
  is ``@main``. A connection the server closed (QUIT) is reopened by its next command.
* Directives: ``.read [N]`` reads N (default 1) more replies on the line's connection without
  sending anything (pushed pub/sub messages, a served BLPOP); ``.closed`` waits (up to 5 s)
  for the server to close the line's connection, after QUIT or an error, and compares that
  too (the next command on that connection opens a new one); ``.sleep SECONDS`` waits (use
  generous margins, e.g. ``PEXPIRE k 1`` then ``.sleep 0.05``).

A difference is reported as the first differing line of each block, with both replies; the
rest of that block is skipped (its state has diverged).

Run by hand: ``python -m tests.differential.runner tests/differential/corpus/strings.txt``
(starts both servers), or ``--ports REDIS TRIOREDIS`` to use running ones, ``--self-check``
to run the scripts against two redis-servers (a line that differs there is not deterministic
and needs a flag), ``--show`` to print redis-server's reply to every line (to write scripts).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from trioredis.protocol.parser import ParseError, split_inline

from ..helpers import RawClient

CORPUS = Path(__file__).parent / "corpus"
_FLAGS = re.compile(rb"\s#\s*((?:(?:unordered|pairs|any|replies=\d+)\s*)+)$")


@dataclass
class Step:
    lineno: int
    text: str
    conn: str = "main"
    args: list[bytes] = field(default_factory=list)
    kind: str = "cmd"  # cmd | read | closed | sleep
    unordered: bool = False
    pairs: bool = False
    any: bool = False
    replies: int = 1
    seconds: float = 0.0


@dataclass
class Block:
    lineno: int
    steps: list[Step]


@dataclass
class Mismatch:
    path: str
    lineno: int
    text: str
    redis: list[bytes]
    trioredis: list[bytes]

    def __str__(self) -> str:
        return (
            f"{self.path}:{self.lineno}: {self.text}\n"
            f"    redis-server: {_show(self.redis)}\n"
            f"    trioredis:    {_show(self.trioredis)}"
        )


def _show(replies: list[bytes]) -> str:
    text = " | ".join(repr(r)[2:-1] for r in replies)
    return text if len(text) < 600 else text[:600] + "..."


class ScriptError(ValueError):
    pass


def parse_script(text: str) -> list[Block]:
    """Blocks of steps; ScriptError on a malformed line (with its number)."""
    blocks: list[Block] = []
    steps: list[Step] = []
    start = 0
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped:
            if steps:
                blocks.append(Block(start, steps))
                steps = []
            continue
        if stripped.startswith("#"):
            continue
        if not steps:
            start = lineno
        steps.append(_parse_line(lineno, stripped))
    if steps:
        blocks.append(Block(start, steps))
    return blocks


def _parse_line(lineno: int, line: str) -> Step:
    step = Step(lineno, line)
    raw = line.encode("utf-8", "surrogateescape")
    m = _FLAGS.search(raw)
    if m:
        raw = raw[: m.start()].rstrip()
        for flag in m.group(1).split():
            if flag == b"unordered":
                step.unordered = True
            elif flag == b"pairs":
                step.pairs = True
            elif flag == b"any":
                step.any = True
            else:
                step.replies = int(flag.split(b"=")[1])
    if raw.startswith(b"@"):
        name, _, raw = raw.partition(b" ")
        step.conn = name[1:].decode()
        raw = raw.lstrip()
    if raw[:1] == b"~" and raw[1:2].isspace():
        step.unordered, raw = True, raw[1:].lstrip()
    elif raw[:1] == b"?" and raw[1:2].isspace():
        step.any, raw = True, raw[1:].lstrip()
    try:
        args = split_inline(raw)
    except ParseError as e:
        raise ScriptError(f"line {lineno}: {e}") from None
    if not args:
        raise ScriptError(f"line {lineno}: no command")
    if args[0] == b".read":
        step.kind = "read"
        step.replies = int(args[1]) if len(args) > 1 else 1
    elif args[0] == b".closed":
        step.kind = "closed"
    elif args[0] == b".sleep":
        step.kind = "sleep"
        step.seconds = float(args[1])
    elif args[0].startswith(b"."):
        raise ScriptError(f"line {lineno}: unknown directive {args[0].decode()}")
    else:
        step.args = args
    return step


# -- comparing replies --------------------------------------------------------------------------


def _parse(data: bytes, pos: int = 0):
    """One RESP reply from ``data[pos:]`` as (node, end); node = (header, children or None)."""
    nl = data.index(b"\r\n", pos)
    header = data[pos : nl + 2]
    t = header[:1]
    pos = nl + 2
    if t in (b"$", b"=", b"!"):
        n = int(header[1:-2])
        if n < 0:
            return (header, None), pos
        return (header + data[pos : pos + n + 2], None), pos + n + 2
    if t in (b"*", b"~", b">", b"%", b"|"):
        n = int(header[1:-2])
        if n < 0:
            return (header, None), pos
        kids = []
        for _ in range(n * 2 if t in (b"%", b"|") else n):
            kid, pos = _parse(data, pos)
            kids.append(kid)
        return (header, kids), pos
    return (header, None), pos


def _canonical(node, pairs: bool) -> bytes:
    header, kids = node
    if kids is None:
        return header
    items = [_canonical(k, pairs) for k in kids]
    if header[:1] in (b"%", b"|") or (pairs and header[:1] == b"*" and len(items) % 2 == 0):
        items = sorted(a + b for a, b in zip(items[::2], items[1::2], strict=True))
    else:
        items.sort()
    return header + b"".join(items)


def same(step: Step, a: list[bytes], b: list[bytes]) -> bool:
    if step.any:
        return [r[:1] for r in a] == [r[:1] for r in b]
    if step.unordered:
        try:
            a = [_canonical(_parse(r)[0], step.pairs) for r in a]
            b = [_canonical(_parse(r)[0], step.pairs) for r in b]
        except (ValueError, IndexError):
            pass
    return a == b


# -- running ------------------------------------------------------------------------------------


class _Side:
    """The connections of one block to one server."""

    def __init__(self, port: int):
        self.port = port
        self.conns: dict[str, RawClient] = {}

    def conn(self, name: str) -> RawClient:
        c = self.conns.get(name)
        if c is None:
            c = self.conns[name] = RawClient(self.port)
        return c

    def run(self, step: Step) -> list[bytes]:
        c = self.conn(step.conn)
        if step.kind == "closed":
            self.conns.pop(step.conn)
            closed = c.closed(5.0)
            c.close()
            return [b"<closed>" if closed else b"<still open>"]
        if step.kind == "cmd":
            parts = step.args
            try:
                c.send(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
            except OSError:
                self.conns.pop(step.conn).close()
                c = self.conn(step.conn)
                c.send(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        out = []
        for _ in range(step.replies):
            try:
                out.append(c.read_reply())
            except ConnectionError:
                out.append(b"<connection closed>")
                self.conns.pop(step.conn, None)
                c.close()
                break
            except TimeoutError:
                out.append(b"<no reply in 10 s>")
                break
        return out

    def close(self) -> None:
        for c in self.conns.values():
            c.close()
        self.conns.clear()


def run_blocks(blocks: list[Block], redis_port: int, trioredis_port: int, path: str = "") -> list[Mismatch]:
    """Run every block on both servers; the first mismatch of each block."""
    found: list[Mismatch] = []
    for block in blocks:
        sides = (_Side(redis_port), _Side(trioredis_port))
        try:
            for side in sides:
                side.conn("main").command("FLUSHALL")
            for step in block.steps:
                if step.kind == "sleep":
                    time.sleep(step.seconds)
                    continue
                a, b = (side.run(step) for side in sides)
                if not same(step, a, b):
                    found.append(Mismatch(path, step.lineno, step.text, a, b))
                    break
        finally:
            for side in sides:
                side.close()
    return found


def run_file(path: Path, redis_port: int, trioredis_port: int) -> list[Mismatch]:
    return run_blocks(parse_script(path.read_text()), redis_port, trioredis_port, path.name)


def show(blocks: list[Block], port: int) -> None:
    """Print each line with redis-server's replies."""
    for block in blocks:
        side = _Side(port)
        try:
            side.conn("main").command("FLUSHALL")
            for step in block.steps:
                if step.kind == "sleep":
                    time.sleep(step.seconds)
                    continue
                print(f"{step.lineno:4d} {step.text}\n       -> {_show(side.run(step))}")
        finally:
            side.close()
        print()


def report(mismatches: list[Mismatch]) -> str:
    if not mismatches:
        return "no differences"
    first, rest = mismatches[0], mismatches[1:]
    lines = [f"{len(mismatches)} block(s) differ; first difference:", str(first)]
    if rest:
        lines.append("other blocks differ first at:")
        lines += [f"    {m.path}:{m.lineno}: {m.text}" for m in rest]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="*", type=Path, help="scripts (default: every corpus file)")
    ap.add_argument("--ports", nargs=2, type=int, metavar=("REDIS", "TRIOREDIS"))
    ap.add_argument("--self-check", action="store_true", help="compare two redis-servers")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every mismatch in full")
    ap.add_argument("--show", action="store_true", help="print redis-server's replies")
    opts = ap.parse_args(argv)
    files = opts.files or sorted(CORPUS.glob("*.txt"))
    from ..helpers import RealRedis, ThreadedServer

    started = []
    try:
        if opts.show:
            real = RealRedis("--enable-debug-command", "yes")
            started.append(real.stop)
            for f in files:
                show(parse_script(f.read_text()), real.port)
            return 0
        if opts.ports:
            ports = opts.ports
        else:
            real = RealRedis("--enable-debug-command", "yes")
            started.append(real.stop)
            if opts.self_check:
                other = RealRedis("--enable-debug-command", "yes")
                started.append(other.stop)
                ports = [real.port, other.port]
            else:
                ours = ThreadedServer().start()
                started.append(ours.stop)
                ports = [real.port, ours.port]
        status = 0
        for f in files:
            found = run_file(f, *ports)
            print(f"== {f.name}: " + ("ok" if not found else f"{len(found)} block(s) differ"))
            for m in found if opts.verbose else found[:1]:
                print(m)
            for m in [] if opts.verbose else found[1:]:
                print(f"    also {m.path}:{m.lineno}: {m.text}")
            status |= bool(found)
        return status
    finally:
        for stop in reversed(started):
            stop()


if __name__ == "__main__":
    sys.exit(main())
