"""Start-up: loading the AOF (replay through the command table), then opening it for append.

Loading replays every file through the command table with a fake client that gets no replies
(``load``); a command cut short at the end of the last file is cut off (``aof-load-truncated``),
an unfinished MULTI at the end discarded, as Redis does. An old single ``appendonly.aof``
(Redis < 7) is first moved into a manifest as its base (``_upgrade``).

``AofLoader`` is one part of ``aof.AOF`` (the state it uses is set up in ``AOF.__init__``).
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

from ...errors import StartupError
from .common import ON, TYPE_BASE, AofError, _file_size
from .manifest import AofInfo, Manifest, read_manifest
from .reader import FORMAT, OK, CommandReader

if TYPE_CHECKING:
    from ...core import Server


class AofLoader:
    """``AOF``'s start-up methods: load (replay), upgrade an old single file, open the incr
    file for appending."""


    # -- startup: loading and opening ----------------------------------------------------------

    def on_startup(self, runner=None) -> None:
        """Startup: the AOF is what loads when appendonly yes (snapshot.py loads the RDB only
        when it is off); then the incr file is opened for appending."""
        try:
            if not self.server.config["appendonly"]:
                self.manifest = read_manifest(self.dirpath, self.filename)  # for BGREWRITEAOF
                return
            self.load()
            self.open_on_start()
        except AofError as e:
            raise StartupError(str(e)) from None

    def load(self) -> bool:
        """loadAppendOnlyFiles at startup (appendonly yes). False when there is no AOF.

        Raises AofError when it cannot be loaded; the server must not start then.
        """
        srv = self.server
        cfg = srv.config
        log = srv.log
        self.manifest = m = read_manifest(self.dirpath, self.filename)
        old = os.path.join(cfg["dir"], self.filename)
        if os.path.isfile(old) and (
            not os.path.isdir(self.dirpath)
            or (m.base is None and not m.incr)
            or (m.base is not None and not m.incr and m.base.name == self.filename
                and not os.path.exists(self.path(self.filename)))
        ):
            self._upgrade(old)
            m = self.manifest
        files = ([m.base] if m.base else []) + list(m.incr)
        if not files:
            return False
        total = 0
        for info in files:
            try:
                total += os.stat(self.path(info.name)).st_size
            except OSError as e:
                log.warning(f"Unable to obtain the AOF file {info.name} length. stat: "
                            f"{e.strerror}")
                raise AofError(f"Unable to obtain the AOF file {info.name} length") from None
        if total == 0:
            return True  # AOF_EMPTY: nothing to load, not an error
        start = time.monotonic()
        self.base_size = 0
        srv.loading = True  # also: nothing expires meanwhile (keyspace, keyIsExpired)
        srv.update_guard()
        try:
            for n, info in enumerate(files, 1):
                last = n == len(files)
                t0 = time.monotonic()
                status = self.load_file(info.name, last, old_style=info.name == self.filename)
                kind = "base" if info is m.base else "incr"
                if info is m.base:
                    self.base_size = _file_size(self.path(info.name))
                if status != "empty" or kind == "base":
                    log.notice(f"DB loaded from {kind} file {info.name}: "
                               f"{time.monotonic() - t0:.3f} seconds")
        finally:
            srv.loading = False
            srv.update_guard()
        self.current_size = sum(_file_size(self.path(i.name)) for i in files)
        log.notice(f"DB loaded from append only file: {time.monotonic() - start:.3f} seconds")
        return True

    def _upgrade(self, old: str) -> None:
        """aofUpgradePrepare: an old single appendonly.aof becomes the base of a manifest."""
        self._mkdir()
        m = Manifest()
        m.base = AofInfo(self.filename, 1, TYPE_BASE)
        m.base_seq = 1
        self.persist_manifest(m)
        os.replace(old, self.path(self.filename))
        self.manifest = m
        self.server.log.notice(f"Successfully migrated an old-style AOF file ({self.filename}) "
                               f"into the AOF directory ({self.server.config['appenddirname']}).")

    def load_file(self, name: str, last: bool, old_style: bool = False) -> str:
        """loadSingleAppendOnlyFile: "ok", "truncated" or "empty"; AofError when it fails."""
        from ...client import Client
        from ...commands import registry

        srv = self.server
        log = srv.log
        path = self.path(name)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise AofError(f"The append log file {name} doesn't exist") from None
        except OSError as e:
            raise AofError(f"Fatal error: can't open the append log file {name} for reading: "
                           f"{e.strerror}") from None
        if not data:
            return "empty"
        pos = 0
        if data.startswith(b"REDIS"):
            log.notice("Reading RDB preamble from AOF file..." if old_style
                       else "Reading RDB base file on AOF loading...")
            try:
                pos = load_rdb_prefix(srv, data, tail=old_style)
            except Exception as e:
                what = "preamble of the AOF file" if old_style else "base file"
                raise AofError(f"Error reading the RDB {what} {name}, AOF loading aborted: "
                               f"{e}") from None
            if old_style:
                log.notice("Reading the remaining AOF tail...")
        c = Client(srv)
        c.authenticated = True
        c.is_master = True  # applied as it is: no limits meant for users, no blocking
        c.deny_blocking = True
        c.update_guard()
        truncated_ok = srv.config["aof-load-truncated"]
        valid_up_to = pos
        valid_before_multi = pos
        reader = CommandReader(data, pos)
        table = registry.TABLE
        call = srv.call
        for argv, end in reader:
            name0 = argv[0]
            cmd = table.get(name0) or table.get(name0.lower())
            if cmd is not None and cmd.subcommands is not None and (
                len(argv) > 1 or cmd.proc is None
            ):
                cmd = cmd.subcommands.get(argv[1].lower()) if len(argv) > 1 else None
            if cmd is None:
                raise AofError(f"Unknown command '{name0.decode('utf-8', 'replace')}' reading "
                               f"the append only file {name}")
            if cmd.name == "multi":
                valid_before_multi = valid_up_to
            if c.in_multi and cmd.name != "exec":
                c.multi_queue.append((cmd, argv))
            elif (cmd.arity > 0 and len(argv) != cmd.arity) or len(argv) < -cmd.arity:
                log.warning(f"Wrong number of arguments for '{cmd.name}' in the append only "
                            f"file {name}: skipped")
            else:
                call(c, cmd, argv)
            valid_up_to = end
        if reader.status == FORMAT:
            raise AofError(f"Bad file format reading the append only file {name}: make a backup "
                           "of your AOF file, then use ./redis-check-aof --fix <filename.manifest>")
        if reader.status == OK and not c.in_multi:
            return "ok"
        if reader.status == OK:
            log.warning(f"Revert incomplete MULTI/EXEC transaction in AOF file {name}")
            valid_up_to = valid_before_multi
        c.discard_multi()
        if truncated_ok and last:
            log.warning(f"!!! Warning: short read while loading the AOF file {name}!!!")
            log.warning(f"!!! Truncating the AOF {name} at offset {valid_up_to} !!!")
            try:
                os.truncate(path, valid_up_to)
            except OSError as e:
                log.warning(f"Error truncating the AOF file {name}: {e.strerror}")
            else:
                log.warning(f"AOF {name} loaded anyway because aof-load-truncated is enabled")
                return "truncated"
        if truncated_ok:
            raise AofError("Fatal error: the truncated file is not the last file")
        raise AofError(
            f"Unexpected end of file reading the append only file {name}. You can: 1) Make a "
            "backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) "
            "Alternatively you can set the 'aof-load-truncated' configuration option to yes and "
            "restart the server.")

    def open_on_start(self) -> None:
        """aofOpenIfNeededOnServerStart: a base for an empty start, the last incr for append."""
        if not self.server.config["appendonly"]:
            return
        log = self.server.log
        try:
            self._mkdir()
        except OSError as e:
            raise AofError(f"Can't open or create append-only dir {self.dirpath}: "
                           f"{e.strerror}") from None
        m = self.manifest
        had_incr = bool(m.incr)
        try:
            if m.base is None and not m.incr:
                name = m.new_base(self.filename, self.server.config["aof-use-rdb-preamble"])
                self.write_base_now(name)
                log.notice(f"Creating AOF base file {name} on server start")
            name = m.last_incr(self.filename)
            fd = os.open(self.path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            self.persist_manifest(m)
        except OSError as e:
            raise AofError(f"Can't open the append-only file: {e.strerror}") from None
        self.last_incr_size = _file_size(self.path(name))
        self.state = ON
        self._switch_fd(fd)
        verb = "Opening" if had_incr else "Creating"
        log.notice(f"{verb} AOF incr file {name} on server start")
        self.delete_history()


def load_rdb_prefix(server: Server, data: bytes, tail: bool) -> int:
    """Load the RDB at the start of ``data``; returns where it ends.

    Keys already expired are kept (the AOF that follows may still touch them; active expiry
    removes them afterwards), as Redis loads a preamble. Only an old-style single file has
    commands after its RDB (``tail``): its end is found with a first pass of the parser.
    """
    from .. import rdb

    end = len(data)
    if tail:
        ctx = rdb._Ctx(rdb.Limits(server.config), 0, False)
        for _ in rdb.parse(data, ctx=ctx):
            pass
        end = ctx.reader.pos
    rdb.load_into(server, data[:end] if end < len(data) else data, drop_expired=False,
                  log=server.log)
    return end
