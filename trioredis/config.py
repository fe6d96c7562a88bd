"""Configuration parameters: one table of Redis's names, types, defaults and mutability.

Used by the command line (``--name value``), redis.conf-style files, CONFIG GET/SET/REWRITE and
INFO. Values are kept typed (int, bool, str, list); :meth:`Config.render` gives Redis's text.
Modules that add parameters (replication, cluster, gateway) call :func:`param` at import;
the table itself is in :mod:`trioredis.config_params`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from .config_params import ALIASES, PARAMS, Param, _parse_cobl, param, parse_memory
from .errors import CommandError, ConfigError
from .protocol.parser import ParseError, split_inline

__all__ = ["ALIASES", "PARAMS", "Config", "ConfigError", "Param", "canonical", "param",
           "parse_memory"]


def canonical(name: str) -> str | None:
    return ALIASES.get(name.lower())


class Config:
    """Typed values of every parameter, plus where they came from (for CONFIG REWRITE)."""

    def __init__(self, **overrides):
        self.values: dict[str, Any] = {n: _copy(p.default) for n, p in PARAMS.items()}
        self.config_file: str | None = None
        self.listeners: dict[str, list[Callable]] = {}
        # Repeatable directives that are not parameters: `user` lines (ACL users, loaded by
        # trioredis/acl/ at startup) and `rename-command`, each a list of its words.
        self.directives: dict[str, list[list[str]]] = {}
        # CONFIG REWRITE of a non-parameter directive: name -> fn() giving its lines (the ACL
        # writes every user, as Redis's rewriteConfigUserOption).
        self.rewriters: dict[str, Callable[[], list[str]]] = {}
        for k, v in overrides.items():
            self.values[canonical(k.replace("_", "-")) or k] = v

    def __getitem__(self, name: str):
        return self.values[name]

    def get(self, name: str, default=None):
        return self.values.get(name, default)

    def on_change(self, name: str, fn: Callable) -> None:
        self.listeners.setdefault(name, []).append(fn)

    # -- setting -----------------------------------------------------------------------------

    def parse_value(self, name: str, text: str):
        """The typed value of ``text`` for ``name``; ConfigError with Redis's reason if bad."""
        value = self._parse(PARAMS[name], text)
        check = PARAMS[name].check
        if check is not None:
            check(value)
        return value

    def _parse(self, p: Param, text: str):
        name = p.name
        k = p.kind
        if k == "int":
            try:
                v = int(text)
            except ValueError:
                raise ConfigError("argument couldn't be parsed into an integer") from None
            _check_range(p, v)
            return v
        if k == "memory":
            v = parse_memory(text)
            _check_range(p, v)
            return v
        if k == "bool":
            t = text.lower()
            if t not in ("yes", "no"):
                raise ConfigError("argument must be 'yes' or 'no'")
            return t == "yes"
        if k == "enum":
            t = text.lower()
            if t not in p.choices:
                raise ConfigError("argument(s) must be one of the following: " + ", ".join(p.choices))
            return t
        if k == "list":
            return text.split()
        if k == "special":
            if p.parse is _parse_cobl:
                return _parse_cobl(text, self.values.get(name))
            return p.parse(text)
        return text

    def set(self, name: str, text: str, startup: bool = False) -> None:
        """Set ``name`` from its text form; ConfigError on a bad value or immutable parameter."""
        canon = canonical(name)
        if canon is None:
            raise ConfigError("Bad directive or wrong number of arguments")
        p = PARAMS[canon]
        if not startup and not p.mutable:
            raise ConfigError("can't set immutable config")
        value = self.parse_value(canon, text)
        old = self.values.get(canon)
        self.values[canon] = value
        if not startup:
            for fn in self.listeners.get(canon, ()):
                try:
                    fn(value, old)
                except ConfigError:
                    self.values[canon] = old
                    raise

    def set_value(self, name: str, value) -> None:
        """Set a typed value directly (internal use: REPLICAOF, ...)."""
        self.values[name] = value

    def render(self, name: str) -> str:
        p = PARAMS[name]
        v = self.values[name]
        if p.kind == "bool":
            return "yes" if v else "no"
        if p.kind == "list":
            return " ".join(v)
        if p.kind == "special":
            return p.render(v)
        return str(v)

    # -- files -----------------------------------------------------------------------------

    def load_file(self, path: str) -> None:
        """Read a redis.conf-style file: ``directive value ...``, ``#`` comments, quotes."""
        # Values are bytes to Redis (a password may be any bytes): text that is not UTF-8 is
        # kept byte for byte as surrogate escapes, as CONFIG SET keeps its arguments.
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        self.config_file = os.path.abspath(path)
        self.load_text(text, path)

    def load_text(self, text: str, source: str = "config") -> None:
        for lineno, line in enumerate(text.splitlines(), 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            try:
                words = _split_words(stripped)
            except ParseError:
                raise ConfigError(f"{source}:{lineno}: unbalanced quotes in configuration line") from None
            if not words:
                continue
            self.apply_directive(words[0], words[1:], f"{source}:{lineno}")

    def apply_directive(self, name: str, args: list[str], where: str = "") -> None:
        name = name.lower()
        if name == "include":
            for a in args:
                self.load_file(a)
            return
        if name in DIRECTIVES:
            self._directive(name, args, where)
            return
        canon = canonical(name)
        if canon is None:
            raise ConfigError(f"{where} Bad directive or wrong number of arguments: '{name}'".strip())
        p = PARAMS[canon]
        if p.multi_arg or p.kind == "list":
            text = " ".join(args)
        else:
            if len(args) != 1:
                raise ConfigError(f"{where} wrong number of arguments for '{name}'".strip())
            text = args[0]
        try:
            self.set(canon, text, startup=True)
        except ConfigError as e:
            raise ConfigError(f"{where} {name}: {e}".strip()) from None

    def _directive(self, name: str, args: list[str], where: str) -> None:
        """A `user <name> <rules...>` line (kept for the ACL; a name given twice is refused
        as Redis refuses it, ACLAppendUserForLoading's EALREADY) or `rename-command old new`
        (applied by renames.py when the server starts)."""
        if not args:
            raise ConfigError(f"{where} Bad directive or wrong number of arguments: '{name}'"
                              .strip())
        seen = self.directives.setdefault(name, [])
        if name == "rename-command":
            if len(args) != 2:
                raise ConfigError(f"{where} wrong number of arguments for 'rename-command'"
                                  .strip())
            seen.append(list(args))
            return
        if any(words[0] == args[0] for words in seen):
            raise ConfigError(f"{where} Error in user declaration '{args[0]}': Duplicate user "
                              "found. A user can only be defined once in config files".strip())
        seen.append(list(args))

    def rewrite(self) -> None:
        """CONFIG REWRITE: keep the file's lines, update changed values, append the rest."""
        path = self.config_file
        if not path:
            raise CommandError("ERR The server is running without a config file")
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            lines = []
        out, done = [], set()
        for line in lines:
            stripped = line.strip()
            if stripped and not stripped.startswith("#"):
                try:
                    words = _split_words(stripped)
                except ParseError:
                    words = []
                directive = words[0].lower() if words else None
                if directive in self.rewriters:  # `user` lines: what the ACL holds now
                    if directive not in done:
                        done.add(directive)
                        out.extend(self.rewriters[directive]())
                    continue
                canon = canonical(words[0]) if words else None
                if canon is not None and canon in PARAMS:
                    if canon in done:
                        continue
                    done.add(canon)
                    out.append(self._rewrite_line(canon))
                    continue
            out.append(line)
        for name in PARAMS:
            if name not in done and self.values[name] != PARAMS[name].default:
                out.append(self._rewrite_line(name))
        for directive, lines_of in self.rewriters.items():
            if directive not in done:
                out.extend(lines_of())
        tmp = f"{path}.tmp-{os.getpid()}"
        with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write("\n".join(out) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def _rewrite_line(self, name: str) -> str:
        value = self.render(name)
        p = PARAMS[name]
        if p.kind == "special" and name == "save" and not value:
            return 'save ""'
        if p.multi_arg or p.kind == "list":
            return f"{name} {value}" if value else f'{name} ""'
        if value == "" or any(ch in value for ch in ' "\'\\') or not value.isprintable():
            value = quote_value(value)
        return f"{name} {value}"


DIRECTIVES = frozenset({"user", "rename-command"})


def _split_words(line: str) -> list[str]:
    """One config line's words, quotes and escapes resolved (bytes kept as surrogates)."""
    raw = split_inline(line.encode("utf-8", "surrogateescape"))
    return [w.decode("utf-8", "surrogateescape") for w in raw]


def quote_value(value: str) -> str:
    """Redis's sdscatrepr: a double-quoted value that split_inline reads back byte for byte."""
    out = ['"']
    for b in value.encode("utf-8", "surrogateescape"):
        ch = chr(b)
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\a":
            out.append("\\a")
        elif ch == "\b":
            out.append("\\b")
        elif 32 <= b < 127:
            out.append(ch)
        else:
            out.append(f"\\x{b:02x}")
    out.append('"')
    return "".join(out)


def _check_range(p: Param, v: int) -> None:
    if (p.minimum is not None and v < p.minimum) or (p.maximum is not None and v > p.maximum):
        raise ConfigError(f"argument must be between {p.minimum} and {p.maximum} inclusive")


def _copy(v):
    if isinstance(v, list):
        return list(v)
    if isinstance(v, dict):
        return dict(v)
    return v
