"""trioredis: a Redis-compatible server on Trio."""

from .config import Config
from .core import Server
from .server import serve

__version__ = "0.1.0"
__all__ = ["Config", "Server", "serve", "__version__"]
