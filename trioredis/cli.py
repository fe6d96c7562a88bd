"""``trioredis server ...``: Redis-style command line on top of typer.

Accepts a config file (positional, as redis-server does, or ``--config``), the common options
by name, and ``--name value ...`` for any other parameter (``--save ""``,
``--replicaof "host port"`` or ``--replicaof host port``). Later options win.
"""

from __future__ import annotations

import errno
import gc
import os
import signal
import sys
from functools import partial

import trio
import typer

from .config import PARAMS, Config, canonical
from .core import Server
from .errors import ConfigError, StartupError
from .info import VERSION
from .log import Logger
from .scheduling import serve_in_wakeup_order
from .server import serve, supervised_mode

app = typer.Typer(add_completion=False, no_args_is_help=True, help="A Redis-compatible server on Trio.")

_EXTRA = {"allow_extra_args": True, "ignore_unknown_options": True}


def parse_redis_args(args: list[str]) -> list[tuple[str, list[str]]]:
    """Split ``--name v1 v2 --other v`` into directives, as redis-server's argv parsing."""
    out: list[tuple[str, list[str]]] = []
    for a in args:
        if a.startswith("--") and len(a) > 2 and not _is_number(a):
            out.append((a[2:], []))
        elif out:
            out[-1][1].append(a)
        else:
            raise ConfigError(f"Invalid argument '{a}'")
    return out


def _is_number(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def build_config(config_file: str | None, options: list[tuple[str, list[str]]]) -> Config:
    cfg = Config()
    if config_file:
        cfg.load_file(config_file)
    for name, values in options:
        canon = canonical(name)
        if canon is None:
            raise ConfigError(f"Bad directive or wrong number of arguments: '{name}'")
        if PARAMS[canon].multi_arg and len(values) == 1:
            values = values[0].split() if values[0] else []
        if not values and PARAMS[canon].kind != "special":
            raise ConfigError(f"wrong number of arguments for '{name}'")
        cfg.apply_directive(canon, values or [""], "command line")
    return cfg


@app.callback()
def _root() -> None:
    """trioredis: a Redis 7.0-compatible server written in Python on Trio."""


@app.command(context_settings=_EXTRA)
def server(
    ctx: typer.Context,
    port: int = typer.Option(None, "--port", help="TCP port (default 6379; 0 = any free port)"),
    bind: str = typer.Option(None, "--bind", help="addresses to listen on (default 127.0.0.1)"),
    dir: str = typer.Option(None, "--dir", help="working directory for dump.rdb and the AOF"),
    dbfilename: str = typer.Option(None, "--dbfilename", help="RDB file name (dump.rdb)"),
    requirepass: str = typer.Option(None, "--requirepass", help="password for AUTH"),
    loglevel: str = typer.Option(None, "--loglevel", help="debug|verbose|notice|warning"),
    config: str = typer.Option(None, "--config", help="redis.conf-style file"),
) -> None:
    """Run the server: trioredis server [CONFIG-FILE] [--name value ...].

    Any Redis config parameter is accepted as ``--name value``.
    """
    options: list[tuple[str, list[str]]] = []
    for name, value in (
        ("port", port),
        ("bind", bind),
        ("dir", dir),
        ("dbfilename", dbfilename),
        ("requirepass", requirepass),
        ("loglevel", loglevel),
    ):
        if value is not None:
            options.append((name, [str(value)]))
    extra = list(ctx.args)
    # redis-server style: an optional config file first, then --name value pairs.
    config_file = extra.pop(0) if extra and not extra[0].startswith("--") else None
    try:
        options += parse_redis_args(extra)
        cfg = build_config(config or config_file, options)
    except (ConfigError, OSError) as e:
        typer.echo(f"*** FATAL CONFIG FILE ERROR (trioredis) ***\n{e}", err=True)
        raise typer.Exit(1)
    raise typer.Exit(run(cfg, bare=not (config or config_file or options)))


@app.command("check-rdb")
def check_rdb(file: str = typer.Argument(..., help="the RDB file to check")) -> None:
    """Check an RDB file: what it holds (keys per db and type, aux fields), or where it is
    broken (offset and reason). Exit code 0 when it loads, 1 otherwise."""
    from .persistence import rdb

    try:
        with open(file, "rb") as f:
            data = f.read()
    except OSError as e:
        typer.echo(f"Cannot open {file}: {e.strerror}", err=True)
        raise typer.Exit(1)
    ok, lines = rdb.check(data)
    typer.echo(f"[info] Checking RDB file {file}")
    for line in lines:
        typer.echo(line)
    raise typer.Exit(0 if ok else 1)


@app.command("check-aof")
def check_aof(
    path: str = typer.Argument(..., help="an AOF manifest, an AOF directory, or one AOF file"),
    fix: bool = typer.Option(False, "--fix", help="truncate to the last valid command"),
) -> None:
    """Check an append-only file like redis-check-aof: valid, or where a truncated or corrupt
    command starts; --fix truncates the last file there. Exit code 0 when valid (or fixed)."""
    from .persistence import aof

    code, lines = aof.check(path, fix)
    for line in lines:
        typer.echo(line)
    raise typer.Exit(code)


def make_logger(cfg: Config) -> Logger:
    ident = cfg["syslog-ident"] if cfg["syslog-enabled"] else None
    return Logger(cfg["loglevel"], cfg["logfile"], ident, cfg["syslog-facility"])


def run(cfg: Config, bare: bool = False) -> int:
    """Run until SIGINT/SIGTERM or SHUTDOWN; returns the process exit code.

    Start-up follows Redis's main(): the version lines, the configuration, daemonizing
    (``daemonize yes``: fork, the parent exits, the child goes on detached), the pid file.
    ``bare``: no arguments at all (Redis then warns that it runs on its defaults).
    """
    log = make_logger(cfg)
    log.role = "C"  # Redis marks the lines before the server exists with C
    log.warning("oO0OoO0OoO0Oo trioredis is starting oO0OoO0OoO0Oo")
    log.warning(f"trioredis version={VERSION}, bits={64 if sys.maxsize > 2**32 else 32}, "
                f"commit=00000000, modified=0, pid={os.getpid()}, just started")
    if bare:
        log.warning("Warning: no config file specified, using the default config. In order to "
                    "specify a config file use trioredis server /path/to/redis.conf")
    else:
        log.warning("Configuration loaded")
    if cfg["daemonize"] and supervised_mode(cfg) == "no":
        daemonize()
        if not cfg["pidfile"]:
            cfg.set_value("pidfile", DEFAULT_PIDFILE)
    log.role = "M"
    try:
        srv = Server(cfg)
    except ConfigError as e:
        log.warning(f"Fatal config error: {e}")
        return 1
    pidfile = cfg["pidfile"]
    if pidfile:
        write_pidfile(pidfile, log)
    # Start-up objects never die: keep them out of the cyclic GC's work, and collect less often.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
    serve_in_wakeup_order()  # clients ready together are served in arrival order, as Redis
    try:
        return _run_trio(srv, log)
    finally:
        if pidfile:
            log.notice("Removing the pid file.")
            try:
                os.unlink(pidfile)
            except OSError:
                pass


def _run_trio(srv: Server, log: Logger) -> int:
    cfg = srv.config
    try:
        try:
            return trio.run(partial(_main, srv, log))
        except BaseExceptionGroup as group:
            raise _single(group) from None
    except OSError as e:
        if srv.runner is not None and srv.runner.started:
            log.warning(f"Fatal error while serving: {e!r}")
        elif e.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            log.warning(f"Failed listening on port {cfg['port']} (tcp), aborting.")
        else:
            log.warning(f"Failed to start: {e}")
        return 1
    except StartupError as e:
        log.warning(str(e))
        return 1


DEFAULT_PIDFILE = "/var/run/redis.pid"  # Redis's CONFIG_DEFAULT_PID_FILE, for daemonize yes


def daemonize() -> None:
    """Redis's daemonize(): fork, the parent exits at once; the child leaves the terminal's
    session and points its standard streams at /dev/null (a log file keeps the logs)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork():
        os._exit(0)
    os.setsid()
    fd = os.open(os.devnull, os.O_RDWR)
    for target in (0, 1, 2):
        os.dup2(fd, target)
    if fd > 2:
        os.close(fd)


def write_pidfile(path: str, log: Logger) -> None:
    """The pid file; failing to write it is logged and not fatal, as in Redis."""
    try:
        with open(path, "w") as f:
            f.write(f"{os.getpid()}\n")
    except OSError as e:
        log.warning(f"Failed to write PID file: {e.strerror}")


def _single(group: BaseExceptionGroup) -> BaseException:
    """The one real error inside nested nursery exception groups."""
    while isinstance(group, BaseExceptionGroup) and len(group.exceptions) == 1:
        group = group.exceptions[0]
    return group


async def _main(srv: Server, log: Logger) -> int:
    # The signal handlers are in place before the port is bound: a SIGTERM sent as soon as
    # the port answers is a shutdown, not the default action (death by signal).
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with trio.open_nursery() as nursery:
            code = 0

            async def run_server():
                nonlocal code
                code = await serve(server=srv, log=log)
                nursery.cancel_scope.cancel()

            async def watch_signals():
                async for signum in signals:
                    if signal_shutdown(srv, log, signum):
                        return

            nursery.start_soon(watch_signals)
            nursery.start_soon(run_server)
    return code


def signal_shutdown(srv: Server, log: Logger, signum: int) -> bool:
    """SIGINT/SIGTERM as Redis: SHUTDOWN with the flags of ``shutdown-on-sigint``/``-sigterm``
    (``default``: save when there are save points). When the final save fails (and no
    ``force``), the server keeps running: True only when shutting down."""
    name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
    log.warning(f"Received {name} scheduling shutdown...")
    flags = srv.config["shutdown-on-sigint" if signum == signal.SIGINT else "shutdown-on-sigterm"]
    save = True if "save" in flags else False if "nosave" in flags else None
    log.warning("User requested shutdown...")
    failed = False
    for hook in srv.hooks.get("shutdown", ()):  # persistence saves here; False = it failed
        if hook(save) is False:
            failed = True
    if failed and "force" not in flags:
        log.warning("Errors trying to shut down the server. Check the logs for more "
                    "information.")
        return False
    if srv.shutdown_requested is not None:
        srv.shutdown_requested()
    return True


def main() -> None:
    app(prog_name="trioredis")


if __name__ == "__main__":
    sys.exit(main())
