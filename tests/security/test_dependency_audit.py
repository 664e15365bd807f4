"""`make lint` audits the lock file for known vulnerabilities (pip-audit against OSV). Here a
real HTTP server stands in for OSV, because this machine does not reach the internet."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from loyalty_devkit.dependency_audit import audit_requirements

ADVISORY = {
    "id": "GHSA-xxxx-test-0001",
    "summary": "template sandbox escape",
    "details": "a test advisory",
    "aliases": ["CVE-2099-0001"],
    "affected": [
        {
            "package": {"name": "jinja2", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "99.0"}]}],
            "versions": [],
        }
    ],
}
LOCKED = (
    "jinja2==3.1.6 \\\n"
    "    --hash=sha256:85ece4451f492d0c13c5dd7c13a64681a86afae63a5f347908daf103ce6d2f67\n"
    "httpx==0.28.1 \\\n"
    "    --hash=sha256:75e98c5f16b0f35b567856f597f06ff2270a374470a5c2392242528e3e3e42fc\n"
)


@pytest.fixture
def requirements(tmp_path: Path) -> Path:
    path = tmp_path / "requirements.txt"
    path.write_text(LOCKED)
    return path


@pytest.fixture
def osv_with_advisory_for() -> Iterator[tuple[str, set[str]]]:
    """An OSV query endpoint that knows an advisory for the package names put in the set."""
    vulnerable: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            name = query["package"]["name"]
            body = json.dumps({"vulns": [ADVISORY]} if name in vulnerable else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/v1/query", vulnerable
    finally:
        server.shutdown()


def test_a_locked_package_with_a_known_advisory_fails_the_audit(
    requirements: Path,
    osv_with_advisory_for: tuple[str, set[str]],
    capfd: pytest.CaptureFixture[str],
) -> None:
    url, vulnerable = osv_with_advisory_for
    vulnerable.add("jinja2")

    outcome = audit_requirements(requirements, osv_url=url)

    assert outcome.exit_code == 1
    assert "CVE-2099-0001" in capfd.readouterr().out


def test_a_lock_file_without_known_advisories_passes(
    requirements: Path, osv_with_advisory_for: tuple[str, set[str]]
) -> None:
    url, _ = osv_with_advisory_for

    assert audit_requirements(requirements, osv_url=url).exit_code == 0


def test_an_unreachable_advisory_service_fails_make_audit_and_only_warns_in_make_lint(
    requirements: Path,
) -> None:
    nowhere = "http://127.0.0.1:9/v1/query"

    strict = audit_requirements(requirements, osv_url=nowhere)
    lenient = audit_requirements(requirements, osv_url=nowhere, skip_when_unreachable=True)

    assert strict.exit_code == 2
    assert "unreachable" in strict.message
    assert lenient.exit_code == 0
    assert lenient.message.startswith("WARNING")
