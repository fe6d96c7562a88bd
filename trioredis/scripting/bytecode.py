"""Turn the tail calls of a compiled Lua 5.1 chunk into plain calls (``untail``).

In Redis, ``redis.call`` and the sandbox's builtins are C functions: ``return redis.call(...)``
keeps the script's frame, so an error names the script's line (``on @user_script:2.``) and
``error(msg, 2)`` in a builtin points at the script. Ours are partly Lua closures (the sandbox
must wrap them: see sandbox.lua), and a Lua tail call to a Lua closure replaces the caller's
frame. So the user's chunk is compiled, dumped, and every ``TAILCALL A B 0`` rewritten as
``CALL A B 0``: the Lua 5.1 compiler always follows a tail call with ``RETURN A 0``, which then
returns the call's results, so the program means the same with its frames kept. (The cost: a
script that loops by tail recursion is limited to Lua's 20 000 nested calls.)

The dump format is Lua 5.1's (lundump.c) for the host's sizes, which the header states.
"""

from __future__ import annotations

import struct

OP_CALL = 28
OP_TAILCALL = 29
_HEADER_LEN = 12


class _Reader:
    def __init__(self, data: bytearray, int_size: int, size_t_size: int, num_size: int,
                 little: bool):
        self.data = data
        self.pos = _HEADER_LEN
        end = "<" if little else ">"
        self.int_fmt = end + {4: "i", 8: "q"}[int_size]
        self.size_t_fmt = end + {4: "I", 8: "Q"}[size_t_size]
        self.inst_fmt = end + "I"
        self.int_size = int_size
        self.size_t_size = size_t_size
        self.num_size = num_size

    def int(self) -> int:
        v = struct.unpack_from(self.int_fmt, self.data, self.pos)[0]
        self.pos += self.int_size
        return v

    def string(self) -> None:
        n = struct.unpack_from(self.size_t_fmt, self.data, self.pos)[0]
        self.pos += self.size_t_size + n

    def function(self) -> None:
        self.string()  # source
        self.pos += 2 * self.int_size + 4  # linedefined, lastlinedefined, 4 bytes of sizes
        n = self.int()
        for _ in range(n):
            inst = struct.unpack_from(self.inst_fmt, self.data, self.pos)[0]
            if inst & 0x3F == OP_TAILCALL:
                struct.pack_into(self.inst_fmt, self.data, self.pos, (inst & ~0x3F) | OP_CALL)
            self.pos += 4
        for _ in range(self.int()):  # constants
            kind = self.data[self.pos]
            self.pos += 1
            if kind == 1:
                self.pos += 1
            elif kind == 3:
                self.pos += self.num_size
            elif kind == 4:
                self.string()
            elif kind != 0:
                raise ValueError(f"unknown constant type {kind}")
        for _ in range(self.int()):  # nested functions
            self.function()
        n = self.int()  # line info
        self.pos += n * self.int_size
        for _ in range(self.int()):  # local variables
            self.string()
            self.pos += 2 * self.int_size
        for _ in range(self.int()):  # upvalue names
            self.string()


def untail(dump: bytes) -> bytes:
    """``dump`` (string.dump of a chunk) with its tail calls made plain calls."""
    if dump[:5] != b"\x1bLua\x51" or len(dump) < _HEADER_LEN:
        raise ValueError("not a Lua 5.1 chunk")
    little = dump[6] == 1
    int_size, size_t_size, inst_size, num_size = dump[7], dump[8], dump[9], dump[10]
    if inst_size != 4:
        raise ValueError("unexpected instruction size")
    data = bytearray(dump)
    r = _Reader(data, int_size, size_t_size, num_size, little)
    r.function()
    if r.pos != len(data):
        raise ValueError("trailing bytes in a Lua chunk")
    return bytes(data)
