"""The multi-part AOF manifest: its format, parsed and rendered (``Manifest``, ``AofInfo``),
and read from / written to disk.

``<dir>/<appenddirname>/`` holds a manifest ``<appendfilename>.manifest`` naming one *base*
file (a snapshot: an RDB, or plain commands when ``aof-use-rdb-preamble no``) and the *incr*
files that follow it, each a log of RESP commands::

    file appendonly.aof.1.base.rdb seq 1 type b
    file appendonly.aof.1.incr.aof seq 1 type i

Changes are made on a copy and installed once persisted (``write_manifest``: temp file,
fsync, rename, fsync of the directory), so a crash leaves the old or the new manifest.
"""

from __future__ import annotations

import os

from ...config import quote_value
from ...protocol.parser import ParseError, split_inline
from .common import (
    AOF_SUFFIX,
    BASE_SUFFIX,
    INCR_SUFFIX,
    MANIFEST_SUFFIX,
    RDB_SUFFIX,
    TEMP_PREFIX,
    TYPE_BASE,
    TYPE_HIST,
    TYPE_INCR,
    AofError,
    _write_all,
    fsync_dir,
)


class AofInfo:
    __slots__ = ("name", "seq", "type")

    def __init__(self, name: str, seq: int, type_: str):
        self.name = name
        self.seq = seq
        self.type = type_

    def line(self) -> str:
        name = self.name
        if _needs_repr(name):
            name = quote_value(name)
        return f"file {name} seq {self.seq} type {self.type}\n"

    def copy(self) -> AofInfo:
        return AofInfo(self.name, self.seq, self.type)


def _needs_repr(s: str) -> bool:
    """sdsneedsrepr: quote names with spaces, quotes, backslashes or non-printables."""
    return any(ch in ' "\'\\' or not ch.isprintable() for ch in s)



class Manifest:
    """Redis's aofManifest: at most one base, then history files, then incr files in order."""

    def __init__(self):
        self.base: AofInfo | None = None
        self.history: list[AofInfo] = []
        self.incr: list[AofInfo] = []
        self.base_seq = 0
        self.incr_seq = 0

    def copy(self) -> Manifest:
        m = Manifest()
        m.base = self.base.copy() if self.base else None
        m.history = [a.copy() for a in self.history]
        m.incr = [a.copy() for a in self.incr]
        m.base_seq = self.base_seq
        m.incr_seq = self.incr_seq
        return m

    def render(self) -> str:
        parts = [self.base.line()] if self.base else []
        parts += [a.line() for a in self.history]
        parts += [a.line() for a in self.incr]
        return "".join(parts)

    @classmethod
    def parse(cls, text: bytes) -> Manifest:
        """aofLoadManifestFromFile; AofError with Redis's reason (and the line) when invalid."""
        m = cls()
        maxseq = 0
        lines = text.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        if not lines:
            raise AofError("Found an empty AOF manifest")
        for linenum, raw in enumerate(lines, 1):
            if raw.startswith(b"#"):
                continue
            line = raw.strip(b" \t\r\n")

            def bad(reason: str, line=line, linenum=linenum):
                text = line.decode("utf-8", "replace")
                return AofError(f"Reading the manifest file, at line {linenum}: '{text}': {reason}")

            if len(raw) > 1024:
                raise bad("The AOF manifest file contains too long line")
            if not line:
                raise bad("Invalid AOF manifest file format")
            try:
                argv = split_inline(line)
            except ParseError:
                raise bad("Invalid AOF manifest file format") from None
            if len(argv) < 6 or len(argv) % 2:
                raise bad("Invalid AOF manifest file format")
            name, seq, type_ = None, 0, ""
            for i in range(0, len(argv), 2):
                k, v = argv[i].lower(), argv[i + 1]
                if k == b"file":
                    name = v.decode("utf-8", "surrogateescape")
                    if "/" in name or name in (".", ".."):
                        raise bad("File can't be a path, just a filename")
                elif k == b"seq":
                    seq = _atoll(v)
                elif k == b"type":
                    type_ = v[:1].decode("latin-1")
            if not name or not seq or not type_:
                raise bad("Invalid AOF manifest file format")
            info = AofInfo(name, seq, type_)
            if type_ == TYPE_BASE:
                if m.base is not None:
                    raise bad("Found duplicate base file information")
                m.base = info
                m.base_seq = seq
            elif type_ == TYPE_HIST:
                m.history.append(info)
            elif type_ == TYPE_INCR:
                if seq <= maxseq:
                    raise bad("Found a non-monotonic sequence number")
                m.incr.append(info)
                m.incr_seq = maxseq = seq
            else:
                raise bad("Unknown AOF file type")
        return m

    # -- changes (made on a copy, installed once persisted) ------------------------------------

    def new_base(self, filename: str, rdb_preamble: bool) -> str:
        """getNewBaseFileNameAndMarkPreAsHistory."""
        if self.base is not None:
            self.base.type = TYPE_HIST
            self.history.insert(0, self.base)
        self.base_seq += 1
        suffix = RDB_SUFFIX if rdb_preamble else AOF_SUFFIX
        self.base = AofInfo(f"{filename}.{self.base_seq}{BASE_SUFFIX}{suffix}", self.base_seq,
                            TYPE_BASE)
        return self.base.name

    def new_incr(self, filename: str) -> str:
        self.incr_seq += 1
        info = AofInfo(f"{filename}.{self.incr_seq}{INCR_SUFFIX}{AOF_SUFFIX}", self.incr_seq,
                       TYPE_INCR)
        self.incr.append(info)
        return info.name

    def last_incr(self, filename: str) -> str:
        return self.incr[-1].name if self.incr else self.new_incr(filename)

    def incr_to_history(self, keep_last: bool) -> None:
        """markRewrittenIncrAofAsHistory: the incr files the new base covers become history."""
        keep = self.incr[-1:] if keep_last else []
        done = self.incr[:-1] if keep_last else self.incr
        for info in reversed(done):
            info.type = TYPE_HIST
            self.history.insert(0, info)
        self.incr = keep


def _atoll(b: bytes) -> int:
    """C atoll: leading digits (with a sign), 0 when there are none."""
    s = b.strip()
    n = 0
    sign = 1
    i = 0
    if s[:1] in (b"-", b"+"):
        sign = -1 if s[:1] == b"-" else 1
        i = 1
    while i < len(s) and 48 <= s[i] <= 57:
        n = n * 10 + s[i] - 48
        i += 1
    return sign * n


def manifest_name(filename: str) -> str:
    return filename + MANIFEST_SUFFIX


def temp_incr_name(filename: str) -> str:
    return f"{TEMP_PREFIX}{filename}{INCR_SUFFIX}"


def write_manifest(dirpath: str, filename: str, manifest: Manifest) -> None:
    """Write to a temp file, fsync, rename over the manifest, fsync the directory."""
    final = os.path.join(dirpath, manifest_name(filename))
    tmp = os.path.join(dirpath, TEMP_PREFIX + manifest_name(filename))
    data = manifest.render().encode("utf-8", "surrogateescape")
    fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    fsync_dir(dirpath)


def read_manifest(dirpath: str, filename: str) -> Manifest:
    """The manifest on disk; an empty one when the directory or the file does not exist."""
    path = os.path.join(dirpath, manifest_name(filename))
    try:
        with open(path, "rb") as f:
            text = f.read()
    except FileNotFoundError:
        return Manifest()
    except OSError as e:
        raise AofError(f"Fatal error: can't open the AOF manifest file {path} for reading: "
                       f"{e.strerror}") from None
    return Manifest.parse(text)
