"""The ACL file (``aclfile``): ACL LOAD reads it into a fresh set of users, all or nothing;
ACL SAVE writes every user in the config-file form, through a temporary file and a rename.

Error texts are Redis's ACLLoadFromFile ones, joined on one line.
"""

from __future__ import annotations

import os

from .rules import RuleError, User, has_spaces, merge_selector_args

ROLLBACK = "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"


def load_users(acl, filename: str) -> tuple[dict | None, str | None]:
    """Parse ``filename``: (users by name, None) or (None, the errors)."""
    try:
        with open(filename, "rb") as f:
            data = f.read()
    except OSError as e:
        return None, f"Error loading ACLs, opening file '{filename}': {e.strerror}"
    u = acl.universe
    users: dict[bytes, User] = {}
    errors = ""
    for i, raw in enumerate(data.split(b"\n")):
        linenum = i + 1
        line = raw.strip(b" \t\r\n")
        if not line:
            continue
        argv = [w for w in line.split(b" ") if w]
        if not argv:
            continue
        if argv[0] != b"user" or len(argv) < 2:
            errors += (f"{filename}:{linenum} should start with user keyword followed by the "
                       "username. ")
            continue
        name = argv[1]
        shown = name.decode("utf-8", "surrogateescape")
        if has_spaces(name):
            errors += f"'{filename}:{linenum}: username '{shown}' contains invalid characters. "
            continue
        if name in users:
            errors += f"WARNING: Duplicate user '{shown}' found on line {linenum}. "
            continue
        user = users[name] = acl.new_user(name)
        merged, _ = merge_selector_args(argv[2:])
        if merged is None:
            errors += f"{filename}:{linenum}: Unmatched parenthesis in selector definition."
            continue
        syntax_error = False
        for rule in merged:
            rule = rule.strip(b"\t\r\n")
            try:
                user.apply(u, rule, acl.allchannels_default)
            except RuleError as e:
                if e.missing:
                    errors += (f"{filename}:{linenum}: Error in applying operation "
                               f"'{rule.decode('utf-8', 'surrogateescape')}': {e}. ")
                elif not syntax_error:
                    errors += f"{filename}:{linenum}: {e}. "
                    syntax_error = True
    if errors:
        return None, errors + ROLLBACK
    return users, None


def save_users(acl, filename: str) -> bool:
    """Write every user to ``filename`` atomically; False (logged) on an I/O error."""
    text = b"".join(line + b"\n" for line in acl.describe_all())
    tmp = f"{filename}.tmp-{os.getpid()}-{int(acl.server.clock.time() * 1000)}"
    try:
        with open(tmp, "wb") as f:
            f.write(text)
        os.replace(tmp, filename)
    except OSError as e:
        acl.server.log.warning(f"Writing ACL file for ACL SAVE: {e.strerror}")
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True
