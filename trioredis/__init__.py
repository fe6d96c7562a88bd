"""trioredis: a Redis-compatible server on Trio."""

from . import gateway  # noqa: F401  (the ws-* parameters; starts the gateway when ws-port is set)
from .config import Config
from .core import Server
from .server import serve

__version__ = "0.1.0"
__all__ = ["Config", "Server", "serve", "__version__"]
