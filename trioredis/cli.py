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

from .commands.debug_more import install_crash_handler
from .config import DIRECTIVES, PARAMS, Config, canonical
from .core import Server
from .errors import ConfigError, StartupError
from .info import VERSION
from .log import Logger
from .scheduling import serve_in_wakeup_order
from .server import serve, supervised_mode

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="A Redis-compatible server on Trio.")

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
        if name.lower() in DIRECTIVES:  # `--user name rules...`
            words = values[0].split() if len(values) == 1 else values
            cfg.apply_directive(name.lower(), words, "command line")
            continue
        canon = canonical(name)
        if canon is None:
            raise ConfigError(f"Bad directive or wrong number of arguments: '{name}'")
        if PARAMS[canon].multi_arg and len(values) == 1:
            values = values[0].split() if values[0] else []
        if not values and PARAMS[canon].kind != "special":
            raise ConfigError(f"wrong number of arguments for '{name}'")
        cfg.apply_directive(canon, values or [""], "command line")
    return cfg


def _version_text() -> str:
    import platform

    from . import __version__

    return (f"trioredis {__version__} (Redis {VERSION} compatible; Python "
            f"{platform.python_version()}, trio {trio.__version__})")


def _print_version(value: bool) -> None:
    if value:
        typer.echo(_version_text())
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", "-v", callback=_print_version,
                                 is_eager=True, help="Print the version and exit."),
) -> None:
    """trioredis: a Redis 7.0-compatible server written in Python on Trio."""


SERVER_HELP = """Run the server, as redis-server runs: trioredis server [CONFIG-FILE] [--name value ...]

Every Redis 7.0 configuration parameter is an option, --name value, exactly as the line
"name value" of a redis.conf file; options given after the file win. Some of them:

\b
  --port 6380                  TCP port (default 6379; 0 picks a free port)
  --bind "127.0.0.1 ::1"       addresses to listen on (default 127.0.0.1)
  --dir /var/lib/trioredis     where dump.rdb and the AOF live (must exist)
  --save ""                    no RDB snapshots (default: 3600 1 300 100 60 10000)
  --appendonly yes             also log every write to an append-only file
  --requirepass secret         the password clients send with AUTH
  --replicaof "host port"      replicate another server (trioredis or Redis)
  --cluster-bootstrap yes      start a new HA group (leader, followers, failover)
  --cluster-join host:port     join the HA group that host belongs to
  --ws-port 8080               WebSocket gateway and dashboard (pip install 'trioredis[gateway]')
  --loglevel verbose           debug, verbose, notice, warning or nothing
  --daemonize yes              run in the background (with --pidfile /run/trioredis.pid)

\b
Examples:
  trioredis server --port 6380 --save ""
  trioredis server /etc/redis/redis.conf --loglevel verbose
  trioredis server --version

docs/configuration.md lists every parameter and what it does in trioredis.
"""


@app.command(context_settings={**_EXTRA, "help_option_names": ["-h", "--help"]},
             help=SERVER_HELP, add_help_option=True)
def server(ctx: typer.Context) -> None:
    extra = list(ctx.args)
    if extra in (["--version"], ["-v"]):
        typer.echo(_version_text())
        raise typer.Exit(0)
    # redis-server style: an optional config file first, then --name value pairs. Every value
    # is checked by the parameter table, so a bad one always gets the same kind of error.
    config_file = extra.pop(0) if extra and not extra[0].startswith("--") else None
    try:
        options = parse_redis_args(extra)
        for i, (name, values) in enumerate(options):
            if name == "config":  # --config FILE, as the first positional argument
                if len(values) != 1 or config_file:
                    raise ConfigError("--config takes one file (or give the file first)")
                config_file = values[0]
                del options[i]
                break
        cfg = build_config(config_file, options)
    except (ConfigError, OSError) as e:
        typer.echo(f"*** FATAL CONFIG FILE ERROR (trioredis) ***\n{e}", err=True)
        raise typer.Exit(1)
    raise typer.Exit(run(cfg, bare=not (config_file or options)))


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
        # A fatal start-up error (a broken RDB/AOF) exits as Redis's exit(1): the error stays
        # the log's last line and the pid file is left.
        if pidfile and srv.runner is not None and srv.runner.started:
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
                    signal_shutdown(srv, log, signum)

            insist_on_second_sigint(srv, log)
            install_crash_handler(log)  # SIGABRT & co.: Redis's crash report, then die
            nursery.start_soon(watch_signals)
            nursery.start_soon(run_server)
    return code


def signal_shutdown(srv: Server, log: Logger, signum: int) -> None:
    """SIGINT/SIGTERM as Redis's sigShutdownHandler: log it and mark the shutdown as asked;
    the cron carries it out (commands/server.py), so DEBUG PAUSE-CRON holds it and SHUTDOWN
    ABORT cancels it."""
    name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
    log.warning(f"Received {name} scheduling shutdown...")
    srv.shutdown_asap = signum


def insist_on_second_sigint(srv: Server, log: Logger) -> None:
    """A SIGINT while a shutdown is already asked (its final save still running, the event
    loop busy) exits at once, removing the temp RDB, as Redis's signal handler does. It runs
    in the signal handler itself, ahead of Trio's, which would only queue it."""
    trio_handler = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        if srv.shutdown_asap:
            log.warning("You insist... exiting now.")
            try:
                os.unlink(os.path.join(srv.config["dir"], f"temp-{os.getpid()}.rdb"))
            except OSError:
                pass
            os._exit(1)
        if callable(trio_handler):
            trio_handler(signum, frame)

    signal.signal(signal.SIGINT, handler)


def main() -> None:
    app(prog_name="trioredis")


if __name__ == "__main__":
    sys.exit(main())
