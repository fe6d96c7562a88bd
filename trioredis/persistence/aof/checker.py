"""``trioredis check-aof``: redis-check-aof's checks (and ``--fix``) on a manifest, an AOF
directory or one file. Reads files only; never touches a running server.
"""

from __future__ import annotations

import os

from .common import MANIFEST_SUFFIX, TEMP_PREFIX, AofError
from .manifest import Manifest
from .reader import OK, CommandReader


def check(path: str, fix: bool = False) -> tuple[int, list[str]]:
    """redis-check-aof: is ``path`` (a manifest, an AOF directory, or one file) loadable?

    Returns the exit code (0 valid or fixed, 1 not) and the lines to print: where a truncated
    or corrupt command starts, and with ``fix`` the last file truncated to its last valid
    command (a damaged file before the last one cannot be fixed that way).
    """
    out: list[str] = []
    if os.path.isdir(path):
        names = sorted(n for n in os.listdir(path) if n.endswith(MANIFEST_SUFFIX)
                       and not n.startswith(TEMP_PREFIX))
        if not names:
            return 1, [f"No AOF manifest found in directory {path}"]
        path = os.path.join(path, names[0])
    if not os.path.exists(path):
        return 1, [f"Cannot open file {path}: No such file or directory"]
    if not path.endswith(MANIFEST_SUFFIX):
        with open(path, "rb") as f:
            head = f.read(5)
        out.append("Start checking RDB-preamble AOF" if head == b"REDIS"
                   else "Start checking Old-Style AOF")
        code = _check_file(path, path, fix, True, out, "AOF")
        return code, out
    out.append("Start checking Multi Part AOF")
    dirpath = os.path.dirname(path) or "."
    try:
        with open(path, "rb") as f:
            manifest = Manifest.parse(f.read())
    except (OSError, AofError) as e:
        return 1, out + [f"Invalid AOF manifest {path}: {e}"]
    files = ([manifest.base] if manifest.base else []) + manifest.incr
    if not files:
        return 1, out + ["The AOF manifest lists no base or incr file"]
    for n, info in enumerate(files, 1):
        kind = "BASE" if info is manifest.base else "INCR"
        if n == 1 and kind == "BASE":
            out.append("Start to check BASE AOF.")
        elif kind == "INCR" and (n == 1 or files[n - 2] is manifest.base):
            out.append("Start to check INCR files.")
        code = _check_file(os.path.join(dirpath, info.name), info.name, fix, n == len(files),
                           out, f"{kind} AOF")
        if code:
            return code, out
    out.append("All AOF files and manifest are valid")
    return 0, out


def _check_file(path: str, name: str, fix: bool, last: bool, out: list, kind: str) -> int:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        out.append(f"Cannot open file {name}: {e.strerror}")
        return 1
    if not data:
        out.append(f"{kind} {name} is empty")
        return 0
    pos = 0
    if data.startswith(b"REDIS"):
        from .. import rdb

        ctx = rdb._Ctx(rdb.Limits(), 0, False)
        try:
            for _ in rdb.parse(data, ctx=ctx, skip_modules=True):
                pass
        except rdb.RDBError as e:
            out.append(f"RDB preamble of AOF file is not sane, aborting: {e}")
            return 1
        pos = ctx.reader.pos
        out.append("RDB preamble is OK, proceeding with AOF tail...")
    reader = CommandReader(data, pos, strict=True)
    ok_up_to = pos
    multi = False
    for argv, end in reader:
        name0 = argv[0].lower()
        if name0 == b"multi":
            multi = True
        elif name0 == b"exec":
            multi = False
        if not multi:
            ok_up_to = end
    if reader.status != OK:
        out.append(f"0x{reader.error_pos:16x}: {reader.error}")
    elif multi:
        out.append(f"0x{len(data):16x}: Reached EOF before reading EXEC for MULTI")
    size = len(data)
    diff = size - ok_up_to
    line = data.count(b"\n", 0, ok_up_to) + 1
    out.append(f"AOF analyzed: filename={name}, size={size}, ok_up_to={ok_up_to}, "
               f"ok_up_to_line={line}, diff={diff}")
    if not diff:
        out.append(f"{kind} {name} is valid")
        return 0
    if not fix:
        out.append(f"{kind} {name} is not valid. Use the --fix option to try fixing it.")
        return 1
    if not last:
        out.append(f"Failed to truncate AOF {name} because it is not the last file")
        return 1
    out.append(f"This will shrink the AOF {name} from {size} bytes, with {diff} bytes, to "
               f"{ok_up_to} bytes")
    try:
        os.truncate(path, ok_up_to)
    except OSError as e:
        out.append(f"Failed to truncate AOF {name}: {e.strerror}")
        return 1
    out.append(f"Successfully truncated AOF {name}")
    return 0
