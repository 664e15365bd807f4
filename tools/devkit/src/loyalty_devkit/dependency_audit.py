"""Known vulnerabilities in the locked dependencies: pip-audit over the lock file's export.

pip-audit does the auditing; this module only decides what an unreachable advisory service
means. Machines without internet (this project's CI among them) reach the package registry
but not OSV, so `make lint` may skip the audit there, loudly; `make audit` never skips.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

DEFAULT_OSV_URL = "https://api.osv.dev/v1/query"


@dataclass(frozen=True)
class AuditOutcome:
    exit_code: int
    message: str


def advisory_service_unreachable(osv_url: str, timeout_s: float = 5.0) -> str | None:
    """Why the advisory service cannot be asked, or None when it answers at all."""
    probe = {"package": {"name": "pip", "ecosystem": "PyPI"}, "version": "0"}
    try:
        httpx.post(osv_url, json=probe, timeout=timeout_s)
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    return None


def audit_requirements(
    requirements: Path, *, osv_url: str = DEFAULT_OSV_URL, skip_when_unreachable: bool = False
) -> AuditOutcome:
    """Run pip-audit over a hashed, fully pinned requirements file (uv export of uv.lock)."""
    unreachable = advisory_service_unreachable(osv_url)
    if unreachable is not None:
        message = f"dependency audit: advisory service {osv_url} unreachable ({unreachable})"
        if skip_when_unreachable:
            return AuditOutcome(0, f"WARNING {message}; skipped (run `make audit` where it is)")
        return AuditOutcome(2, message)
    # --disable-pip: the lock already pins every package with its hashes, nothing to resolve.
    command = [
        sys.executable,
        "-m",
        "pip_audit",
        "--requirement",
        str(requirements),
        "--require-hashes",
        "--disable-pip",
        "--vulnerability-service",
        "osv",
        "--osv-url",
        osv_url,
        "--progress-spinner",
        "off",
        "--desc",
        "on",
    ]
    completed = subprocess.run(command, check=False)
    if completed.returncode == 0:
        return AuditOutcome(0, "dependency audit: no known vulnerabilities in the lock file")
    return AuditOutcome(
        1, f"dependency audit: pip-audit found vulnerabilities (exit {completed.returncode})"
    )
