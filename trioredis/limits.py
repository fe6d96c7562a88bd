"""Redis's connection limits and defences, as plain functions the Trio layer and the call path
call: protected mode (only loopback clients while the default user has no password), the
open-files limit behind ``maxclients``, ``timeout`` for idle clients, and the cross-protocol
defence (a ``POST`` or ``Host:`` request is an HTTP client pointed at us: log, close).
"""

from __future__ import annotations

import errno
import ipaddress
import os
import time

from .errors import StartupError
from .extensions import SERVER_INIT

DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from "
    b"the loopback interface. If you want to connect from external computers to Redis you may "
    b"adopt one of the following solutions: 1) Just disable protected mode sending the command "
    b"'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from "
    b"the same host the server is running, however MAKE SURE Redis is not publicly accessible "
    b"from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) "
    b"Alternatively you can just disable the protected mode by editing the Redis "
    b"configuration file, and setting the protected mode option to 'no', and then restarting "
    b"the server. 3) If you started the server manually just for testing, restart it with the "
    b"'--protected-mode no' option. 4) Setup a an authentication password for the default "
    b"user. NOTE: You only need to do one of the above things in order for the server to start "
    b"accepting connections from the outside.\r\n"
)
SECURITY_ATTACK = (
    "Possible SECURITY ATTACK detected. It looks like somebody is sending POST or Host: "
    "commands to Redis. This is likely due to an attacker attempting to use Cross Protocol "
    "Scripting to compromise your Redis instance. Connection aborted."
)
CROSS_PROTOCOL = frozenset({b"post", b"host:"})
MIN_RESERVED_FDS = 32  # CONFIG_MIN_RESERVED_FDS: listeners, files, replication, ...


def is_loopback(host: str) -> bool:
    """connIsLocal for a TCP peer: 127.0.0.0/8 or ::1 (IPv4-mapped included)."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def protected_mode_refusal(server, host: str | None) -> bytes | None:
    """The -DENIED line for a non-local client while protected mode applies (Redis 7.0:
    ``protected-mode yes`` and a default user without password, whatever ``bind`` says);
    ``host`` None for a Unix socket client, always local."""
    if host is None or not server.config["protected-mode"]:
        return None
    default = server.acl.default if server.acl is not None else None
    if default is not None and not default.nopass:
        return None
    if is_loopback(host):
        return None
    server.stat_rejected_conn += 1
    return DENIED


def cross_protocol_request(server, c) -> None:
    """securityWarningCommand: logged at most once a minute; the client is closed with no
    reply (what it sent before still gets its replies)."""
    now = time.time()
    if abs(now - server.security_logged_at) > 60:
        server.log.warning(SECURITY_ATTACK)
        server.security_logged_at = now
    c.reply_mode = "off"
    c.close_after_reply = True


def adjust_open_files_limit(config, log) -> None:
    """adjustOpenFilesLimit: raise RLIMIT_NOFILE to maxclients + 32, or lower maxclients to
    what the limit allows, with Redis's log lines."""
    try:
        import resource
    except ImportError:  # not on this platform
        return
    maxclients = config["maxclients"]
    maxfiles = maxclients + MIN_RESERVED_FDS
    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError) as e:
        log.warning(f"Unable to obtain the current NOFILE limit ({e}), assuming 1024 and "
                    "setting the max clients configuration accordingly.")
        config.set_value("maxclients", 1024 - MIN_RESERVED_FDS)
        return
    if soft == resource.RLIM_INFINITY or soft >= maxfiles:
        return
    oldlimit = soft
    bestlimit = maxfiles
    error = None
    while bestlimit > oldlimit:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (bestlimit, bestlimit))
            break
        except (OSError, ValueError) as e:  # Python reports EPERM as a ValueError
            error = e
            bestlimit -= 16
    if bestlimit < oldlimit:
        bestlimit = oldlimit
    if bestlimit < maxfiles:
        old_maxclients = maxclients
        maxclients = bestlimit - MIN_RESERVED_FDS
        if bestlimit <= MIN_RESERVED_FDS:
            raise StartupError(
                f"Your current 'ulimit -n' of {oldlimit} is not enough for the server to "
                f"start. Please increase your open file limit to at least {maxfiles}. Exiting.")
        log.warning(f"You requested maxclients of {old_maxclients} requiring at least "
                    f"{maxfiles} max file descriptors.")
        reason = getattr(error, "strerror", None) or os.strerror(errno.EPERM)
        log.warning(f"Server can't set maximum open files to {maxfiles} because of OS error: "
                    f"{reason}.")
        log.warning(f"Current maximum open files is {bestlimit}. maxclients has been reduced "
                    f"to {maxclients} to compensate for low ulimit. If you need higher "
                    "maxclients increase 'ulimit -n'.")
        config.set_value("maxclients", maxclients)
    else:
        log.notice(f"Increased maximum number of open files to {maxfiles} (it was originally "
                   f"set to {oldlimit}).")


def close_idle_clients(server) -> None:
    """clientsCronHandleTimeout: ``timeout`` seconds without a request closes a normal client
    (not a replica, the master link, a blocked client or a subscriber)."""
    maxidle = server.config["timeout"]
    if not maxidle:
        return
    now = server.cached_ms
    for c in list(server.clients.values()):
        if c.is_replica or c.is_master or c.blocked is not None or c.conn is None:
            continue
        if c.channels or c.patterns or c.shard_channels:
            continue
        if (now - c.last_ms) // 1000 > maxidle:
            server.log.verbose("Closing idle client")
            c.conn.kill()


def install(server) -> None:
    server.security_logged_at = 0.0
    server.add_hook("cron", lambda: close_idle_clients(server))


SERVER_INIT.append(install)
