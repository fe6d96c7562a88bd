"""ACL rules and checks on the sans-I/O core: parsing, describing, the permission check."""

import pytest

import trioredis  # noqa: F401  (fills the command table)
from trioredis.acl import check as C
from trioredis.acl.rules import RuleError, User, hash_password, merge_selector_args
from trioredis.core import Server
from trioredis.protocol.replies import ErrorReply


@pytest.fixture
def srv():
    return Server()


def user(srv, *rules):
    u = User(b"u")
    for r in rules:
        u.apply(srv.acl.universe, r, False)
    return u


def run(srv, c, *argv):
    reply = srv.execute(c, [a if isinstance(a, bytes) else a.encode() for a in argv])
    return reply.message if isinstance(reply, ErrorReply) else reply


def test_passwords_are_sha256_and_compared_by_hash(srv):
    u = user(srv, b">secret", b"on")
    assert u.passwords == [hash_password(b"secret")]
    assert u.check_password(b"secret") and not u.check_password(b"Secret")
    u.apply(srv.acl.universe, b"<secret", False)
    assert not u.check_password(b"secret")
    with pytest.raises(RuleError, match="does not exist"):
        u.apply(srv.acl.universe, b"<secret", False)
    with pytest.raises(RuleError, match="exactly 64 characters"):
        u.apply(srv.acl.universe, b"#abc", False)


def test_describe_rebuilds_the_same_commands(srv):
    u = user(srv, b"-@all", b"+@hash", b"+get", b"+client|id")
    text = u.root.describe_commands(srv.acl.universe)
    assert text.split()[:2] == ["-@all", "+@hash"]
    assert "+get" in text and "+client|id" in text
    again = user(srv, *[w.encode() for w in text.split()])
    assert again.root.allowed == u.root.allowed


def test_subcommand_rules_fold_into_the_container(srv):
    u = user(srv, b"+memory|doctor")
    assert u.root.describe_commands(srv.acl.universe) == "-@all +memory|doctor"
    u.apply(srv.acl.universe, b"+memory", False)
    assert u.root.describe_commands(srv.acl.universe) == "-@all +memory"
    u.apply(srv.acl.universe, b"+@all", False)
    u.apply(srv.acl.universe, b"-memory|doctor", False)
    assert u.root.describe_commands(srv.acl.universe) == "+@all -memory|doctor"


@pytest.mark.parametrize("rule,error", [
    (b"+nosuch", "Unknown command"), (b"+config|get|x", "first-arg of a subcommand"),
    (b"+debug|", "Syntax error"), (b"%X~k", "Syntax error"), (b"bogus", "Syntax error"),
])
def test_bad_rules(srv, rule, error):
    with pytest.raises(RuleError, match=error):
        user(srv, rule)


def test_pattern_after_allkeys_is_refused_but_rw_star_is_a_pattern(srv):
    with pytest.raises(RuleError, match="allkeys"):
        user(srv, b"allkeys", b"~k")
    u = user(srv, b"%RW~*", b"%R~foo")
    assert u.root.describe_keys() == "~* %R~foo"
    assert user(srv, b"%R~foo", b"%W~foo", b"%RW~bar").root.describe_keys() == "~foo ~bar"


def test_selectors_spread_over_arguments_are_merged():
    assert merge_selector_args([b"(~a", b"+get)", b"on"]) == ([b"(~a +get)", b"on"], -1)
    assert merge_selector_args([b"on", b"(~a"]) == (None, 1)


def test_key_read_write_flags(srv):
    u = user(srv, b"+@all", b"%R~r*", b"%W~w*")
    get, lpush, copy = (srv.acl.universe.lookup(n) for n in ("get", "lpush", "copy"))
    assert C.check_command(u, get, [b"get", b"r1"], srv) == (C.OK, 0)
    assert C.check_command(u, get, [b"get", b"w1"], srv) == (C.DENIED_KEY, 1)
    assert C.check_command(u, lpush, [b"lpush", b"w1", b"x"], srv) == (C.OK, 0)
    assert C.check_command(u, copy, [b"copy", b"r1", b"w1"], srv) == (C.OK, 0)
    assert C.check_command(u, copy, [b"copy", b"w1", b"r1"], srv)[0] == C.DENIED_KEY


def test_psubscribe_patterns_match_literally(srv):
    u = user(srv, b"+@all", b"resetchannels", b"&bar:*")
    psub = srv.acl.universe.lookup("psubscribe")
    pub = srv.acl.universe.lookup("publish")
    assert C.check_command(u, psub, [b"psubscribe", b"bar:*"], srv)[0] == C.OK
    assert C.check_command(u, psub, [b"psubscribe", b"bar:x"], srv)[0] == C.DENIED_CHANNEL
    assert C.check_command(u, pub, [b"publish", b"bar:x", b"m"], srv)[0] == C.OK


def test_default_user_costs_nothing_and_restricted_users_are_checked(srv):
    c = srv.new_client()
    assert c.acl_user is None and not c.guard
    assert run(srv, c, "ACL", "SETUSER", "u", "on", "nopass", "+get", "~a*") == "OK"
    assert run(srv, c, "AUTH", "u", "x") == "OK"
    assert c.acl_user is not None and c.guard
    assert run(srv, c, "SET", "a", "1") == "NOPERM this user has no permissions to run the 'set' command"
    assert run(srv, c, "GET", "b") == (
        "NOPERM this user has no permissions to access one of the keys used as arguments")
    assert run(srv, c, "GET", "a") is None
    other = srv.new_client()
    run(srv, other, "ACL", "SETUSER", "u", "+@all", "allkeys", "allchannels")
    assert c.acl_user is None and not c.guard  # now unrestricted: no checks at all


def test_exec_rechecks_queued_commands(srv):
    c, admin = srv.new_client(), srv.new_client()
    run(srv, admin, "ACL", "SETUSER", "u", "on", "nopass", "+multi", "+exec", "+incr", "~*")
    run(srv, c, "AUTH", "u", "x")
    assert run(srv, c, "MULTI") == "OK"
    assert run(srv, c, "INCR", "k") == "QUEUED"
    run(srv, admin, "ACL", "SETUSER", "u", "-incr")
    [reply] = srv.execute(c, [b"EXEC"])
    assert reply.message.startswith("NOPERM ACLs rules changed between the moment")
    entry = run(srv, admin, "ACL", "LOG", "1")[0]
    assert entry[b"context"] == b"multi" and entry[b"object"] == b"incr"


def test_requirepass_is_the_default_users_password(srv):
    srv.config.set("requirepass", "pw")
    c = srv.new_client()
    assert not c.authenticated
    assert run(srv, c, "AUTH", "nope").startswith("WRONGPASS")
    assert run(srv, c, "AUTH", "pw") == "OK"
    assert run(srv, c, "ACL", "GETUSER", "default")[b"passwords"] == [hash_password(b"pw").encode()]
