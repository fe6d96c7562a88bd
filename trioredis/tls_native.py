"""The few OpenSSL settings Redis makes that Python's ``ssl`` module has no API for.

``tls-ciphersuites`` (``SSL_CTX_set_ciphersuites``) and the server's session cache
(``SSL_CTX_set_session_cache_mode``, ``SSL_CTX_sess_set_cache_size``, ``SSL_CTX_set_timeout``)
are set on the ``SSL_CTX`` inside an :class:`ssl.SSLContext` with ctypes, through the same
OpenSSL that ``_ssl`` is linked to. The pointer is read from the context object (the first
field after the object header in CPython's ``PySSLContext``) and trusted only when OpenSSL
reports the same options as Python does for it; otherwise nothing is touched and the callers
fall back (ciphersuites refused, the cache left at OpenSSL's defaults).
"""

from __future__ import annotations

import ctypes
import ssl

SSL_CTRL_SET_SESS_CACHE_SIZE = 42
SSL_CTRL_SET_SESS_CACHE_MODE = 44
SSL_SESS_CACHE_OFF = 0
SSL_SESS_CACHE_SERVER = 2

_lib = None


def _openssl():
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL(ssl._ssl.__file__)  # noqa: SLF001 (resolves libssl's symbols)
            lib.SSL_CTX_get_options.restype = ctypes.c_uint64
            lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
            lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
            lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.SSL_CTX_ctrl.restype = ctypes.c_long
            lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long,
                                         ctypes.c_void_p]
            lib.SSL_CTX_set_timeout.restype = ctypes.c_long
            lib.SSL_CTX_set_timeout.argtypes = [ctypes.c_void_p, ctypes.c_long]
            _lib = lib
        except (OSError, AttributeError):
            _lib = False
    return _lib or None


def native_ctx(ctx: ssl.SSLContext):
    """The ``SSL_CTX *`` of ``ctx``, or None when it cannot be found safely."""
    lib = _openssl()
    if lib is None:
        return None
    ptr = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
    if not ptr or lib.SSL_CTX_get_options(ptr) != int(ctx.options):
        return None
    return ptr


def available() -> bool:
    return native_ctx(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)) is not None


def set_ciphersuites(ctx: ssl.SSLContext, suites: str) -> bool:
    """SSL_CTX_set_ciphersuites; False when OpenSSL refuses the list (or is unreachable)."""
    ptr = native_ctx(ctx)
    if ptr is None:
        return False
    return _lib.SSL_CTX_set_ciphersuites(ptr, suites.encode()) == 1


def session_cache(ctx: ssl.SSLContext, size: int | None, timeout: int | None) -> bool:
    """Server session cache on with ``size`` entries and ``timeout`` seconds, or off (None)."""
    ptr = native_ctx(ctx)
    if ptr is None:
        return False
    if size is None:
        _lib.SSL_CTX_ctrl(ptr, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_OFF, None)
        return True
    _lib.SSL_CTX_ctrl(ptr, SSL_CTRL_SET_SESS_CACHE_MODE, SSL_SESS_CACHE_SERVER, None)
    _lib.SSL_CTX_ctrl(ptr, SSL_CTRL_SET_SESS_CACHE_SIZE, size, None)
    _lib.SSL_CTX_set_timeout(ptr, timeout)
    return True


def session_cache_settings(ctx: ssl.SSLContext) -> tuple[int, int, int] | None:
    """(mode, size, timeout) as OpenSSL holds them, for tests; None when unreachable."""
    ptr = native_ctx(ctx)
    if ptr is None:
        return None
    lib = _lib
    lib.SSL_CTX_get_timeout.restype = ctypes.c_long
    lib.SSL_CTX_get_timeout.argtypes = [ctypes.c_void_p]
    mode = lib.SSL_CTX_ctrl(ptr, 45, 0, None)  # SSL_CTRL_GET_SESS_CACHE_MODE
    size = lib.SSL_CTX_ctrl(ptr, 43, 0, None)  # SSL_CTRL_GET_SESS_CACHE_SIZE
    return mode, size, lib.SSL_CTX_get_timeout(ptr)
