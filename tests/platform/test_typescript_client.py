"""A TypeScript client generated from the gateway's OpenAPI document (@hey-api/openapi-ts, the
document validated first) comes out without a warning and compiles under strict `tsc`, with
tools/clients/example.ts calling it as an app would."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.node_tools import node_tools, run_node_tool

ROOT = Path(__file__).resolve().parents[2]
#: The internal host's: the members' paths and the operators' (the example does both).
GATEWAY_DOCUMENT = ROOT / "docs" / "openapi" / "gateway-internal.json"
#: What the generator prints when it has something to say about a document.
COMPLAINTS = re.compile(r"warn|error|🚨|skipping|unsupported|unhandled", re.IGNORECASE)


@pytest.fixture(scope="module")
def tools() -> Path:
    return node_tools()


def openapi_ts(tools: Path, document: Path, project: Path) -> subprocess.CompletedProcess[str]:
    """The generator run on `document`, writing the client to `project`/generated."""
    config = tools / "openapi-ts.config.mjs"
    command: list[str | Path] = ["openapi-ts", "-f", config, "-i", document]
    return run_node_tool(tools, [*command, "-o", project / "generated"], cwd=project)


def test_the_typescript_client_generates_without_a_warning_and_compiles(
    tools: Path, tmp_path: Path
) -> None:
    for name in ("tsconfig.json", "example.ts"):
        shutil.copy(tools / name, tmp_path / name)
    done = openapi_ts(tools, GATEWAY_DOCUMENT, tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert COMPLAINTS.search(output) is None, output
    sdk = (tmp_path / "generated" / "sdk.gen.ts").read_text("utf-8")
    assert "export const getPoints = " in sdk
    assert "url: '/points/v1/members/{member_id}/export'" in sdk

    compiled = run_node_tool(tools, ["tsc", "-p", tmp_path / "tsconfig.json"], cwd=tmp_path)
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    assert compiled.stdout + compiled.stderr == ""


def test_a_document_the_generator_complains_about_fails_the_check(
    tools: Path, tmp_path: Path
) -> None:
    document = json.loads(GATEWAY_DOCUMENT.read_text("utf-8"))
    document["paths"]["/v1/program"]["get"]["operationId"] = "getPoints"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document), "utf-8")
    done = openapi_ts(tools, broken, tmp_path)
    assert done.returncode != 0
    assert "Duplicate `operationId`" in done.stdout + done.stderr
