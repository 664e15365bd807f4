"""A real browser for the console's tests: Debian's Chromium, driven headless by Playwright (from
PyPI; `playwright install` downloads a browser build of its own, which cannot work here). The
suite installs Chromium and a CJK font with apt-get when it can (as root, which CI is), and says
loudly why the browser tests are skipped when it cannot."""

from __future__ import annotations

import os
import shutil
import subprocess
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


def ensure_chromium() -> Path:
    """Debian's Chromium, installed first if it is missing and this process may install it."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        pytest.skip(
            f"BROWSER TESTS SKIPPED: {CHROMIUM} is missing and cannot be installed here "
            f"(needs root and apt-get): apt-get install -y {' '.join(PACKAGES)}"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            pytest.skip(
                f"BROWSER TESTS SKIPPED: `{' '.join(command)}` failed: {done.stderr[-800:]}"
            )
    if not CHROMIUM.exists():
        pytest.skip(f"BROWSER TESTS SKIPPED: apt-get installed Chromium but {CHROMIUM} is absent")
    return CHROMIUM
