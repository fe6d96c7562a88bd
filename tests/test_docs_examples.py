"""Every example in docs/testing.md runs as written: each block marked
``<!-- example: NAME run: python|pytest -->`` is written to an empty directory and run, as a
script or with pytest, in a fresh interpreter (the plugin is found through its entry point,
as in a user's project)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "testing.md"
MARK = re.compile(r"<!-- example: (\S+) run: (python|pytest) -->\n```python\n(.*?)```", re.S)
NEEDS = {"test_django_cache.py": "django", "test_rq_jobs.py": "rq",
         "test_asyncio_plugin.py": "pytest_asyncio"}


def examples() -> list[tuple[str, str, str]]:
    return MARK.findall(DOC.read_text())


def test_the_doc_has_the_examples_the_issue_asks_for():
    names = [name for name, _, _ in examples()]
    assert len(names) == len(set(names)) == 8
    assert {"sync.py", "async_app.py", "test_django_cache.py", "test_rq_jobs.py",
            "trio_app.py"} <= set(names)
    # no fenced python block escaped the marker (it would not be run)
    assert DOC.read_text().count("```python") == len(names)


def _plugin_registered() -> bool:
    return any(ep.value == "trioredis.testing" for ep in metadata.entry_points(group="pytest11"))


@pytest.mark.parametrize("name,how,code", examples(), ids=[e[0] for e in examples()])
def test_example_runs(name, how, code, tmp_path):
    if name in NEEDS:
        pytest.importorskip(NEEDS[name])
    path = tmp_path / name
    path.write_text(code)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    if how == "python":
        cmd = [sys.executable, str(path)]
    else:
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)]
        if not _plugin_registered():  # a checkout that is not installed
            cmd[3:3] = ["-p", "trioredis.testing"]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    if how == "pytest":
        assert re.search(r"\b\d+ passed\b", proc.stdout) and "skipped" not in proc.stdout
