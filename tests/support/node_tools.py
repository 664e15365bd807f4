"""The npm tools of tools/clients (exact versions in its package-lock.json): copied with their
scripts to .tools/clients and installed there with `npm ci` on first use, and again whenever the
lock file changes. Nothing lands in the repository's tracked tree. Without node and npm (or
with a node older than the tools need) a test that asks for them is skipped, saying why."""

from __future__ import annotations

import fcntl
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "tools" / "clients"
INSTALLED = ROOT / ".tools" / "clients"
NPM_CACHE = ROOT / ".tools" / "npm-cache"
#: @hey-api/openapi-ts 0.95 needs 20.19 or later.
NODE_AT_LEAST = (20, 19)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def node_version(node: str) -> tuple[int, ...]:
    text = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=True, timeout=30
    ).stdout
    return tuple(int(part) for part in text.strip().lstrip("v").split(".")[:2])


def _copy_if_changed(source: Path, target: Path) -> None:
    if not target.is_file() or target.read_bytes() != source.read_bytes():
        shutil.copy2(source, target)


def node_tools() -> Path:
    """The directory holding tools/clients' files and their node_modules, installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are not on PATH: install Node.js 20.19+ to generate clients")
    if node_version(node) < NODE_AT_LEAST:
        pytest.skip(f"node {node_version(node)} is older than {NODE_AT_LEAST}, what the tools need")
    INSTALLED.mkdir(parents=True, exist_ok=True)
    # under `pytest -n`, one worker installs while the others wait for it
    with (INSTALLED.parent / "clients.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for source in SOURCE.iterdir():
            if source.is_file():
                _copy_if_changed(source, INSTALLED / source.name)
        npm_ci(npm, INSTALLED, "--ignore-scripts")
    return INSTALLED


def npm_ci(npm: str, directory: Path, *options: str) -> None:
    """`npm ci` in `directory` with the project's npm cache, under a lock the suite's workers
    share, unless its node_modules was installed from the same lock file already: `npm ci`
    deletes node_modules first, so a second worker installing again would pull the packages
    from under a test of the first one that is running them. npm exits 0 when a file of a
    package could not be written (a tar entry error is a warning), leaving a package half there:
    such a warning fails the install, after one more try."""
    stamp = directory / "node_modules" / ".installed-from-lock"
    wanted = (directory / "package-lock.json").read_bytes()
    NPM_CACHE.parent.mkdir(parents=True, exist_ok=True)
    with (NPM_CACHE.parent / "npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_bytes() == wanted:
            return
        for _ in range(2):
            done = subprocess.run(
                [npm, "ci", *options, "--no-audit", "--no-fund", "--cache", NPM_CACHE],
                cwd=directory,
                capture_output=True,
                text=True,
                timeout=900,
                check=False,
            )
            if done.returncode == 0 and "TAR_ENTRY_ERROR" not in done.stderr:
                stamp.write_bytes(wanted)
                return
        raise AssertionError(f"npm ci in {directory} failed twice:\n{done.stderr[-4000:]}")


def run_node_tool(
    tools: Path, command: list[str | Path], cwd: Path
) -> subprocess.CompletedProcess[str]:
    """`command` run in `cwd`, its first item `node` or a binary of node_modules/.bin; its output
    has no colour codes."""
    node = Path(shutil.which("node") or "node")
    program = node if command[0] == "node" else tools / "node_modules" / ".bin" / command[0]
    done = subprocess.run(
        [program, *command[1:]],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PATH": str(node.parent), "NO_COLOR": "1"},
    )
    done.stdout, done.stderr = ANSI.sub("", done.stdout), ANSI.sub("", done.stderr)
    return done
