def test_ping_echo(r):
    assert r.ping() is True
    assert r.echo(b"hi") == b"hi"


def test_unknown_command(raw):
    assert raw.command("FOO", "a", "b") == (
        b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
    )
