"""Every error text Redis 7.0 gives, once, by name.

Handlers raise :class:`CommandError`; the ``call()`` path turns it into a ``-...`` reply.
The texts are Redis's own words: clients match on their prefixes.
"""


class CommandError(Exception):
    """A command failed with a Redis error reply (text without the leading ``-``)."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ProtocolError(Exception):
    """The byte stream is not valid RESP: reply with the error, then close the connection."""


class ConfigError(Exception):
    """A bad configuration value or unknown parameter; the text is Redis's reason.

    Raised by config parsing, by the modules that add parameters (notify, cluster, gateway) and
    by file formats read at start-up, so it lives here, below all of them."""


class StartupError(Exception):
    """A clear, one-line reason the server cannot start (corrupt RDB, bad AOF, busy port...).

    Raised by persistence, the gateway and the listeners; the CLI prints it and exits 1."""


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
INCR_NAN_INF = "ERR increment would produce NaN or Infinity"
SYNTAX = "ERR syntax error"
NO_SUCH_KEY = "ERR no such key"
OUT_OF_RANGE = "ERR index out of range"
INVALID_EXPIRE = "ERR invalid expire time in '{}' command"
INVALID_DB = "ERR DB index is out of range"
NOT_POSITIVE_OFFSET = "ERR offset is out of range"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
AUTH_NOT_CONFIGURED = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?"
)
READONLY = "READONLY You can't write against a read only replica."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
TIMEOUT_NEGATIVE = "ERR timeout is negative"
TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
TIMEOUT_OUT_OF_RANGE = "ERR timeout is out of range"
COUNT_POSITIVE = "ERR value is out of range, must be positive"


def wrong_arity(name: str) -> str:
    return f"ERR wrong number of arguments for '{name}' command"


def unknown_command(name: bytes, args: list) -> str:
    """Redis's text: C's ``%.128s`` stops at a NUL byte, so ours does too."""
    shown = b""
    for a in args:
        if len(shown) >= 128:
            break
        shown += b"'" + a.split(b"\0", 1)[0][: 128 - len(shown)] + b"' "
    name = name.split(b"\0", 1)[0][:128]
    return f"ERR unknown command '{_text(name)}', with args beginning with: {_text(shown)}"


def unknown_subcommand(sub: bytes, container: str) -> str:
    return (
        f"ERR unknown subcommand '{_text(sub)[:128]}'. Try {container.upper()} HELP."
    )


def _text(b: bytes) -> str:
    # Surrogate escapes carry non-UTF-8 bytes through to the wire unchanged (error_line).
    return b.decode("utf-8", "surrogateescape")
