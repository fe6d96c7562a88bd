"""Busy scripts on a running server: -BUSY for everyone else (connected before or during the
script), SCRIPT KILL / FUNCTION KILL, -UNKILLABLE after a write, SHUTDOWN NOSAVE."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.helpers import ThreadedServer

BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
BUSY_F = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE."


@pytest.fixture
def srv():
    with ThreadedServer(busy_reply_threshold=50) as s:
        yield s


def client(srv, **kw):
    return redis.Redis(port=srv.port, socket_timeout=10, **kw)


class Background:
    """A command on its own connection and thread (it blocks while its script runs)."""

    def __init__(self, srv, *args):
        self.result = None
        self.conn = client(srv)
        self.thread = threading.Thread(target=self._run, args=args, daemon=True)
        self.thread.start()

    def _run(self, *args):
        try:
            self.result = self.conn.execute_command(*args)
        except Exception as e:  # noqa: BLE001 - the test looks at what the client got
            self.result = e

    def join(self):
        self.thread.join(10)
        assert not self.thread.is_alive()
        return self.result


def wait_busy(c, text=BUSY, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            c.ping()
        except redis.exceptions.ResponseError as e:
            assert str(e) == text
            return
        assert time.monotonic() < deadline, "the script never became busy"
        time.sleep(0.01)


def test_busy_answers_old_and_new_clients_then_script_kill(srv):
    other = client(srv)
    other.ping()
    bg = Background(srv, "EVAL", "local i = 0 while true do i = i + 1 end", 0)
    wait_busy(other)
    with pytest.raises(redis.exceptions.ResponseError, match="^" + BUSY.replace(".", r"\.")):
        other.get("x")
    late = client(srv)  # connects while the script runs: accepted and answered at once
    with pytest.raises(redis.exceptions.ResponseError) as e:
        late.ping()
    assert str(e.value) == BUSY
    assert late.execute_command("SCRIPT", "KILL") == b"OK"
    r = bg.join()
    assert isinstance(r, redis.exceptions.ResponseError)
    assert str(r).startswith("Script killed by user with SCRIPT KILL... script: ")
    assert other.ping() is True
    assert late.ping() is True
    assert bg.conn.ping() is True  # the script's own link is still usable
    with pytest.raises(redis.exceptions.ResponseError, match="NOTBUSY"):
        other.execute_command("SCRIPT", "KILL")


def test_pcall_cannot_swallow_a_kill(srv):
    other = client(srv)
    bg = Background(srv, "EVAL", "while true do pcall(function() while true do end end) end", 0)
    wait_busy(other)
    assert other.execute_command("SCRIPT", "KILL") == b"OK"
    assert "Script killed" in str(bg.join())
    assert other.ping() is True


def test_pipeline_sent_during_a_busy_script_is_answered_in_order(srv):
    other = client(srv)
    bg = Background(srv, "EVAL", "while true do end", 0)
    wait_busy(other)
    p = other.pipeline(transaction=False)
    p.ping()
    p.execute_command("SCRIPT", "KILL")
    out = p.execute(raise_on_error=False)
    assert str(out[0]) == BUSY and out[1] == b"OK"
    bg.join()


def test_unkillable_after_a_write_and_shutdown_nosave(srv):
    other = client(srv)
    bg = Background(srv, "EVAL", "redis.call('set', 'x', 'y') while true do end", 0)
    wait_busy(other)
    with pytest.raises(redis.exceptions.ResponseError) as e:
        other.execute_command("SCRIPT", "KILL")
    assert str(e.value).startswith("UNKILLABLE Sorry the script already executed write commands")
    with pytest.raises(redis.exceptions.ResponseError) as e:
        other.execute_command("SHUTDOWN")  # only NOSAVE while busy
    assert str(e.value) == BUSY
    try:
        other.execute_command("SHUTDOWN", "NOSAVE")
    except redis.exceptions.ConnectionError:
        pass
    srv.thread.join(10)
    assert not srv.thread.is_alive(), "SHUTDOWN NOSAVE did not end the server"
    assert isinstance(bg.join(), (redis.exceptions.ConnectionError, redis.exceptions.ResponseError))


def test_function_kill(srv):
    other = client(srv)
    other.execute_command(
        "FUNCTION", "LOAD",
        "#!lua name=spin\nredis.register_function('spin', function() while true do end end)")
    bg = Background(srv, "FCALL", "spin", 0)
    wait_busy(other, BUSY_F)
    with pytest.raises(redis.exceptions.ResponseError) as e:
        other.execute_command("SCRIPT", "KILL")
    assert str(e.value) == BUSY_F
    assert other.execute_command("FUNCTION", "KILL") == b"OK"
    assert str(bg.join()).startswith(
        "Script killed by user with SCRIPT KILL... script: spin, on @user_function:2.")  # as Redis
    assert other.ping() is True


def test_below_the_threshold_nobody_is_refused():
    with ThreadedServer(busy_reply_threshold=5000) as s:
        c = client(s)
        bg = Background(s, "EVAL", "local t = redis.call('time')[1] + 1 "
                        "while tonumber(redis.call('time')[1]) < t do end return 1", 0)
        assert bg.join() == 1
        assert c.ping() is True


def _read_line(sock, deadline) -> bytes:
    buf = b""
    while not buf.endswith(b"\r\n"):
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        chunk = sock.recv(4096)
        assert chunk, "connection closed"
        buf += chunk
    return buf


def _qbuf_of(other, name: bytes) -> int:
    for line in other.execute_command("CLIENT", "LIST").splitlines():
        if b" name=" + name + b" " in line:
            return int(line.split(b" qbuf=")[1].split(b" ")[0])
    raise AssertionError("client not found")


def test_partial_requests_are_answered_busy_once_complete(srv):
    """As Redis (processEventsWhileBlocked reads into the query buffer): a request begun
    before the script and finished during it, one sent in pieces during it, and an inline
    one all get -BUSY while the script still runs."""
    import socket

    other = client(srv)
    s = socket.create_connection(("127.0.0.1", srv.port))
    try:
        deadline = time.monotonic() + 10
        s.sendall(b"CLIENT SETNAME half\r\n")
        assert _read_line(s, deadline) == b"+OK\r\n"
        s.sendall(b"*2\r\n$3\r\nGET\r\n$1")  # its loop reads it and waits for the rest
        while _qbuf_of(other, b"half") == 0:
            assert time.monotonic() < deadline, "the partial request never reached the server"
            time.sleep(0.01)
        bg = Background(srv, "EVAL", "while true do end", 0)
        wait_busy(other)
        busy = b"-" + BUSY.encode() + b"\r\n"
        s.sendall(b"\r\nx\r\n")
        assert _read_line(s, deadline) == busy
        s.sendall(b"*1\r\n$4\r\nPI")
        time.sleep(0.05)  # the hook runs meanwhile: the half request must stay pending
        s.sendall(b"NG\r\n")
        assert _read_line(s, deadline) == busy
        s.sendall(b"PING\r\n")
        assert _read_line(s, deadline) == busy
        assert bg.thread.is_alive()  # all of it while the script still ran
        assert other.execute_command("SCRIPT", "KILL") == b"OK"
        bg.join()
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert _read_line(s, deadline) == b"+PONG\r\n"
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n")  # begun after: the loop finishes it
        s.sendall(b"v\r\n")
        assert _read_line(s, deadline) == b"+OK\r\n"
    finally:
        s.close()


def test_keys_made_ready_by_the_script_wait_for_its_end():
    """A command allowed during BUSY (HELLO) must not serve a client blocked on a key the
    script pushed to: the BLPOP gets what the whole script left (unit/scripting 'Timedout
    scripts and unblocked command')."""
    with ThreadedServer(busy_reply_threshold=10, enable_debug_command="yes") as srv:
        other = client(srv)
        other.execute_command("DEBUG", "SET-DISABLE-DENY-SCRIPTS", "1")
        blocked = Background(srv, "BLPOP", "x", "0")
        deadline = time.monotonic() + 10
        while other.info("clients")["blocked_clients"] != 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        script = Background(srv, "EVAL", """
            redis.call('lpush', KEYS[1], 'y')
            local clients
            while true do
                clients = redis.call('client', 'list')
                if string.find(clients, 'abortscript') ~= nil then break end
            end
            redis.call('lpush', KEYS[1], 'z')
            return 'done'""", 1, "x")
        wait_busy(other)
        third = client(srv)
        third.execute_command("HELLO", "2", "SETNAME", "abortscript")
        assert script.join() == b"done"
        assert list(blocked.join()) == [b"x", b"z"]
        assert other.lrange("x", 0, -1) == [b"y"]


def test_a_client_that_hangs_up_is_freed_during_the_script(srv):
    """processEventsWhileBlocked frees clients that closed (a replica that left stops counting
    for connected_slaves / min-replicas while the script runs): the script sees
    connected_clients drop."""
    other = client(srv)
    gone = client(srv)
    gone.ping()
    before = other.info("clients")["connected_clients"]
    bg = Background(srv, "EVAL", """
        for i = 1, 300000 do
            local info = redis.call('info', 'clients')
            if string.find(info, 'connected_clients:' .. ARGV[1] .. '\\r\\n', 1, true) then
                return 'freed'
            end
        end
        return redis.call('info', 'clients')""", 0, str(before + 1 - 1))  # + the script's link
    wait_busy(other)
    gone.connection_pool.disconnect()
    assert bg.join() == b"freed"
    assert other.info("clients")["connected_clients"] == before
