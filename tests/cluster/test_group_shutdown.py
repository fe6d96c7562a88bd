"""SIGTERM to every member of a group at once: each saves, logs and exits 0, never with a
traceback (a replica's link error meeting the shutdown's cancellation used to escape as an
exception group, in about half the tries)."""

from __future__ import annotations

import os
import signal

from .harness import Group

TRIES = 3


def test_sigterm_to_all_members_at_once_exits_cleanly():
    for _ in range(TRIES):
        g = Group(3).start()
        try:
            g.nodes[0].call("SET", "k", "v")
            for n in g.nodes:
                n.proc.send_signal(signal.SIGTERM)
            for n in g.nodes:
                rc = n.proc.wait(timeout=60)
                with open(os.path.join(n.dir, "stderr")) as f:
                    err = f.read()
                log = n.tail()
                assert rc == 0, f"{n.name} exit code {rc}: {err[-2000:]}"
                assert "Traceback" not in err and "Traceback" not in log, err[-2000:]
                assert "ready to exit" in log
        finally:
            g.stop()
