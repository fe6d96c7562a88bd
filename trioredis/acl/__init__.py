"""ACL users, as Redis 7.0: rules and selectors (``rules``), the permission check (``check``),
the ACL LOG (``log``), the ACL file (``aclfile``) and the server's set of users (``manager``).

``install`` runs for every server (``SERVER_INIT``): ``server.acl`` is the :class:`Acl`, kept in
step with ``requirepass`` and ``acllog-max-len``; the config's ``user`` lines or the ``aclfile``
are loaded before clients are accepted (the ``startup`` hook).
"""

from __future__ import annotations

import os

from ..errors import StartupError
from ..extensions import SERVER_INIT
from .manager import Acl, load_acl_file

__all__ = ["Acl", "acl_of", "aclfile_path", "install", "load_acl_file"]

BOTH_SOURCES = (
    "Configuring Redis with users defined in redis.conf and at the same setting an ACL file "
    "path is invalid. This setup is very likely to lead to configuration errors and security "
    "holes, please define either an ACL file or declare users directly in your redis.conf, but "
    "not both."
)


def acl_of(server) -> Acl:
    return server.acl


def install(server) -> None:
    acl = server.acl = Acl(server)
    cfg = server.config
    if cfg["requirepass"]:
        acl.set_default_password(cfg["requirepass"])
    cfg.on_change("requirepass", lambda value, old: acl.set_default_password(value))
    cfg.on_change("acllog-max-len", lambda value, old: acl.log.trim(value))
    server.add_hook("acl_check_cmd", acl.script_may_run)
    cfg.rewriters["user"] = lambda: rewrite_user_lines(server)
    server.add_hook("startup", lambda runner=None: load_startup_users(server))


def aclfile_path(cfg) -> str:
    """The ACL file, relative to ``dir`` as Redis (which works inside ``dir``) reads it."""
    return os.path.join(cfg["dir"], cfg["aclfile"])


def rewrite_user_lines(server) -> list[str]:
    """CONFIG REWRITE: every user as a `user` line, or none when an ACL file holds them."""
    if server.config["aclfile"]:
        return []
    return [line.decode("utf-8", "surrogateescape") for line in server.acl.describe_all()]


def load_startup_users(server) -> None:
    """ACLLoadUsersAtStartup: the config's `user` lines, or the ACL file, not both."""
    acl = server.acl
    cfg = server.config
    lines = [[w.encode("utf-8", "surrogateescape") for w in words]
             for words in getattr(cfg, "directives", {}).get("user", [])]
    if cfg["aclfile"] and lines:
        raise StartupError(BOTH_SOURCES)
    if lines:
        acl.load_config_users(lines)
        acl.refresh_clients(acl.default)
    if cfg["aclfile"]:
        errors = load_acl_file(acl, aclfile_path(cfg))
        if errors is not None:
            raise StartupError(f"Aborting Redis startup because of ACL errors: {errors}")


SERVER_INIT.append(install)
