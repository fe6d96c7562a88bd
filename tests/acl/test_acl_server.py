"""ACL over the network: subscribers disconnected, users from the config or an ACL file."""


import pytest
import redis

from ..helpers import ThreadedServer


def test_subscriber_killed_when_its_channel_is_revoked(server, r):
    r.execute_command("ACL", "SETUSER", "ps", "on", "nopass", "+@all", "resetchannels", "&foo")
    sub = redis.Redis(port=server.port)
    sub.execute_command("AUTH", "ps", "x")
    sub.execute_command("CLIENT", "SETNAME", "deathrow")
    p = sub.pubsub()
    p.subscribe("foo")
    assert p.get_message(timeout=5)["type"] == "subscribe"
    r.execute_command("ACL", "SETUSER", "ps", "resetchannels", "&foo", "&bar")  # kept: pardoned
    assert b"name=deathrow" in r.execute_command("CLIENT", "LIST")
    r.execute_command("ACL", "SETUSER", "ps", "resetchannels")
    assert b"name=deathrow" not in r.execute_command("CLIENT", "LIST")


def test_deleting_the_user_closes_its_connections(server, r):
    r.execute_command("ACL", "SETUSER", "gone", "on", ">pw", "+@all")
    c = redis.Redis(port=server.port, username="gone", password="pw")
    assert c.ping()
    assert r.execute_command("ACL", "DELUSER", "gone") == 1
    with pytest.raises(redis.ConnectionError):
        c.ping()


def test_users_from_the_acl_file_and_save(tmp_path):
    (tmp_path / "users.acl").write_text("user alice on >apw ~* &* +@all\n"
                                        "user bob on nopass -@all +get ~b*\n")
    with ThreadedServer(dir=str(tmp_path), aclfile="users.acl") as s:
        alice = redis.Redis(port=s.port, username="alice", password="apw")
        assert alice.execute_command("ACL", "WHOAMI") == b"alice"
        bob = redis.Redis(port=s.port, username="bob", password="x")
        with pytest.raises(redis.exceptions.NoPermissionError):
            bob.set("b1", "v")
        alice.execute_command("ACL", "SETUSER", "carol", "on", "nopass", "+ping")
        assert alice.execute_command("ACL", "SAVE") == b"OK"
        saved = (tmp_path / "users.acl").read_text()
        assert "user carol on nopass resetchannels -@all +ping" in saved
        (tmp_path / "users.acl").write_text(saved + "user alice on nopass\n")
        with pytest.raises(redis.ResponseError, match="Duplicate user 'alice'"):
            alice.execute_command("ACL", "LOAD")


def test_config_users_and_aclfile_together_are_refused(tmp_path):
    from trioredis.acl import load_startup_users
    from trioredis.config import Config
    from trioredis.core import Server
    from trioredis.errors import StartupError

    cfg = Config()
    cfg.set("dir", str(tmp_path), startup=True)
    cfg.set("aclfile", "x.acl", startup=True)
    cfg.apply_directive("user", ["u", "on"])
    with pytest.raises(StartupError, match="not both"):
        load_startup_users(Server(cfg))
    cfg2 = Config()
    cfg2.apply_directive("user", ["u", "on"])
    with pytest.raises(Exception, match="Duplicate user"):
        cfg2.apply_directive("user", ["u", "off"])


def test_config_rewrite_writes_the_users(tmp_path):
    from trioredis.config import Config
    from trioredis.core import Server

    conf = tmp_path / "r.conf"
    conf.write_text("port 0\nuser default on nopass ~* +@all -flushdb\nuser old on nopass\n")
    cfg = Config()
    cfg.load_file(str(conf))
    srv = Server(cfg)
    from trioredis.acl import load_startup_users

    load_startup_users(srv)
    c = srv.new_client()
    assert srv.execute(c, [b"FLUSHDB"]).message.startswith("NOPERM")
    srv.execute(c, [b"ACL", b"DELUSER", b"old"])
    cfg.rewrite()
    text = conf.read_text()
    assert "user default on nopass sanitize-payload ~* resetchannels +@all -flushdb" in text  # as Redis
    assert "user old" not in text
