"""check-rdb: what ``trioredis check-rdb`` prints about a file (redis-check-rdb's report).

It walks the file with :func:`~.rdb_reader.parse` (module values skipped, not refused) and
counts keys, expiries, types and encodings per database, or says where the file is broken.
"""

from __future__ import annotations

import time

from .rdb_format import ENCODING_NAMES, KIND, Limits, RDBError
from .rdb_load import _show
from .rdb_reader import _Ctx, parse


def check(data, now_ms: int | None = None) -> tuple[bool, list[str]]:
    """What ``trioredis check-rdb`` prints: the file's contents, or where it is broken."""
    now = now_ms or int(time.time() * 1000)
    lines: list[str] = []
    per_db: dict[int, dict[str, int]] = {}
    encodings: dict[str, int] = {}
    keys = expires = expired = empty = functions = modules_aux = 0
    ctx = _Ctx(Limits(), now, False)
    r_pos = 0
    try:
        for ev in parse(data, ctx=ctx, skip_modules=True):
            kind = ev[0]
            r_pos = ctx.reader.pos
            if kind == "version":
                lines.append(f"[offset 0] Checking RDB file, version {ev[1]}")
            elif kind == "aux":
                lines.append(f"[offset {r_pos}] AUX FIELD {_show(ev[1])} = '{_show(ev[2])}'")
            elif kind == "selectdb":
                lines.append(f"[offset {r_pos}] Selecting DB ID {ev[1]}")
            elif kind == "resizedb":
                lines.append(f"[offset {r_pos}] RESIZEDB keys={ev[1]} expires={ev[2]}")
            elif kind == "function":
                functions += 1
            elif kind == "module_aux":
                modules_aux += 1
            elif kind == "key":
                _, dbid, key, value, when, rtype = ev
                keys += 1
                if value is None:
                    empty += 1
                if when is not None:
                    expires += 1
                    if when < now:
                        expired += 1
                counts = per_db.setdefault(dbid, {})
                k = KIND.get(rtype, "?")
                counts[k] = counts.get(k, 0) + 1
                enc = ENCODING_NAMES.get(rtype, str(rtype))
                encodings[enc] = encodings.get(enc, 0) + 1
            elif kind == "eof":
                state = {"ok": "Checksum OK", "disabled": "RDB file was saved with checksum "
                         "disabled: no check performed.", "absent": "No checksum (version < 5)",
                         "unchecked": "Checksum not checked"}[ev[1]]
                lines.append(f"[offset {r_pos}] {state}")
                lines.append(f"[offset {r_pos}] \\o/ RDB looks OK! \\o/")
    except RDBError as e:
        lines.append("--- RDB ERROR DETECTED ---")
        at = e.offset if e.offset is not None else r_pos
        lines.append(f"[offset {at}] {e.reason}")
        if e.key is not None:
            lines.append(f"[additional info] Reading key '{_show(e.key)}'")
        if e.rtype is not None:
            lines.append(f"[additional info] Reading type {e.rtype} "
                         f"({ENCODING_NAMES.get(e.rtype, 'unknown')})")
        lines.append(f"[info] {keys} keys read")
        return False, lines
    lines.append(f"[info] {keys} keys read")
    lines.append(f"[info] {expires} expires")
    lines.append(f"[info] {expired} already expired")
    if empty:
        lines.append(f"[info] {empty} empty keys (skipped when loading)")
    if functions:
        lines.append(f"[info] {functions} function libraries")
    if modules_aux:
        lines.append(f"[info] {modules_aux} module aux fields (refused when loading)")
    for dbid in sorted(per_db):
        kinds = ", ".join(f"{k}={n}" for k, n in sorted(per_db[dbid].items()))
        lines.append(f"[info] db{dbid}: keys={sum(per_db[dbid].values())} ({kinds})")
    if encodings:
        lines.append("[info] encodings: " + ", ".join(
            f"{k}={n}" for k, n in sorted(encodings.items())))
    return True, lines
