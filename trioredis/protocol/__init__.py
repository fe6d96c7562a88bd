"""Sans-I/O RESP: request parsing and reply encoding, no sockets."""

from .encoder import ENCODERS, encode2, encode3, error_line, format_double
from .parser import RequestParser, split_inline
from .replies import NULL_ARRAY, OK, QUEUED, ErrorReply, Push, Raw, Verbatim

__all__ = [
    "ENCODERS",
    "NULL_ARRAY",
    "OK",
    "QUEUED",
    "ErrorReply",
    "Push",
    "Raw",
    "RequestParser",
    "Verbatim",
    "encode2",
    "encode3",
    "error_line",
    "format_double",
    "split_inline",
]
