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

from tests.deploy.conftest import DEPLOY, deploy_check, needs_kubectl, needs_promtool
from tests.deploy.memo import memo_render, memo_validate

pytestmark = [needs_kubectl, needs_promtool]

_RENDER = memo_render(deploy_check.render)
_VALIDATE = memo_validate(deploy_check.validate)


@pytest.fixture(autouse=True)
def memos(monkeypatch: pytest.MonkeyPatch) -> None:
    """The in-process check renders and validates what a case left as it was once per session
    (keyed on content: tests/deploy/memo.py); the separate process is the tool unchanged."""
    monkeypatch.setattr(deploy_check, "render", _RENDER)
    monkeypatch.setattr(deploy_check, "validate", _VALIDATE)


def run_check(root: Path) -> subprocess.CompletedProcess[str]:
    """The check as `make deploy-check` runs it: a separate process."""
    return subprocess.run(
        [sys.executable, str(DEPLOY / "check" / "deploy_check.py"), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def check_copy(
    root: Path, overlays: tuple[str, ...] = ("prod",)
) -> subprocess.CompletedProcess[str]:
    """The same check in this process (no interpreter start per case), same result shape; of
    the prod overlay only unless told (a base broken on purpose breaks both)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = deploy_check.check(root, overlays=overlays)
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
        assert f"ok   {overlay}/platform:" in result.stdout
        assert f"ok   {overlay}/apps:" in result.stdout
        assert f"ok   {overlay}: layers apart" in result.stdout


def test_fails_on_an_unknown_field_in_a_built_in_kind(copy: Path) -> None:
    edit(copy / "apps/services/tiers.yaml", "timeoutSeconds: 3", "timeoutSecond: 3")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "Deployment/loyalty-tiers" in result.stdout
    assert "timeoutSecond" in result.stdout


def test_fails_on_a_bad_field_in_a_custom_resource(copy: Path) -> None:
    edit(copy / "platform/postgres/points.yaml", "poolMode: transaction", "poolMode: statements")
    edit(copy / "platform/kafka/kafka.yaml", "  entityOperator:", "  entityOperators:")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "Pooler/points-db-pooler-rw" in result.stdout
    assert "Kafka/loyalty" in result.stdout
    assert "entityOperators" in result.stdout


def test_fails_on_a_wrong_type_in_a_custom_resource(copy: Path) -> None:
    edit(copy / "platform/kafka/topics.yaml", "partitions: 12", "partitions: twelve")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "KafkaTopic/commerce-purchases" in result.stdout


def test_fails_on_a_kind_it_has_no_schema_for(copy: Path) -> None:
    (copy / "apps/extra.yaml").write_text(
        "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n", encoding="utf-8"
    )
    edit(copy / "apps/kustomization.yaml", "resources:\n", "resources:\n  - extra.yaml\n")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "Widget/w" in result.stdout
    assert "no schema" in result.stdout


def test_fails_on_a_policy_violation(copy: Path) -> None:
    edit(
        copy / "apps/services/points.yaml",
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: true",
    )
    edit(
        copy / "apps/services/feedback.yaml",
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: false",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] CKV_K8S_20 Deployment/loyalty-points" in result.stdout
    assert "[medium] CKV_K8S_22 Deployment/loyalty-feedback" in result.stdout


def test_fails_when_the_public_host_routes_an_operators_path(copy: Path) -> None:
    edit(
        copy / "apps/gateway/httproute.yaml",
        "        value: /v1/surveys\n",
        "        value: /v1/surveys\n    - path:\n        type: PathPrefix\n"
        "        value: /v1/program\n",
    )
    edit(
        copy / "apps/gateway/httproute.yaml",
        "        value: ^/v1/members/[^/]+/(tier)(/.*)?$\n      method: GET\n",
        "        value: ^/v1/members/[^/]+/(tier)(/.*)?$\n",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "HTTPRoute/loyalty-api on the public Gateway routes" in result.stdout
    assert "GET /v1/program" in result.stdout
    assert "PUT /v1/members/x-1/tier" in result.stdout


def test_fails_on_a_committed_secret_value(copy: Path) -> None:
    (copy / "apps/secret.yaml").write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: loyalty-jwt\n"
        "stringData:\n  secret: not-a-real-one-but-still-committed\n",
        encoding="utf-8",
    )
    edit(copy / "apps/kustomization.yaml", "resources:\n", "resources:\n  - secret.yaml\n")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "LOY-SECRET Secret/loyalty-jwt" in result.stdout


def test_fails_when_an_overlay_does_not_render(copy: Path) -> None:
    edit(
        copy / "overlays/prod/apps/kustomization.yaml",
        "../../../components/keda",
        "../../../components/nope",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "kubectl kustomize" in result.stdout


def add_env(overlay: Path, kind: str, name: str, env: str) -> None:
    """A patch in `overlay`'s kustomization adding the variable `env` (YAML) to a workload."""
    with (overlay / "kustomization.yaml").open("a", encoding="utf-8") as out:
        out.write(
            f"patches:\n  - target:\n      kind: {kind}\n      name: {name}\n"
            "    patch: |\n      - op: add\n        path: /spec/template/spec/containers/0/env/-\n"
            f"        value: {env}\n"
        )


def test_fails_when_an_overlay_turns_on_the_console_s_development_sign_in(copy: Path) -> None:
    add_env(
        copy / "overlays/prod/apps",
        "Deployment",
        "loyalty-console",
        '{name: LOYALTY_CONSOLE_DEV_SIGN_IN, value: "true"}',
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-LOCAL-ONLY Deployment/loyalty-console" in result.stdout


def test_fails_when_prod_mounts_the_hs256_secret_in_a_pod_or_a_migration_job(copy: Path) -> None:
    secret = (
        "{name: LOYALTY_JWT_SECRET, valueFrom: {secretKeyRef: {name: loyalty-jwt, key: secret}}}"
    )
    add_env(copy / "overlays/prod/apps", "Job", "loyalty-tiers-migrate", secret)
    result = check_copy(copy, overlays=("dev", "prod"))
    assert result.returncode == 1
    assert "FAIL prod/apps: [high] LOY-HS256 Job/loyalty-tiers-migrate[migrate]" in result.stdout
    assert "FAIL dev/apps" not in result.stdout, "dev may keep HS256"


def test_fails_when_prod_checks_tokens_without_an_audience(copy: Path) -> None:
    edit(
        copy / "apps/services/feedback.yaml",
        "        - name: LOYALTY_JWT_AUDIENCE\n",
        "        - name: LOYALTY_JWT_AUDIENCE_UNUSED\n",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-JWKS Deployment/loyalty-feedback[feedback]" in result.stdout


def test_fails_when_the_apps_hold_data(copy: Path) -> None:
    """Deleting or pruning the apps must never touch data: a database among them is refused."""
    moved = "  - postgres/tiers.yaml\n"
    edit(copy / "platform/kustomization.yaml", moved, "")
    shutil.move(copy / "platform/postgres/tiers.yaml", copy / "apps/tiers-db.yaml")
    edit(copy / "apps/kustomization.yaml", "resources:\n", "resources:\n  - tiers-db.yaml\n")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-LAYER Cluster/tiers-db" in result.stdout
    assert "[high] LOY-LAYER Pooler/tiers-db-pooler-rw" in result.stdout


def test_fails_when_a_data_volume_would_be_deleted_with_its_object(copy: Path) -> None:
    edit(
        copy / "overlays/prod/platform/kafka-nodepools.yaml",
        "deleteClaim: false",
        "deleteClaim: true",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-DELETE-CLAIM KafkaNodePool/controllers" in result.stdout


def test_fails_when_argo_cd_could_prune_a_database(copy: Path) -> None:
    edit(
        copy / "platform/kustomization.yaml",
        "  argocd.argoproj.io/sync-options: Prune=false,Delete=false\n",
        "  argocd.argoproj.io/sync-options: Delete=false\n",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-KEEP-DATA Cluster/points-db" in result.stdout
    assert "lacks Prune=false" in result.stdout


def test_fails_when_an_object_is_in_both_layers(copy: Path) -> None:
    shutil.copyfile(copy / "platform/kafka/users.yaml", copy / "apps/users.yaml")
    edit(copy / "apps/kustomization.yaml", "resources:\n", "resources:\n  - users.yaml\n")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "KafkaUser/loyalty-points (kafka.strimzi.io/v1) is in both" in result.stdout


def test_fails_on_an_alert_whose_runbook_anchor_does_not_exist(copy: Path) -> None:
    edit(
        copy / "apps/observability/prometheusrule.yaml",
        "operations.md#loyaltyoutboxstuck",
        "operations.md#loyalty-outbox-stuck",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "alert LoyaltyOutboxStuck: runbook_url anchor #loyalty-outbox-stuck" in result.stdout


def test_fails_on_an_alert_without_a_runbook(copy: Path) -> None:
    edit(
        copy / "platform/observability/prometheusrule.yaml",
        "            runbook_url: https://git.example.com/loyalty/platform/-/blob/main/docs/"
        "operations.md#loyaltydatabasebackuptooold\n",
        "",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "alert LoyaltyDatabaseBackupTooOld: no runbook_url" in result.stdout


def test_promtool_refuses_a_broken_rule(copy: Path) -> None:
    edit(
        copy / "apps/observability/prometheusrule.yaml",
        "max by (service) (loyalty_outbox_oldest_age_seconds) > 300",
        "max by (service) (loyalty_outbox_oldest_age_seconds > 300",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "promtool check rules" in result.stdout


def test_promtool_runs_the_alerts_unit_tests(copy: Path) -> None:
    """An alert that no longer fires on what should page fails its unit test."""
    edit(
        copy / "platform/observability/prometheusrule.yaml",
        "kafka_topic_partition_under_replicated_partition{topic=~",
        "kafka_topic_partition_under_replicated_partitions{topic=~",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "promtool test rules" in result.stdout
    assert "LoyaltyKafkaUnderReplicatedPartitions" in result.stdout


def test_fails_when_a_service_does_not_verify_its_database_server(copy: Path) -> None:
    edit(copy / "apps/services/tiers.yaml", "?sslmode=verify-full&", "?sslmode=require&")
    edit(
        copy / "apps/services/feedback.yaml",
        "mountPath: /etc/postgres-ca\n          readOnly: true",
        "mountPath: /etc/postgres-ca\n          readOnly: false",
    )
    edit(
        copy / "apps/services/notifications.yaml",
        "secretName: notifications-db-ca\n          items:\n          - key: ca.crt",
        "secretName: notifications-db-ca\n          items:\n          - key: ca.key",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-DB-TLS Deployment/loyalty-tiers[tiers]: sslmode=require" in result.stdout
    assert "[high] LOY-DB-TLS Deployment/loyalty-feedback[feedback]: sslrootcert" in result.stdout
    assert "[high] LOY-DB-TLS Deployment/loyalty-notifications[notifications]" in result.stdout


def test_fails_when_the_pods_connect_as_the_schema_owner_or_the_job_as_the_app(copy: Path) -> None:
    edit(
        copy / "apps/services/points.yaml",
        "postgresql://loyalty_points_app@points-db-pooler-rw",
        "postgresql://loyalty_points@points-db-pooler-rw",
    )
    edit(
        copy / "apps/services/tiers.yaml",
        "postgresql://loyalty_tiers@tiers-db-rw",
        "postgresql://loyalty_tiers_app@tiers-db-rw",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-DB-ROLE Deployment/loyalty-points[points]: connects as" in result.stdout
    assert "[high] LOY-DB-ROLE Job/loyalty-tiers-migrate[migrate]: migrates as" in result.stdout


def test_fails_when_a_database_admits_another_service_or_has_no_policy(copy: Path) -> None:
    edit(
        copy / "platform/postgres/points.yaml",
        "          app.kubernetes.io/name: loyalty-points\n"
        "          app.kubernetes.io/component: api",
        "          app.kubernetes.io/name: loyalty-tiers\n"
        "          app.kubernetes.io/component: api",
    )
    edit(copy / "platform/postgres/tiers.yaml", "cnpg.io/podRole: instance", "cnpg.io/podRole: x")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-DB-NETPOL NetworkPolicy/points-db-pooler-rw: admits" in result.stdout
    assert "loyalty-tiers" in result.stdout
    assert "[high] LOY-DB-NETPOL Cluster/tiers-db: no NetworkPolicy" in result.stdout


def test_fails_when_kafka_s_version_or_metadata_version_is_not_pinned(copy: Path) -> None:
    edit(copy / "platform/kafka/kafka.yaml", "    metadataVersion: 4.2-IV1\n", "")
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-KAFKA-VERSION Kafka/loyalty" in result.stdout


def test_fails_when_prod_kafka_is_not_rack_aware(copy: Path) -> None:
    edit(
        copy / "overlays/prod/platform/kafka-nodepools.yaml",
        "whenUnsatisfiable: DoNotSchedule",
        "whenUnsatisfiable: ScheduleAnyway",
    )
    result = check_copy(copy)
    assert result.returncode == 1
    assert "[high] LOY-KAFKA-RACK KafkaNodePool/controllers" in result.stdout


def test_fails_when_a_prod_image_is_not_pinned_by_digest(copy: Path) -> None:
    edit(
        copy / "overlays/prod/apps/kustomization.yaml",
        '  - name: registry.example.com/loyalty/points\n    newTag: "0.1.0"\n    digest: ',
        '  - name: registry.example.com/loyalty/points\n    newTag: "0.1.0"\n    # digest: ',
    )
    edit(copy / "platform/postgres/tiers.yaml", "-trixie@sha256:" + "0" * 64, "-trixie")
    result = check_copy(copy, overlays=("dev", "prod"))
    assert result.returncode == 1
    assert "FAIL prod: [high] LOY-DIGEST Deployment/loyalty-points[points]" in result.stdout
    assert "FAIL prod: [high] LOY-DIGEST Cluster/tiers-db imageName" in result.stdout
    assert "FAIL dev: [high] LOY-DIGEST" not in result.stdout, "dev runs tags"


def test_placeholder_digests_are_listed_and_refused_for_a_release() -> None:
    """Until a release resolved them, prod's digests are the documented placeholder: every
    `make deploy-check` lists the images, the release's `--release` run refuses them."""
    listed = check_copy(DEPLOY)
    assert listed.returncode == 0
    assert "placeholders for" in listed.stdout
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = deploy_check.check(DEPLOY, overlays=("prod",), release=True)
    assert status == 1
    assert "[high] LOY-DIGEST-PLACEHOLDER Deployment/loyalty-points[points]" in out.getvalue()
