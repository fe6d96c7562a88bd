"""trioredis: a Redis-compatible server on Trio."""

# Import side effects, after the server: the command modules fill the command table, and the
# gateway adds the ws-* parameters (it starts when ws-port is set).
from . import commands, gateway  # noqa: E402,F401, I001
from .config import Config
from .core import Server
from .server import serve  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Config", "Server", "serve", "__version__"]
