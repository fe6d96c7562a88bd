"""tls-port: redis-cli --tls, redis-py with ssl=True and a client certificate, refusals with
Redis's log lines, tls-auth-clients, protocols, ciphers, and the session cache."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import time

import pytest
import redis

from trioredis import tls_native
from trioredis.config import Config
from trioredis.errors import StartupError
from trioredis.tls import build_contexts

from .conftest import LoggingServer, tls_port

pytestmark = pytest.mark.skipif(subprocess.run(["which", "redis-cli"], capture_output=True)
                                .returncode != 0, reason="redis-cli not installed")


def cli(port: int, certs, *args: str, tls_args=None) -> subprocess.CompletedProcess:
    return subprocess.run(["redis-cli", "-p", str(port), *(tls_args if tls_args is not None
                                                          else certs.cli_args()), *args],
                          capture_output=True, text=True, timeout=20)


def test_redis_cli_over_tls(tls_server, certs):
    assert cli(tls_server.tls_port, certs, "PING").stdout.strip() == "PONG"
    assert cli(tls_server.tls_port, certs, "SET", "k", "v").stdout.strip() == "OK"
    assert cli(tls_server.tls_port, certs, "GET", "k").stdout.strip() == "v"
    # the plain port serves the same data
    assert redis.Redis(port=tls_server.port).get("k") == b"v"


def test_redis_py_with_client_certificate(tls_server, certs):
    r = certs.redis_py(tls_server.tls_port)
    assert r.ping()
    big = b"x" * (3 * 1024 * 1024 + 7)  # several TLS records and socket buffers each way
    r.set("big", big)
    assert r.get("big") == big
    pipe = r.pipeline(transaction=False)
    for _ in range(2000):
        pipe.incr("n")
    assert pipe.execute()[-1] == 2000
    info = r.client_info()
    assert info["laddr"].endswith(f":{tls_server.tls_port}")
    assert r.execute_command("HELLO", 3)[b"proto"] == 3
    r.close()


def test_pubsub_and_blocking_over_tls(tls_server, certs):
    """Output made by other clients (the flusher's path) and a blocked client served."""
    sub = certs.redis_py(tls_server.tls_port)
    p = sub.pubsub()
    p.subscribe("ch")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    pub = certs.redis_py(tls_server.tls_port)
    assert pub.publish("ch", "hello") == 1
    msg = p.get_message(timeout=5)
    assert msg["data"] == b"hello"
    blocked = certs.redis_py(tls_server.tls_port)
    out = {}
    t = threading.Thread(target=lambda: out.setdefault("v", blocked.blpop("q", 10)))
    t.start()
    deadline = time.monotonic() + 10
    while pub.client_list(_type="normal") and time.monotonic() < deadline:
        if any(c.get("cmd") == "blpop" for c in pub.client_list()):
            break
        time.sleep(0.02)
    pub.rpush("q", "item")
    t.join(10)
    assert out["v"] == (b"q", b"item")


def test_blocked_tls_client_that_hangs_up_is_freed(tls_server, certs):
    r = certs.redis_py(tls_server.tls_port)
    other = redis.Redis(port=tls_server.port)
    ctx = ssl.create_default_context(cafile=certs.ca)
    ctx.check_hostname = False
    ctx.load_cert_chain(certs.client_cert, certs.client_key)
    raw = ctx.wrap_socket(socket.create_connection(("127.0.0.1", tls_server.tls_port)))
    raw.sendall(b"*3\r\n$5\r\nBLPOP\r\n$2\r\nqq\r\n$1\r\n0\r\n")
    deadline = time.monotonic() + 10
    while not any(c.get("cmd") == "blpop" for c in other.client_list()):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    raw.close()
    while any(c.get("cmd") == "blpop" for c in other.client_list()):
        assert time.monotonic() < deadline, "the hung-up blocked client was not freed"
        time.sleep(0.02)
    r.close()


def test_bad_certificate_refused_with_redis_log_line(tls_server, certs):
    res = cli(tls_server.tls_port, certs, "PING",
              tls_args=["--tls", "--cacert", certs.ca, "--cert", certs.bad_cert,
                        "--key", certs.bad_key])
    assert "PONG" not in res.stdout
    tls_server.wait_log("# Error accepting a client connection: "
                        "error:0A000086:SSL routines::certificate verify failed")
    res = cli(tls_server.tls_port, certs, "PING", tls_args=["--tls", "--cacert", certs.ca])
    assert "PONG" not in res.stdout
    tls_server.wait_log("# Error accepting a client connection: "
                        "error:0A0000C7:SSL routines::peer did not return a certificate")
    res = cli(tls_server.tls_port, certs, "PING", tls_args=[])  # plain text on the TLS port
    assert "PONG" not in res.stdout
    tls_server.wait_log("# Error accepting a client connection: "
                        "error:0A00010B:SSL routines::wrong version number")
    # the server goes on serving
    assert cli(tls_server.tls_port, certs, "PING").stdout.strip() == "PONG"


def test_same_log_lines_as_real_redis(real_tls_redis, certs):
    """The lines asserted above are the ones Redis 7.0 writes."""
    cli(real_tls_redis.tls_port, certs, "PING",
        tls_args=["--tls", "--cacert", certs.ca, "--cert", certs.bad_cert, "--key", certs.bad_key])
    cli(real_tls_redis.tls_port, certs, "PING", tls_args=["--tls", "--cacert", certs.ca])
    cli(real_tls_redis.tls_port, certs, "PING", tls_args=[])
    deadline = time.monotonic() + 10
    want = ["certificate verify failed", "peer did not return a certificate",
            "wrong version number"]
    while time.monotonic() < deadline:
        log = real_tls_redis.log_text()
        if all(w in log for w in want):
            break
        time.sleep(0.05)
    log = real_tls_redis.log_text()
    for code, text in (("0A000086", want[0]), ("0A0000C7", want[1]), ("0A00010B", want[2])):
        assert f"# Error accepting a client connection: error:{code}:SSL routines::{text}" in log


@pytest.mark.parametrize("mode", ["no", "optional"])
def test_tls_auth_clients(certs, mode):
    port = tls_port()
    with LoggingServer(tls_port=port, tls_auth_clients=mode, **certs.server_args()):
        # no client certificate: accepted in both modes
        assert cli(port, certs, "PING", tls_args=["--tls", "--cacert", certs.ca]).stdout.strip() == "PONG"
        bad = cli(port, certs, "PING", tls_args=["--tls", "--cacert", certs.ca, "--cert",
                                                 certs.bad_cert, "--key", certs.bad_key])
        # a certificate from an unknown CA: ignored with "no", refused with "optional"
        assert (bad.stdout.strip() == "PONG") == (mode == "no")


def _leaf(e: BaseException) -> BaseException:
    while isinstance(e, BaseExceptionGroup) and len(e.exceptions) == 1:
        e = e.exceptions[0]
    return e


def test_startup_errors_are_redis_lines(certs, tmp_path):
    cases = [
        ({"tls-key-file": certs.key, "tls-ca-cert-file": certs.ca}, "No tls-cert-file configured!"),
        ({"tls-cert-file": certs.cert, "tls-ca-cert-file": certs.ca}, "No tls-key-file configured!"),
        ({"tls-cert-file": certs.cert, "tls-key-file": certs.key},
         "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
         "tls-replication or tls-auth-clients are enabled!"),
        ({**certs.server_args(), "tls-cert-file": str(tmp_path / "missing.crt")},
         f"Failed to load certificate: {tmp_path / 'missing.crt'}: "
         "error:80000002:system library::No such file or directory"),
        ({**certs.server_args(), "tls-key-file": certs.bad_key}, f"Failed to load private key: {certs.bad_key}:"),
        ({**certs.server_args(), "tls-protocols": "TLSv9"},
         "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'."),
        ({**certs.server_args(), "tls-ciphers": "NOPE"}, "Failed to configure ciphers: NOPE"),
    ]
    for args, line in cases:
        s = LoggingServer(tls_port=tls_port(), **args)
        with pytest.raises(BaseException) as info:
            s.start()
        assert _leaf(info.value).__class__ is StartupError
        assert str(_leaf(info.value)) == "Failed to configure TLS. Check logs for more info."
        log = s.log_text()
        s.stop()
        assert line in log, (line, log)
        assert "# Failed to configure TLS. Check logs for more info." in log


def test_config_set_tls_as_real_redis(tls_server, real_tls_redis, certs, tmp_path):
    ours = redis.Redis(port=tls_server.port, decode_responses=True)
    theirs = redis.Redis(port=real_tls_redis.port, decode_responses=True)
    for name, value in [("tls-cert-file", str(tmp_path / "nope.crt")),
                        ("tls-protocols", "TLSv1.4"), ("tls-ciphers", "NOPE"),
                        ("tls-ciphersuites", "NOPE"), ("tls-auth-clients", "maybe"),
                        ("tls-protocols", "TLSv1.2"), ("tls-ciphersuites", "TLS_AES_128_GCM_SHA256"),
                        ("tls-session-caching", "no"), ("tls-session-cache-size", "100")]:
        results = []
        for r in (ours, theirs):
            try:
                r.config_set(name, value)
                results.append(("OK", r.config_get(name)))
            except redis.ResponseError as e:
                results.append(("ERR", str(e)))
        assert results[0] == results[1], (name, value, results)
    # still serving TLS with the last good contexts
    assert cli(tls_server.tls_port, certs, "PING").stdout.strip() == "PONG"


def test_config_set_tls_port(tls_server, certs):
    r = redis.Redis(port=tls_server.port)
    new = tls_port()
    assert r.config_set("tls-port", new)
    assert cli(new, certs, "PING").stdout.strip() == "PONG"
    assert "PONG" not in cli(tls_server.tls_port, certs, "PING").stdout  # the old one closed
    assert r.config_set("tls-port", 0)
    assert "PONG" not in cli(new, certs, "PING").stdout


def _client_ctx(certs, **kw) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(certs.ca)
    ctx.load_cert_chain(certs.client_cert, certs.client_key)
    for k, v in kw.items():
        setattr(ctx, k, v)
    return ctx


def _handshake(port: int, ctx: ssl.SSLContext, session=None):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                        session=session)
    s.sendall(b"PING\r\n")
    assert s.recv(100) == b"+PONG\r\n"
    info = (s.version(), s.cipher()[0], s.session, s.session_reused)
    s.close()
    return info


def test_protocols_and_ciphersuites(certs):
    port = tls_port()
    with LoggingServer(tls_port=port, tls_protocols="TLSv1.2", **certs.server_args()) as srv:
        assert _handshake(port, _client_ctx(certs))[0] == "TLSv1.2"
        only13 = _client_ctx(certs, minimum_version=ssl.TLSVersion.TLSv1_3)
        with pytest.raises(ssl.SSLError):
            _handshake(port, only13)
        r = redis.Redis(port=srv.port)
        r.config_set("tls-protocols", "TLSv1.3")
        assert _handshake(port, _client_ctx(certs))[0] == "TLSv1.3"
        if tls_native.available():
            r.config_set("tls-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")
            assert _handshake(port, _client_ctx(certs))[1] == "TLS_CHACHA20_POLY1305_SHA256"
            r.config_set("tls-ciphersuites", "TLS_AES_128_GCM_SHA256")
            assert _handshake(port, _client_ctx(certs))[1] == "TLS_AES_128_GCM_SHA256"
        r.config_set("tls-protocols", "TLSv1.2", "tls-ciphers", "ECDHE-ECDSA-AES256-GCM-SHA384")
        assert _handshake(port, _client_ctx(certs))[1] == "ECDHE-ECDSA-AES256-GCM-SHA384"


def test_session_caching(certs):
    port = tls_port()
    with LoggingServer(tls_port=port, tls_protocols="TLSv1.2", **certs.server_args()) as srv:
        ctx = _client_ctx(certs)
        _, _, session, reused = _handshake(port, ctx)
        assert not reused
        assert _handshake(port, ctx, session)[3], "a cached session was not resumed"
        redis.Redis(port=srv.port).config_set("tls-session-caching", "no")
        ctx = _client_ctx(certs)
        _, _, session, _ = _handshake(port, ctx)
        assert not _handshake(port, ctx, session)[3]


@pytest.mark.skipif(not tls_native.available(), reason="OpenSSL's SSL_CTX not reachable")
def test_session_cache_size_and_timeout_reach_openssl(certs):
    cfg = Config()
    for k, v in certs.server_args().items():
        cfg.set(k, v, startup=True)
    cfg.set("tls-port", "6380", startup=True)
    cfg.set("tls-session-cache-size", "123", startup=True)
    cfg.set("tls-session-cache-timeout", "45", startup=True)
    server_ctx, _ = build_contexts(cfg)
    assert tls_native.session_cache_settings(server_ctx) == (2, 123, 45)  # SESS_CACHE_SERVER
    cfg.set("tls-session-caching", "no", startup=True)
    server_ctx, _ = build_contexts(cfg)
    assert tls_native.session_cache_settings(server_ctx)[0] == 0  # SESS_CACHE_OFF


def test_encrypted_key_with_tls_key_file_pass(certs, tmp_path):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(open(certs.key, "rb").read(), password=None)
    enc = tmp_path / "enc.key"
    enc.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.BestAvailableEncryption(b"s3cret")))
    port = tls_port()
    args = {**certs.server_args(), "tls-key-file": str(enc)}
    with LoggingServer(tls_port=port, tls_key_file_pass="s3cret", **args):
        assert cli(port, certs, "PING").stdout.strip() == "PONG"
    s = LoggingServer(tls_port=tls_port(), tls_key_file_pass="wrong", **args)
    with pytest.raises(BaseException) as info:
        s.start()
    assert _leaf(info.value).__class__ is StartupError
    assert f"Failed to load private key: {enc}:" in s.log_text()
    s.stop()


@pytest.mark.skipif(subprocess.run(["which", "openssl"], capture_output=True).returncode != 0,
                    reason="openssl not installed")
def test_ca_cert_dir(certs, tmp_path):
    """tls-ca-cert-dir: OpenSSL's hashed directory (<subject hash>.0) instead of a file."""
    h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", certs.ca],
                       capture_output=True, text=True, check=True).stdout.strip()
    (tmp_path / f"{h}.0").write_bytes(open(certs.ca, "rb").read())
    port = tls_port()
    with LoggingServer(tls_port=port, tls_cert_file=certs.cert, tls_key_file=certs.key,
                       tls_ca_cert_dir=str(tmp_path)) as srv:
        assert cli(port, certs, "PING").stdout.strip() == "PONG"
        cli(port, certs, "PING", tls_args=["--tls", "--cacert", certs.ca, "--cert",
                                           certs.bad_cert, "--key", certs.bad_key])
        srv.wait_log("certificate verify failed")


def test_tls_subscriber_that_never_reads_is_closed_by_output_limits(certs):
    port = tls_port()
    with LoggingServer(tls_port=port, client_output_buffer_limit="pubsub 1mb 256kb 60",
                       **certs.server_args()) as srv:
        ctx = _client_ctx(certs)
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sub = ctx.wrap_socket(raw)
        sub.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n")
        assert sub.recv(100).startswith(b"*3\r\n$9\r\nsubscribe")  # then it never reads
        pub = redis.Redis(port=srv.port)
        deadline = time.monotonic() + 20
        while pub.publish("ch", b"m" * 4096):
            assert time.monotonic() < deadline, "the subscriber was never disconnected"
        srv.wait_log("scheduled to be closed ASAP for overcoming of output buffer limits")
        sub.close()
        assert pub.ping()


def test_tls_subscriber_over_the_soft_limit_is_closed_when_its_time_is_up(certs):
    """Only the soft limit (64 KB for 1 s): a TLS subscriber that stays past it is closed."""
    port = tls_port()
    with LoggingServer(tls_port=port, client_output_buffer_limit="pubsub 0 64kb 1",
                       **certs.server_args()) as srv:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sub = _client_ctx(certs).wrap_socket(raw)
        sub.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$2\r\nch\r\n")
        assert sub.recv(100).startswith(b"*3\r\n$9\r\nsubscribe")
        pub = redis.Redis(port=srv.port)
        for _ in range(2000):  # ~8 MB: more than the socket buffers hold
            if not pub.publish("ch", b"m" * 4096):
                break
        t = time.monotonic()
        srv.wait_log("scheduled to be closed ASAP for overcoming of output buffer limits")
        assert time.monotonic() - t < 5
        assert pub.publish("ch", b"x") == 0
        sub.close()


def test_prefer_server_ciphers(certs):
    """Without tls-prefer-server-ciphers the client's order wins (OpenSSL's default, which
    Python's own contexts change), with it the server's (unit/tls's check)."""
    port = tls_port()
    server_order = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384"
    client_order = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256"
    with LoggingServer(tls_port=port, tls_protocols="TLSv1.2", tls_ciphers=server_order,
                       **certs.server_args()) as srv:
        ctx = _client_ctx(certs)
        ctx.set_ciphers(client_order)
        assert _handshake(port, ctx)[1] == "ECDHE-ECDSA-AES256-GCM-SHA384"
        redis.Redis(port=srv.port).config_set("tls-prefer-server-ciphers", "yes")
        assert _handshake(port, ctx)[1] == "ECDHE-ECDSA-AES128-GCM-SHA256"


def test_tls_port_in_use_is_redis_lines(certs):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        s = LoggingServer(tls_port=port, **certs.server_args())
        with pytest.raises(BaseException) as info:
            s.start()
        log = s.log_text()
        s.stop()
    assert str(_leaf(info.value)) == f"Failed listening on port {port} (tls), aborting."
    assert (f"# Warning: Could not create server TCP listening socket 127.0.0.1:{port}: "
            "bind: Address already in use") in log
