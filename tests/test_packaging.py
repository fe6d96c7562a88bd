"""``python -m build`` makes an sdist and a wheel holding the dashboard's static files and the
console script, and the wheel installed in a fresh venv gives a working ``trioredis``.

Slow (a build in an isolated environment, then a venv that installs the dependencies), so it
is marked ``slow``; it needs the ``build`` package (in the test extra) and a package index
that pip can reach.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import trioredis

from .helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
STATIC = {"dashboard.html", "dashboard.js", "dashboard.css"}
DATA = [f"trioredis/gateway/static/{f}" for f in sorted(STATIC)] + [
    "trioredis/scripting/sandbox.lua"]


def test_every_data_file_of_the_package_is_listed_here():
    """A file that is not Python must be package data (pyproject.toml) and checked below."""
    found = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "trioredis").rglob("*")
                   if p.is_file() and p.suffix not in (".py", ".pyc")
                   and "__pycache__" not in p.parts)
    assert found == sorted(DATA)

pytest.importorskip("build", reason="the build package is not installed (pip install build)")


# The installed package must be the one found, not a checkout named by PYTHONPATH.
_VENV_ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    kw.setdefault("env", _VENV_ENV)
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """An sdist and a wheel, built from a copy of the sources (the work tree stays clean)."""
    base = tmp_path_factory.mktemp("pkg")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "trioredis", src / "trioredis",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = base / "dist"
    _run([sys.executable, "-m", "build", "--outdir", str(out), str(src)], timeout=600)
    return out


@pytest.mark.slow
def test_sdist_and_wheel_hold_the_static_files_and_the_script(dist):
    (whl,) = dist.glob("trioredis-*.whl")
    (sdist,) = dist.glob("trioredis-*.tar.gz")
    with zipfile.ZipFile(whl) as z:
        names = set(z.namelist())
        assert set(DATA) <= names
        ep = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        entry_points = z.read(ep).decode()
    assert "trioredis = trioredis.cli:main" in entry_points  # the console script
    assert "trioredis = trioredis.testing" in entry_points  # the pytest11 plugin
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    assert set(DATA) <= names
    assert "pyproject.toml" in names and "trioredis/cli.py" in names


@pytest.mark.slow
def test_the_wheel_installs_in_a_fresh_venv(dist, tmp_path):
    (whl,) = dist.glob("trioredis-*.whl")
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    _run([str(venv / "bin" / "pip"), "install", "-q", str(whl)], timeout=900)
    out = _run([str(venv / "bin" / "trioredis"), "--version"], cwd=tmp_path, timeout=60).stdout
    assert out.startswith(f"trioredis {trioredis.__version__} ")
    # and it serves: a Lua script (the sandbox file) through the installed console script
    port = free_port()
    srv = subprocess.Popen([str(venv / "bin" / "trioredis"), "server", "--port", str(port),
                            "--save", ""], cwd=tmp_path, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, env=_VENV_ENV)
    try:
        import redis

        r = redis.Redis(port=port, retry_on_error=[redis.ConnectionError],
                        retry=redis.retry.Retry(redis.backoff.ConstantBackoff(0.05), 200))
        assert r.eval("return redis.call('ping')", 0) == b"PONG"
    finally:
        srv.terminate()
        srv.wait(10)
    # the installed package (not this checkout) finds its dashboard files
    check = ("import trioredis, importlib.resources as r; "
             "print(trioredis.__file__); "
             "print(all(r.files('trioredis.gateway').joinpath('static', f).is_file() "
             f"for f in {sorted(STATIC)!r}))")
    lines = _run([str(venv / "bin" / "python"), "-c", check], cwd=tmp_path,
                 timeout=60).stdout.split()
    assert lines[0].startswith(str(venv)) and lines[1] == "True"
