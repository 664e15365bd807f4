"""A real browser for the console's tests: Debian's Chromium, driven headless by Playwright (from
PyPI; `playwright install` downloads a browser build of its own, which cannot work here). The
suite installs Chromium and a CJK font with apt-get when it can (as root, which CI is), and says
loudly why the browser tests are skipped when it cannot."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
#: The browser's own font for Chinese: without one every character is an empty box.
PACKAGES = ("chromium", "fonts-wqy-microhei")
#: Flags for a machine without a screen or a network beyond loopback (nothing phones home).
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


#: Held while installing: the suite's workers (xdist) would otherwise run apt-get at once, and
#: all but one would fail on apt's own lock and skip their browser tests.
INSTALL_LOCK = Path(tempfile.gettempdir()) / "loyalty-tests-chromium.lock"


def ensure_chromium() -> Path:
    """Debian's Chromium, installed first if it is missing and this process may install it."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing and cannot be installed here "
            f"(needs root and apt-get): apt-get install -y {' '.join(PACKAGES)}"
        )
    with INSTALL_LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker may be installing it right now
        if not CHROMIUM.exists():
            _install()
    if not CHROMIUM.exists():
        pytest.skip(f"BROWSER TESTS SKIPPED: apt-get installed Chromium but {CHROMIUM} is absent")
    return CHROMIUM


def _install() -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(
                f"BROWSER TESTS SKIPPED: `{' '.join(command)}` failed: {done.stderr[-800:]}"
            )
