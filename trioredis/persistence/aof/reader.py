"""Reading the RESP commands of an AOF file (``CommandReader``), as Redis's loader and
redis-check-aof read them; used by loading (``loader.py``) and ``trioredis check-aof``
(``checker.py``).
"""

from __future__ import annotations

OK, TRUNCATED, FORMAT = "ok", "truncated", "format"


class CommandReader:
    """Walks the RESP commands of an AOF as Redis's loader reads them.

    Iterating yields ``(argv, end)``; afterwards ``status`` is OK (clean end), TRUNCATED (the
    data ended inside a command, at ``error_pos``) or FORMAT (not a command where one should
    start), with ``error`` saying what was expected in redis-check-aof's words. ``strict``
    also checks the CRLF after each length and payload and the MULTI/EXEC nesting, as
    redis-check-aof does; the loader, like Redis's, does not.
    """

    def __init__(self, data: bytes, pos: int = 0, strict: bool = False):
        self.data = data
        self.pos = pos
        self.strict = strict
        self.status = OK
        self.error = ""
        self.error_pos = -1

    def _fail(self, status: str, pos: int, error: str) -> None:
        self.status = status
        self.error_pos = pos
        self.error = error

    def __iter__(self):
        data = self.data
        n = len(data)
        pos = self.pos
        strict = self.strict
        find = data.find
        multi = 0
        while pos < n:
            start = pos
            nl = find(b"\n", pos)
            line_end = n if nl < 0 else nl + 1
            first = data[pos]
            if first == 35:  # '#': an annotation (#TS:...)
                pos = line_end
                continue
            if first != 42:  # '*'
                return self._fail(FORMAT, pos, f"Expected prefix '*', got: '{chr(first)}'")
            if nl < 0:
                return self._fail(TRUNCATED, pos, "Expected \\r\\n, got end of file")
            if strict and data[nl - 1] != 13:
                return self._fail(FORMAT, pos, "Expected \\r\\n")
            argc = _atoi(data, pos + 1, nl)
            if argc < 1:
                return self._fail(FORMAT, pos, f"Invalid argument count {argc}")
            pos = line_end
            argv = []
            for _ in range(argc):
                if pos >= n:
                    return self._fail(TRUNCATED, pos, "Unexpected end of file")
                if data[pos] != 36:  # '$'
                    return self._fail(FORMAT, pos,
                                      f"Expected prefix '$', got: '{chr(data[pos])}'")
                nl = find(b"\n", pos)
                if nl < 0:
                    return self._fail(TRUNCATED, pos, "Expected \\r\\n, got end of file")
                if strict and data[nl - 1] != 13:
                    return self._fail(FORMAT, pos, "Expected \\r\\n")
                length = _atoi(data, pos + 1, nl)
                if length < 0:
                    return self._fail(FORMAT, pos, f"Invalid bulk length {length}")
                body = nl + 1
                end = body + length
                if end + 2 > n:
                    return self._fail(
                        TRUNCATED, body,
                        f"Expected to read {length + 2} bytes, got {max(n - body, 0)} bytes",
                    )
                if strict and data[end:end + 2] != b"\r\n":
                    return self._fail(FORMAT, end, f"Expected \\r\\n, got: {data[end:end + 2].hex()}")
                argv.append(data[body:end])
                pos = end + 2
            if strict:
                name = argv[0].lower()
                if name == b"multi":
                    if multi:
                        return self._fail(FORMAT, start, "Unexpected MULTI")
                    multi = 1
                elif name == b"exec":
                    if not multi:
                        return self._fail(FORMAT, start, "Unexpected EXEC")
                    multi = 0
            self.pos = pos
            yield argv, pos
        self.pos = pos


def _atoi(data: bytes, start: int, stop: int) -> int:
    """strtol on data[start:stop]: optional sign then digits; -1 when there are none."""
    s = data[start:stop].strip()
    try:
        return int(s)
    except ValueError:
        # Like strtol, read the leading digits only.
        i = 1 if s[:1] in (b"-", b"+") else 0
        j = i
        while j < len(s) and 48 <= s[j] <= 57:
            j += 1
        if j == i:
            return -1
        return int(s[:j])
