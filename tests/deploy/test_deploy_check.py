"""`make deploy-check` passes on the repository and fails on a manifest broken on purpose (in a
copy of deploy/ under a temporary directory: the real tree is never touched)."""

from __future__ import annotations

import contextlib
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.conftest import DEPLOY, deploy_check, needs_kubectl

pytestmark = needs_kubectl


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    """The check as `make deploy-check` runs it: a separate process."""
    return subprocess.run(
        [sys.executable, str(DEPLOY / "check" / "deploy_check.py"), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def check_copy(root: Path) -> subprocess.CompletedProcess[str]:
    """The same check in this process (no interpreter start per case), same result shape."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = deploy_check.check(root)
    return subprocess.CompletedProcess([], status, out.getvalue(), "")


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "deploy"
    shutil.copytree(DEPLOY, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_passes_on_the_repository() -> None:
    result = run_check(DEPLOY)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "deploy-check passed" in result.stdout
    for overlay in ("dev", "prod"):
        assert f"ok   {overlay}:" in result.stdout


def test_fails_on_an_unknown_field_in_a_built_in_kind(copy: Path) -> None:
    edit(copy / "base/services/tiers.yaml", "timeoutSeconds: 3", "timeoutSecond: 3")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "Deployment/loyalty-tiers" in result.stdout
    assert "timeoutSecond" in result.stdout


def test_fails_on_a_bad_field_in_a_custom_resource(copy: Path) -> None:
    edit(copy / "base/postgres/points.yaml", "poolMode: transaction", "poolMode: statements")
    edit(copy / "base/kafka/kafka.yaml", "  entityOperator:", "  entityOperators:")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "Pooler/points-db-pooler-rw" in result.stdout
    assert "Kafka/loyalty" in result.stdout
    assert "entityOperators" in result.stdout


def test_fails_on_a_wrong_type_in_a_custom_resource(copy: Path) -> None:
    edit(copy / "base/kafka/topics.yaml", "partitions: 12", "partitions: twelve")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "KafkaTopic/commerce-purchases" in result.stdout


def test_fails_on_a_kind_it_has_no_schema_for(copy: Path) -> None:
    (copy / "base/extra.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n", encoding="utf-8"
    )
    edit(
        copy / "base/kustomization.yaml",
        "  - namespace.yaml\n",
        "  - namespace.yaml\n  - extra.yaml\n",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "Widget/w" in result.stdout
    assert "no schema" in result.stdout


def test_fails_on_a_policy_violation(copy: Path) -> None:
    edit(
        copy / "base/services/points.yaml",
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: true",
    )
    edit(
        copy / "base/services/feedback.yaml",
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: false",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] CKV_K8S_20 Deployment/loyalty-points" in result.stdout
    assert "[medium] CKV_K8S_22 Deployment/loyalty-feedback" in result.stdout


def test_fails_on_a_committed_secret_value(copy: Path) -> None:
    (copy / "base/secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: loyalty-jwt\n"
        "stringData:\n  secret: not-a-real-one-but-still-committed\n",
        encoding="utf-8",
    )
    edit(
        copy / "base/kustomization.yaml",
        "  - namespace.yaml\n",
        "  - namespace.yaml\n  - secret.yaml\n",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "LOY-SECRET Secret/loyalty-jwt" in result.stdout


def test_fails_when_an_overlay_does_not_render(copy: Path) -> None:
    edit(
        copy / "overlays/prod/kustomization.yaml", "../../components/keda", "../../components/nope"
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "kubectl kustomize" in result.stdout


def test_fails_when_an_overlay_turns_on_the_console_s_development_sign_in(copy: Path) -> None:
    edit(
        copy / "overlays/prod/kustomization.yaml",
        "patches:\n",
        "patches:\n"
        "  - target:\n      kind: Deployment\n      name: loyalty-console\n"
        "    patch: |\n      - op: add\n        path: /spec/template/spec/containers/0/env/-\n"
        '        value: {name: LOYALTY_CONSOLE_DEV_SIGN_IN, value: "true"}\n',
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-LOCAL-ONLY Deployment/loyalty-console" in result.stdout
