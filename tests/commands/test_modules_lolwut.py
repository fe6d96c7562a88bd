"""MODULE (no module can be loaded; Redis's replies) and LOLWUT (Redis 7.0's art by version)."""

from __future__ import annotations

import pytest

from tests.helpers import RawClient, RealRedis, ThreadedServer, have_real_redis
from trioredis.commands.lolwut_art import Canvas, braille
from trioredis.config import Config
from trioredis.core import ManualClock, Server
from trioredis.protocol.replies import ErrorReply, Verbatim

real = pytest.mark.skipif(not have_real_redis(), reason="redis-server not installed")


def _unit(**cfg):
    config = Config()
    for k, v in cfg.items():
        config.set(k.replace("_", "-"), v, startup=True)
    srv = Server(config, clock=ManualClock())
    return srv, srv.new_client("127.0.0.1:5000", "127.0.0.1:6379", 9)


def run(srv, c, *args):
    return srv.execute(c, [a if isinstance(a, bytes) else str(a).encode() for a in args])


def test_module_list_and_refusals(tmp_path):
    srv, c = _unit()
    assert run(srv, c, "MODULE", "LIST") == []
    assert run(srv, c, "MODULE", "LOAD", "/x.so").message.startswith(
        "ERR MODULE command not allowed.")
    srv, c = _unit(enable_module_command="yes")
    lines = []
    srv.log.warning = lines.append
    assert run(srv, c, "MODULE", "LOAD", str(tmp_path / "nope.so")) == ErrorReply(
        "ERR Error loading the extension. Please check the server logs.")
    assert "cannot open shared object file: No such file or directory" in lines[-1]
    lib = tmp_path / "lib.so"
    lib.write_bytes(b"\x7fELF")
    lib.chmod(0o755)
    assert run(srv, c, "MODULE", "LOADEX", str(lib), "CONFIG", "a", "b", "ARGS", "x") == (
        ErrorReply("ERR Error loading the extension. Please check the server logs."))
    assert "cannot load native Redis modules" in lines[-1]
    assert run(srv, c, "MODULE", "UNLOAD", "foo") == ErrorReply(
        "ERR Error unloading module: no such module with that name")


MODULE_SCRIPT = [
    ("MODULE", "LIST"), ("MODULE", "HELP"), ("MODULE",), ("MODULE", "FOO"),
    ("MODULE", "LIST", "x"), ("MODULE", "LOAD"), ("MODULE", "LOAD", "/nonexistent/x.so"),
    ("MODULE", "LOADEX", "/nonexistent/x.so", "CONFIG", "a"),
    ("MODULE", "LOADEX", "/nonexistent/x.so", "foo"), ("MODULE", "UNLOAD", "foo"),
    ("MODULE", "UNLOAD"),
    # (one by one: Redis lists a container's subcommands in its dict's order)
    ("COMMAND", "INFO", "module|help", "module|list", "module|load", "module|loadex",
     "module|unload", "lolwut"),
    ("COMMAND", "DOCS", "module|help", "module|list", "module|load", "module|loadex",
     "module|unload", "lolwut"), ("LOLWUT",), ("LOLWUT", "VERSION", "7"),
    ("LOLWUT", "VERSION", "x"), ("LOLWUT", "VERSION"), ("LOLWUT", "foo"),
    ("LOLWUT", "VERSION", "-1"), ("LOLWUT", "VERSION", "5", "x"),
    ("LOLWUT", "VERSION", "6", "1", "x"),
]


@real
@pytest.mark.parametrize("enabled", ["no", "yes"])
def test_differential_module_and_lolwut(enabled):
    rr = RealRedis("--enable-module-command", enabled)
    try:
        with ThreadedServer(enable_module_command=enabled) as s:
            a, b = RawClient(rr.port), RawClient(s.port)
            try:
                for resp in ("2", "3"):
                    a.command("HELLO", resp)
                    b.command("HELLO", resp)
                    for cmd in MODULE_SCRIPT:
                        assert b.command(*cmd) == a.command(*cmd), cmd
            finally:
                a.close()
                b.close()
    finally:
        rr.stop()


def test_lolwut_versions_draw_as_redis():
    srv, c = _unit()
    assert run(srv, c, "LOLWUT") == Verbatim(b"Redis ver. 7.0.15\n")
    five = run(srv, c, "LOLWUT", "VERSION", "5").decode()
    art, footer = five.split("\n\nGeorg Nees - schotter, plotter on paper, 1968. ")
    assert footer == "Redis ver. 7.0.15\n"
    rows = art.split("\n")
    # 66 columns; 8x12 squares of side 128/8 = 16 pixels plus 2+2 padding: 196 / 4 rows.
    assert len(rows) == 49 and {len(r) for r in rows} == {66}
    assert all(0x2800 <= ord(ch) <= 0x28FF for r in rows for ch in r)
    assert rows[0][1] != "\u2800"  # the first row of squares is straight, at the top
    six = run(srv, c, "LOLWUT", "VERSION", "6", "10", "4").decode()
    art, footer = six.split("\nDedicated to the 8 bit game developers of past and present.\n")
    assert footer == "Original 8 bit image from Plaguemon by hikikomori. Redis ver. 7.0.15\n"
    rows = art.split("\n")
    assert len(rows) == 4 and all(r.count("\033[0m") == 10 for r in rows)
    assert run(srv, c, "LOLWUT", "VERSION", "5.9") == ErrorReply(
        "ERR value is not an integer or out of range")
    tiny = run(srv, c, "LOLWUT", "VERSION", "4", "0", "0", "0")  # 4.0.0: the default again
    assert tiny == Verbatim(b"Redis ver. 7.0.15\n")
    clamped = run(srv, c, "LOLWUT", "VERSION", "5", "-5", "0", "0").decode()
    assert clamped.endswith("1968. Redis ver. 7.0.15\n")


def test_braille_cells():
    canvas = Canvas(4, 4)
    for x, y in ((0, 0), (1, 3), (2, 1)):
        canvas.put(x, y, 1)
    canvas.put(99, 99, 1)  # outside: ignored
    assert braille(canvas) == chr(0x2800 | 1 | 1 << 7) + chr(0x2800 | 1 << 1) + "\n"
