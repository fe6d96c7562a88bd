"""trioredis: a Redis-compatible server on Trio."""

# Import side effects: the command modules fill the command table, and the gateway adds the
# ws-* parameters (it starts when ws-port is set). core does not import them itself.
from . import commands, gateway, memory_report  # noqa: F401  (memory_report: INFO memory, maxmemory)
from .config import Config
from .core import Server
from .embed import ServerThread, run_in_thread
from .server import serve

__version__ = "0.1.0"
__all__ = ["Config", "Server", "ServerThread", "run_in_thread", "serve", "__version__"]
