"""What the rendered overlays must say: the data apart from the apps, every topic sized and
replicated, least-privilege Kafka users, scaling bounded by partitions, pods that drain and run
locked down, routes for every path of the contract, settings the services really read, tokens
checked with JWKS in prod, alerts on metrics that exist, with runbooks and SLO burn rates."""

from __future__ import annotations

import importlib
import json
import re
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from prometheus_client.metrics import MetricWrapperBase

from loyalty_console.settings import ConsoleSettings
from loyalty_devkit.gateway.routes import INTERNAL_HOST, PUBLIC_HOST
from loyalty_feedback.settings import FeedbackSettings
from loyalty_notifications.settings import NotificationsSettings
from loyalty_points.settings import PointsSettings
from loyalty_shared.kafka.topics import all_topics_with_dlq
from loyalty_shared.observability import metrics
from loyalty_shared.program.loader import default_program_path
from loyalty_shared.service import ServiceSpec
from loyalty_shared.settings import ServiceSettings
from loyalty_tiers.settings import TiersSettings
from tests.deploy.conftest import DEPLOY, REPO, by_name, generate, of_kind, policy, rules

SETTINGS: dict[str, type[ServiceSettings]] = {
    "points": PointsSettings,
    "tiers": TiersSettings,
    "notifications": NotificationsSettings,
    "feedback": FeedbackSettings,
}
SERVICES = {svc.name: svc for svc in generate.SERVICES}
PARTITIONS = {t.name: t.partitions for t in generate.TOPICS}
CONSUMER_STOP_S = 25  # loyalty_shared.kafka.consumer.ConsumerRunner stop timeout
UVICORN_GRACEFUL_S = 30  # loyalty_shared.service.serve timeout_graceful_shutdown


def test_program_copy_is_the_packaged_default() -> None:
    copy = DEPLOY / "apps" / "program" / "program.toml"
    assert copy.read_bytes() == default_program_path().read_bytes(), (
        "deploy/apps/program/program.toml differs from the packaged default: copy it again"
    )


def test_generated_files_are_current() -> None:
    for path, text in generate.outputs().items():
        assert path.read_text(encoding="utf-8") == text, f"run python deploy/generate.py ({path})"


def test_every_topic_and_its_dead_letter_twin(rendered: list[dict[str, Any]]) -> None:
    topics = {t["spec"]["topicName"]: t["spec"] for t in of_kind(rendered, "KafkaTopic")}
    assert sorted(topics) == sorted(all_topics_with_dlq())
    for name, spec in topics.items():
        assert spec["replicas"] == 3, name
        assert spec["config"]["min.insync.replicas"] == 2, name
        if spec["config"]["cleanup.policy"] == "compact":
            assert spec["config"]["retention.ms"] == -1, name  # the latest per key, for good
        else:
            assert spec["config"]["retention.ms"] >= 7 * 86_400_000, name
        assert spec["partitions"] >= 1, name


def test_kafka_is_kraft_with_node_pools(rendered: list[dict[str, Any]], overlay: str) -> None:
    (kafka,) = of_kind(rendered, "Kafka")
    assert kafka["apiVersion"] == "kafka.strimzi.io/v1"
    pools = of_kind(rendered, "KafkaNodePool")
    roles = {role for pool in pools for role in pool["spec"]["roles"]}
    assert roles == {"controller", "broker"}
    if overlay == "prod":
        assert all(len(pool["spec"]["roles"]) == 1 for pool in pools), "separate controllers"
    brokers = sum(p["spec"]["replicas"] for p in pools if "broker" in p["spec"]["roles"])
    assert brokers >= 3, "replicas 3 needs three brokers"


#: Objects whose volumes hold data: the Kafka cluster and its node pools (Strimzi), the
#: services' PostgreSQL clusters (CloudNativePG).
DATA_KINDS = {("kafka.strimzi.io", "Kafka"), ("kafka.strimzi.io", "KafkaNodePool")}
DATA_KINDS |= {("postgresql.cnpg.io", "Cluster")}


def _deleted_claims(node: Any, path: str = "") -> list[str]:
    """Where under `node` a `deleteClaim: true` is (storage, JBOD volumes, at any depth)."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "deleteClaim" and value is not False:
                found.append(f"{path}.{key}={value!r}")
            found += _deleted_claims(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, item in enumerate(node):
            found += _deleted_claims(item, f"{path}[{n}]")
    return found


def test_deleting_a_data_holding_object_never_deletes_its_volumes(
    rendered: list[dict[str, Any]],
) -> None:
    """Pruning or deleting a Kafka, KafkaNodePool or PostgreSQL cluster object (a sync that drops
    it, a mistaken `kubectl delete -k`) must leave its PersistentVolumeClaims, and the data."""
    holders = [o for o in rendered if (o["apiVersion"].split("/")[0], o["kind"]) in DATA_KINDS]
    assert {o["kind"] for o in holders} == {"Kafka", "KafkaNodePool", "Cluster"}
    wrong = [
        f"{o['kind']}/{o['metadata']['name']}: {where}"
        for o in holders
        for where in _deleted_claims(o.get("spec", {}), "spec")
    ]
    assert wrong == [], "deleteClaim must be false on what holds data:\n" + "\n".join(wrong)


def test_kafka_users_reach_only_their_own_topics_and_group(rendered: list[dict[str, Any]]) -> None:
    users = by_name(rendered, "KafkaUser")
    for name, svc in SERVICES.items():
        acls = users[f"loyalty-{name}"]["spec"]["authorization"]["acls"]
        groups = {a["resource"]["name"] for a in acls if a["resource"]["type"] == "group"}
        assert groups == {f"loyalty-{name}"}
        read = {a["resource"]["name"] for a in acls if "Read" in a["operations"]} - groups
        write = {a["resource"]["name"] for a in acls if "Write" in a["operations"]}
        assert read == set(svc.consumes)
        assert write == set(svc.produces) | {f"{t}.dlq" for t in svc.consumes}
        for acl in acls:
            assert acl["resource"]["patternType"] == "literal", "no prefixes, no wildcards"
            assert not {"All", "Alter", "Delete", "AlterConfigs"} & set(acl["operations"])


def test_scaling_is_bounded_by_partitions(rendered: list[dict[str, Any]], overlay: str) -> None:
    for name, svc in SERVICES.items():
        bound = max(PARTITIONS[t] for t in svc.consumes)
        hpas = by_name(rendered, "HorizontalPodAutoscaler")
        scaled = by_name(rendered, "ScaledObject")
        if overlay == "prod":
            assert f"loyalty-{name}" not in hpas, "KEDA owns the HPA: no second one"
            spec = scaled[f"loyalty-{name}"]["spec"]
            assert spec["maxReplicaCount"] == bound
            lag = [t for t in spec["triggers"] if t["type"] == "kafka"]
            assert {t["metadata"]["topic"] for t in lag} == set(svc.consumes)
            assert {t["metadata"]["consumerGroup"] for t in lag} == {f"loyalty-{name}"}
            assert any(t["type"] == "cpu" for t in spec["triggers"])
        else:
            hpa = hpas[f"loyalty-{name}"]["spec"]
            assert hpa["maxReplicas"] <= bound
            assert hpa["metrics"][0]["resource"]["name"] == "cpu"


def test_pods_drain_before_they_are_killed(rendered: list[dict[str, Any]]) -> None:
    for deployment in of_kind(rendered, "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
        assert (
            pod["terminationGracePeriodSeconds"] > pre_stop + UVICORN_GRACEFUL_S + CONSUMER_STOP_S
        )
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["startupProbe"]["httpGet"]["path"] == "/healthz"


def _pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    return dict(spec["template"])


def test_pods_are_locked_down(rendered: list[dict[str, Any]]) -> None:
    workloads = of_kind(rendered, "Deployment") + of_kind(rendered, "Job")
    for obj in workloads + of_kind(rendered, "CronJob"):
        pod = _pod_template(obj)["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["automountServiceAccountToken"] is False
        tmp = {v["name"]: v for v in pod["volumes"]}["tmp"]
        assert "emptyDir" in tmp
        for container in pod["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False
            assert sc["readOnlyRootFilesystem"] is True
            assert sc["capabilities"]["drop"] == ["ALL"]
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts["/tmp"] == "tmp"  # noqa: S108 - the emptyDir
            assert container["resources"]["requests"]
            assert container["resources"]["limits"]


def test_env_names_are_settings_the_services_read(rendered: list[dict[str, Any]]) -> None:
    for name, settings in SETTINGS.items():
        known = {f"LOYALTY_{field.upper()}" for field in settings.model_fields} | {"PGPASSWORD"}
        deployment = by_name(rendered, "Deployment")[f"loyalty-{name}"]
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        unknown = {e["name"] for e in container["env"]} - known
        assert not unknown, f"{name}: no such setting {sorted(unknown)}"
        env = {e["name"]: e.get("value") for e in container["env"]}
        assert env["LOYALTY_DB_STATEMENT_CACHE_SIZE"] == "0", "asyncpg behind pgbouncer"
        assert "-pooler-rw" in env[f"LOYALTY_{name.upper()}_DATABASE_URL"]


def test_migration_jobs_run_the_services_migrate_command_against_the_primary(
    rendered: list[dict[str, Any]],
) -> None:
    for name, settings in SETTINGS.items():
        job = by_name(rendered, "Job")[f"loyalty-{name}-migrate"]
        (container,) = job["spec"]["template"]["spec"]["containers"]
        assert container["command"] == [f"/app/.venv/bin/loyalty-{name}", "migrate"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        known = {f"LOYALTY_{field.upper()}" for field in settings.model_fields} | {"PGPASSWORD"}
        assert set(env) <= known, f"{name}: no such setting {sorted(set(env) - known)}"
        url = env[f"LOYALTY_{name.upper()}_DATABASE_URL"]
        assert url is not None
        assert f"@{name}-db-rw:" in url, "straight to the primary: dbmate's lock is a session lock"
        deployment = by_name(rendered, "Deployment")[f"loyalty-{name}"]
        (server,) = deployment["spec"]["template"]["spec"]["containers"]
        pod_env = {e["name"]: e.get("value") for e in server["env"]}
        assert pod_env["LOYALTY_MIGRATE_AT_START"] == "false", "the Job migrates, not the pods"


def _wave(obj: dict[str, Any]) -> int:
    return int(obj["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


def test_argo_cd_runs_the_migration_jobs_after_the_apps_configuration_and_before_the_workloads(
    layers: dict[str, list[dict[str, Any]]],
) -> None:
    apps = layers["apps"]
    jobs = of_kind(apps, "Job")
    waves = {_wave(job) for job in jobs}
    assert len(waves) == 1
    (job_wave,) = waves
    # not PreSync: that runs before the service accounts and configuration exist
    assert {job["metadata"]["annotations"]["argocd.argoproj.io/hook"] for job in jobs} == {"Sync"}
    for kind in ("ServiceAccount", "ConfigMap"):
        assert all(_wave(obj) < job_wave for obj in of_kind(apps, kind)), kind
    for kind in ("Deployment", "HorizontalPodAutoscaler", "ScaledObject"):
        assert all(_wave(obj) > job_wave for obj in of_kind(apps, kind)), kind


def test_what_holds_data_is_in_the_platform_never_among_the_apps(
    layers: dict[str, list[dict[str, Any]]],
) -> None:
    """Deleting or pruning the apps (`kubectl delete -k .../apps`, an Argo CD Application
    removed) must leave every database, topic, volume and the namespace."""
    platform, apps = layers["platform"], layers["apps"]
    assert not [o["kind"] for o in apps if o["kind"] in policy.PLATFORM_KINDS]
    assert {o["kind"] for o in platform} >= {"Namespace", "Kafka", "KafkaTopic", "Cluster"}
    workloads = {"Deployment", "Job", "CronJob", "HorizontalPodAutoscaler", "HTTPRoute"}
    assert not [o["kind"] for o in platform if o["kind"] in workloads], "the apps' own objects"
    names = [(o["kind"], o["metadata"]["name"]) for o in platform + apps]
    assert len(names) == len(set(names)), "an object in both layers"


def test_argo_cd_never_prunes_nor_deletes_the_platform(
    layers: dict[str, list[dict[str, Any]]],
) -> None:
    for obj in layers["platform"]:
        options = obj["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-options")
        assert set(str(options).split(",")) >= {"Prune=false", "Delete=false"}, (
            f"{obj['kind']}/{obj['metadata']['name']}"
        )
    for layer, objs in layers.items():
        for obj in objs:
            assert obj["metadata"]["labels"]["loyalty.example.com/layer"] == layer, obj["kind"]


def test_network_policies(rendered: list[dict[str, Any]]) -> None:
    policies = by_name(rendered, "NetworkPolicy")
    for name, svc in SERVICES.items():
        spec = policies[f"loyalty-{name}"]["spec"]
        assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
        sources = [peer for rule in spec["ingress"] for peer in rule["from"]]
        namespaces = {
            p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
            for p in sources
            if "namespaceSelector" in p
        }
        assert namespaces == {"gateway", "monitoring"}
        pods = [p["podSelector"]["matchLabels"] for p in sources if "namespaceSelector" not in p]
        assert pods == [generate.selector(generate.CONSOLE)], "and the operator console"
        outside = [r for r in spec["egress"] if any("ipBlock" in p for p in r["to"])]
        assert bool(outside) == svc.external_egress
        pods = [
            p["podSelector"]["matchLabels"]
            for r in spec["egress"]
            for p in r["to"]
            if "podSelector" in p and "namespaceSelector" not in p
        ]
        databases = {v for p in pods for k, v in p.items() if k.startswith("cnpg.io/")}
        assert databases == {f"{name}-db", f"{name}-db-pooler-rw"}, "its own database only"


def test_every_pod_may_send_traces_to_the_collector(rendered: list[dict[str, Any]]) -> None:
    for name in [*SERVICES, "console"]:
        spec = by_name(rendered, "NetworkPolicy")[f"loyalty-{name}"]["spec"]
        collector = [
            rule
            for rule in spec["egress"]
            for peer in rule["to"]
            if peer.get("podSelector", {}).get("matchLabels") == generate.OTLP_COLLECTOR
        ]
        assert collector, f"loyalty-{name} cannot reach the OTLP collector"
        ((peer,),) = [rule["to"] for rule in collector]
        namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        assert namespace == "monitoring"
        assert {p["port"] for rule in collector for p in rule["ports"]} == {4317, 4318}


def _env(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in container.get("env", [])}


def _containers(rendered: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    workloads = of_kind(rendered, "Deployment") + of_kind(rendered, "Job")
    return [
        (f"{obj['kind']}/{obj['metadata']['name']}", container)
        for obj in workloads + of_kind(rendered, "CronJob")
        for container in _pod_template(obj)["spec"]["containers"]
    ]


def test_prod_checks_tokens_with_jwks_and_mounts_no_hs256_secret(
    rendered: list[dict[str, Any]], overlay: str
) -> None:
    """Whoever holds the HS256 secret can mint any token, admin's included: no pod and no Job
    of prod has it. Every one checks tokens against the identity provider's keys, for one
    audience and one issuer (the dev overlay may add HS256 for tokens minted in tests)."""
    hs256 = []
    for where, container in _containers(rendered):
        env = _env(container)
        for setting in ("LOYALTY_JWT_JWKS_URL", "LOYALTY_JWT_AUDIENCE", "LOYALTY_JWT_ISSUER"):
            assert env[setting]["valueFrom"]["configMapKeyRef"]["name"] == "loyalty-oidc", where
        if "LOYALTY_JWT_SECRET" in env:
            hs256.append(where)
    if overlay == "prod":
        assert hs256 == []
        assert not [o for o in rendered if "loyalty-jwt" in str(o)], "nothing refers to it"
    else:
        assert "Deployment/loyalty-console" not in hs256, "the console never mints tokens"
    config = by_name(rendered, "ConfigMap")["loyalty-oidc"]["data"]
    assert config["audience"]
    assert config["jwks-url"].startswith(config["issuer"])


def test_the_ledger_audit_runs_nightly_and_a_drift_fails_its_job(
    rendered: list[dict[str, Any]],
) -> None:
    cronjob = by_name(rendered, "CronJob")[generate.LEDGER_AUDIT]
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert job["backoffLimit"] == 0, "a drift does not go away on a retry"
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    (container,) = job["template"]["spec"]["containers"]
    assert container["command"] == ["/app/.venv/bin/loyalty-points", "audit"]
    url = _env(container)["LOYALTY_POINTS_DATABASE_URL"]["value"]
    assert "@points-db-rw:" in url, "one consistent pass on the primary, not through pgbouncer"
    known = {f"LOYALTY_{field.upper()}" for field in PointsSettings.model_fields} | {"PGPASSWORD"}
    assert set(_env(container)) <= known
    labels = job["template"]["metadata"]["labels"]
    policy = by_name(rendered, "NetworkPolicy")["loyalty-points"]["spec"]["podSelector"]
    assert all(labels[k] == v for k, v in policy["matchLabels"].items()), "under its policy"
    alert = _alerts(rendered)["LoyaltyLedgerAuditFailed"]
    assert "kube_job_status_failed" in alert["expr"]
    assert f'job_name=~"{generate.LEDGER_AUDIT}-.*"' in alert["expr"]


def _route_of(
    rendered: list[dict[str, Any]], path: str, method: str = "GET", route: str = "loyalty-api"
) -> str | None:
    """The backend `route` sends `method` `path` to, with the first rule matching."""
    for rule in by_name(rendered, "HTTPRoute")[route]["spec"]["rules"]:
        for match in rule["matches"]:
            kind, value = match["path"]["type"], match["path"]["value"]
            if match.get("method", method) != method:
                continue
            if (
                (kind == "RegularExpression" and re.fullmatch(value, path))
                or (kind == "Exact" and path == value)
                or (
                    kind == "PathPrefix"
                    and (path == value or path.startswith(value.rstrip("/") + "/"))
                )
            ):
                return str(rule["backendRefs"][0]["name"])
    return None


#: The contract's member paths, on the public host.
CONTRACT_PATHS = {
    ("GET", "/v1/members/m-1/points"): "points",
    ("GET", "/v1/members/m-1/points/transactions"): "points",
    ("POST", "/v1/members/m-1/redemptions"): "points",
    ("GET", "/v1/members/m-1/tier"): "tiers",
    ("GET", "/v1/members/m-1/tier/history"): "tiers",
    ("GET", "/v1/members/m-1/notifications"): "notifications",
    ("GET", "/v1/members/m-1/preferences"): "notifications",
    ("POST", "/v1/members/m-1/feedback"): "feedback",
    ("POST", "/v1/surveys/t-1/answers"): "feedback",
}
#: The contract's operators' paths: on the internal host only.
OPERATORS_PATHS = {
    ("POST", "/v1/members/m-1/redemptions/r-1/cancellation"): "points",
    ("POST", "/v1/members/m-1/adjustments"): "points",
    ("PUT", "/v1/members/m-1/tier"): "tiers",
    ("GET", "/v1/feedback/summary"): "feedback",
    ("GET", "/v1/program"): "points",
    ("POST", "/v1/program/backtest"): "points",
    ("GET", "/v1/reports/members"): "tiers",
    ("GET", "/v1/reports/liability"): "points",
    ("GET", "/points/v1/audit-log"): "points",
    ("POST", "/feedback/v1/dead-letters/d-1/replay"): "feedback",
}


def test_the_public_host_routes_the_members_paths_and_no_operators(
    rendered: list[dict[str, Any]],
) -> None:
    for (method, path), service in CONTRACT_PATHS.items():
        assert _route_of(rendered, path, method) == f"loyalty-{service}", path
        internal = _route_of(rendered, path, method, "loyalty-api-internal")
        assert internal == f"loyalty-{service}", f"{path}: operators reach it too"
    for (method, path), service in OPERATORS_PATHS.items():
        assert _route_of(rendered, path, method) is None, f"{method} {path} is public"
        internal = _route_of(rendered, path, method, "loyalty-api-internal")
        assert internal == f"loyalty-{service}", f"{method} {path}"
    for private in ("/healthz", "/readyz", "/metrics", "/openapi.json", "/v1/members/m-1"):
        for route in ("loyalty-api", "loyalty-api-internal"):
            assert _route_of(rendered, private, route=route) is None, private


def test_the_two_api_hosts_hang_off_their_gateways(rendered: list[dict[str, Any]]) -> None:
    routes = by_name(rendered, "HTTPRoute")
    public, internal = routes["loyalty-api"]["spec"], routes["loyalty-api-internal"]["spec"]
    assert [p["name"] for p in public["parentRefs"]] == ["public"]
    assert public["hostnames"] == [PUBLIC_HOST]
    assert [p["name"] for p in internal["parentRefs"]] == ["internal"]
    assert internal["hostnames"] == [INTERNAL_HOST]
    filters = by_name(rendered, "HTTPRouteFilter")
    for rule in public["rules"]:
        for f in rule.get("filters", []):
            assert f["type"] == "ExtensionRef"
            assert f["extensionRef"]["name"] in filters, "the rewrite it names exists"


def test_the_public_host_is_rate_limited_per_client_and_writes_more_strictly(
    rendered: list[dict[str, Any]],
) -> None:
    policy = by_name(rendered, "BackendTrafficPolicy")["loyalty-api-rate-limits"]["spec"]
    assert [t["name"] for t in policy["targetRefs"]] == ["loyalty-api"]
    rules = policy["rateLimit"]["global"]["rules"]
    for rule in rules:
        (selector,) = rule["clientSelectors"]
        assert selector["sourceCIDR"]["type"] == "Distinct", "a bucket per client address"
        assert rule["shared"], "one budget per client for the whole host"
    per_minute = {
        (
            tuple(m["value"] for m in r["clientSelectors"][0].get("methods", [])),
            r["clientSelectors"][0].get("path", {}).get("value"),
        ): r["limit"]
        for r in rules
    }
    assert (
        per_minute[((), None)]["requests"]
        > per_minute[(("POST", "PUT", "PATCH", "DELETE"), None)]["requests"]
    )


def test_the_console_is_reached_on_the_internal_operator_host_only(
    rendered: list[dict[str, Any]],
) -> None:
    routes = by_name(rendered, "HTTPRoute")
    console = routes["loyalty-console"]["spec"]
    assert [p["name"] for p in console["parentRefs"]] == ["internal"]
    assert console["hostnames"] == [generate.CONSOLE_HOST]
    assert {r["backendRefs"][0]["name"] for r in console["rules"]} == {"loyalty-console"}
    public = routes["loyalty-api"]["spec"]
    assert [p["name"] for p in public["parentRefs"]] == ["public"]
    assert all(b["name"] != "loyalty-console" for r in public["rules"] for b in r["backendRefs"])


def test_the_console_reaches_the_services_and_the_identity_provider_only(
    rendered: list[dict[str, Any]],
) -> None:
    spec = by_name(rendered, "NetworkPolicy")["loyalty-console"]["spec"]
    targets = [peer for rule in spec["egress"] for peer in rule["to"]]
    apps = {
        p["podSelector"]["matchLabels"].get("app.kubernetes.io/name")
        for p in targets
        if "podSelector" in p and "namespaceSelector" not in p
    }
    assert apps == {f"loyalty-{name}" for name in SERVICES}, "no database, no Kafka"
    assert not any("ipBlock" in p for p in targets)
    deployment = by_name(rendered, "Deployment")["loyalty-console"]
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    known = {f"LOYALTY_{field.upper()}" for field in ConsoleSettings.model_fields}
    assert set(env) <= known, sorted(set(env) - known)
    assert "LOYALTY_CONSOLE_DEV_SIGN_IN" not in env
    assert "LOYALTY_JWT_SECRET" not in env, "the console cannot mint tokens in a cluster"
    for secret in ("LOYALTY_CONSOLE_OIDC_CLIENT_SECRET", "LOYALTY_CONSOLE_SESSION_SECRET"):
        assert "secretKeyRef" in env[secret]["valueFrom"]


def test_the_gateway_routes_every_documented_path(rendered: list[dict[str, Any]]) -> None:
    documents = {
        service: json.loads((REPO / "docs/openapi" / f"{service}.json").read_text())
        for service in SERVICES
    }
    answered_by = Counter(path for document in documents.values() for path in document["paths"])
    for service, document in documents.items():
        for path, methods in document["paths"].items():
            if not path.startswith("/v1/"):
                continue
            concrete = re.sub(r"\{[^}]+\}", "x-1", path)
            if answered_by[path] > 1:  # every service answers it: reached under its name
                concrete = f"/{service}{concrete}"
            for method in methods:
                routed = _route_of(rendered, concrete, method.upper(), "loyalty-api-internal")
                assert routed == f"loyalty-{service}", (
                    f"{method} {path} of docs/openapi/{service}.json is not routed to "
                    f"loyalty-{service}: add a match to RULES in loyalty_devkit/gateway/routes.py"
                )


METRIC = re.compile(r"\b(loyalty_[a-z_]+|kafka_[a-z_]+|up)\b")
KAFKA_EXPORTER = {
    "kafka_consumergroup_lag",
    "kafka_topic_partition_current_offset",
    "kafka_topic_partition_oldest_offset",
    "kafka_topic_partition_under_replicated_partition",
}


def _rules(rendered: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        rule
        for obj in of_kind(rendered, "PrometheusRule")
        for group in obj["spec"]["groups"]
        for rule in group["rules"]
    ]


def _alerts(rendered: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {rule["alert"]: rule for rule in _rules(rendered) if "alert" in rule}


METRIC_MODULES = [
    metrics,
    importlib.import_module("loyalty_notifications.delivery.dispatcher"),
    importlib.import_module("loyalty_points.reports.metrics"),
]


def _exposed() -> set[str]:
    names = set()
    for value in (v for module in METRIC_MODULES for v in vars(module).values()):
        if not isinstance(value, MetricWrapperBase):
            continue
        for family in value.describe():
            names.add(family.name)
            names.update(s.name for s in family.samples)
            kind = family.type
            if kind == "counter":
                names.add(f"{family.name}_total")
            if kind == "histogram":
                names.update(f"{family.name}_{s}" for s in ("bucket", "sum", "count"))
    return names


def _used(exprs: list[str]) -> set[str]:
    return {m for e in exprs for m in METRIC.findall(e) if m != "loyalty_"}


def test_alerts_and_dashboard_use_metrics_that_exist(rendered: list[dict[str, Any]]) -> None:
    exprs = [r["expr"] for r in _rules(rendered)]
    dashboard = json.loads((DEPLOY / "apps/observability/dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exposed = _exposed() | KAFKA_EXPORTER | {"up"}
    used = {m for m in _used(exprs) if not m.startswith("loyalty-")}
    missing = used - exposed
    assert not missing, f"no such metric: {sorted(missing)}"
    documented = (REPO / "docs/operations.md").read_text()
    anchors = rules.anchors(documented)
    for alert, rule in _alerts(rendered).items():
        assert alert in documented, f"docs/operations.md does not say what {alert} means"
        url = rule["annotations"]["runbook_url"]
        assert url == f"{generate.RUNBOOKS}#{alert.lower()}", alert
        assert alert.lower() in anchors, f"no anchor for {alert} in docs/operations.md"
    assert generate.RUNBOOKS == rules.RUNBOOKS


#: What issue 8 asks to observe, by the metric that shows it.
OBSERVED = {
    "consumer lag": "loyalty_consumer_lag_records",
    "processing latency": "loyalty_event_processing_seconds_bucket",
    "dead letters": "loyalty_dead_letters_total",
    "outbox backlog": "loyalty_outbox_backlog",
    "outbox age": "loyalty_outbox_oldest_age_seconds",
    "HTTP rate and errors": "loyalty_http_requests_total",
    "HTTP duration": "loyalty_http_request_duration_seconds_bucket",
    "points outstanding": "loyalty_points_outstanding",
    "points liability": "loyalty_points_liability",
}


def test_the_dashboard_shows_and_the_alerts_watch_what_the_services_measure(
    rendered: list[dict[str, Any]],
) -> None:
    dashboard = json.loads((DEPLOY / "apps/observability/dashboard.json").read_text())
    shown = _used([t["expr"] for p in dashboard["panels"] for t in p["targets"]])
    for what, metric in OBSERVED.items():
        assert metric in shown, f"no dashboard panel on {what} ({metric})"
    watched = {name: _used([rule["expr"]]) for name, rule in _alerts(rendered).items()}
    assert "kafka_consumergroup_lag" in watched["LoyaltyConsumerLagGrowing"]
    assert "loyalty_dead_letters_total" in watched["LoyaltyDeadLettersWritten"]
    assert "loyalty_outbox_oldest_age_seconds" in watched["LoyaltyOutboxStuck"]
    assert "loyalty_http_requests_total" in watched["LoyaltyHttpErrorRate"]
    assert "loyalty_event_processing_seconds_bucket" in watched["LoyaltyEventProcessingSlow"]
    assert "loyalty_consumer_schema_behind_retries_total" in watched["LoyaltySchemaBehind"]
    under = "kafka_topic_partition_under_replicated_partition"
    assert under in watched["LoyaltyKafkaUnderReplicatedPartitions"]
    alerts = _alerts(rendered)
    absent = alerts["LoyaltyScrapeTargetAbsent"]["expr"]
    for name in [*SERVICES, "console"]:
        assert f'absent(up{{namespace="loyalty", job="loyalty-{name}"}})' in absent, name
    for name in SERVICES:
        assert f'cluster="{name}-db"' in alerts["LoyaltyDatabaseAbsent"]["expr"], name
    assert (
        "cnpg_pg_stat_archiver_last_failed_time"
        in alerts["LoyaltyDatabaseWalArchivingFailing"]["expr"]
    )
    assert "last_failed_backup_timestamp" in alerts["LoyaltyDatabaseBackupFailed"]["expr"]


def test_slo_alerts_are_multiwindow_multi_burn_rate(rendered: list[dict[str, Any]]) -> None:
    """Each SLO pages on a fast burn (1h with 5m, 6h with 30m) and opens a ticket on a slow one
    (1d with 2h, 3d with 6h), reading recording rules that exist (Google SRE workbook)."""
    recorded = {rule["record"]: rule["expr"] for rule in _rules(rendered) if "record" in rule}
    alerts = _alerts(rendered)
    windows = {"FastBurn": ("1h", "5m", "6h", "30m"), "SlowBurn": ("1d", "2h", "3d", "6h")}
    assert {slo.name for slo in generate.SLOS} == {
        "balance_read_errors",
        "balance_read_slow",
        "events_late",
    }
    for slo in generate.SLOS:
        for suffix, severity in (("FastBurn", "critical"), ("SlowBurn", "warning")):
            rule = alerts[f"{slo.alert}{suffix}"]
            assert rule["labels"]["severity"] == severity
            used = set(re.findall(r"slo:[a-z_]+:ratio_rate\w+", rule["expr"]))
            assert used == {slo.record(w) for w in windows[suffix]}
            assert used <= set(recorded), "every window it reads is recorded"
    balance = '{service="points", method="GET", route="/v1/members/{member_id}/points"'
    assert balance.rstrip("}") in recorded["slo:balance_read_errors:ratio_rate5m"]
    assert "loyalty_event_processing_seconds_bucket" in recorded["slo:events_late:ratio_rate1h"]


@pytest.mark.parametrize("kind", ["Secret"])
def test_no_secret_values_in_the_repository(rendered: list[dict[str, Any]], kind: str) -> None:
    assert not of_kind(rendered, kind)


@pytest.mark.parametrize("service", list(SERVICES))
def test_the_table_consumes_what_the_service_consumes(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """deploy/generate.py's table (ACLs, KEDA triggers, replica bounds) against the topics the
    service's app really subscribes to."""
    module = importlib.import_module(f"loyalty_{service}.app")
    captured: list[ServiceSpec] = []

    def capture(spec: ServiceSpec, settings: ServiceSettings) -> FastAPI:
        captured.append(spec)
        return FastAPI()

    monkeypatch.setattr(module, "create_service_app", capture)
    settings = SETTINGS[service].model_validate(
        {
            f"{service}_database_url": "postgresql://nobody@127.0.0.1:1/none",
            "jwt_secret": "x" * 32,
        }
    )
    module.create_app(settings)
    (spec,) = captured
    assert set(SERVICES[service].consumes) == set(spec.routes), (
        f"update the {service} row of deploy/generate.py and run it"
    )


def test_pods_reach_their_database_over_verified_tls_as_a_role_that_owns_nothing(
    rendered: list[dict[str, Any]],
) -> None:
    clusters = by_name(rendered, "Cluster")
    for name, svc in SERVICES.items():
        cluster = clusters[f"{name}-db"]["spec"]
        owner = cluster["bootstrap"]["initdb"]["owner"]
        (role,) = cluster["managed"]["roles"]
        assert role["name"] == svc.app_role != owner
        assert role["login"] is True
        assert not {"superuser", "createdb", "createrole", "replication", "bypassrls"} & {
            k for k, v in role.items() if v is True
        }
        assert "inRoles" not in role, "never a member of the owner"
        assert f"{name}-db-pooler-rw" in cluster["certificates"]["serverAltDNSNames"]
        deployment = by_name(rendered, "Deployment")[f"loyalty-{name}"]
        job = by_name(rendered, "Job")[f"loyalty-{name}-migrate"]
        for obj, user, secret in (
            (deployment, svc.app_role, role["passwordSecret"]["name"]),
            (job, owner, f"{name}-db-app"),
        ):
            pod = obj["spec"]["template"]["spec"]
            (container,) = pod["containers"]
            env = _env(container)
            url = env[f"LOYALTY_{name.upper()}_DATABASE_URL"]["value"]
            assert url.startswith(f"postgresql://{user}@"), obj["kind"]
            assert "sslmode=verify-full&sslrootcert=/etc/postgres-ca/ca.crt" in url
            assert env["PGPASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == secret
            volume = {v["name"]: v for v in pod["volumes"]}["postgres-ca"]["secret"]
            assert volume == {
                "secretName": f"{name}-db-ca",
                "items": [{"key": "ca.crt", "path": "ca.crt"}],
            }, "the CA's certificate, never its key"
        assert (
            _env(job["spec"]["template"]["spec"]["containers"][0])["LOYALTY_DB_APP_ROLE"]["value"]
            == svc.app_role
        )


def test_only_the_owning_service_reaches_its_database(rendered: list[dict[str, Any]]) -> None:
    policies = by_name(rendered, "NetworkPolicy")
    for name in SERVICES:
        instances = policies[f"{name}-db"]["spec"]
        assert instances["podSelector"]["matchLabels"]["cnpg.io/cluster"] == f"{name}-db"
        pooler = policies[f"{name}-db-pooler-rw"]["spec"]
        assert pooler["podSelector"]["matchLabels"] == {
            "cnpg.io/poolerName": f"{name}-db-pooler-rw"
        }
        for spec in (instances, pooler):
            assert spec["policyTypes"] == ["Ingress"]
            for rule in spec["ingress"]:
                for peer in rule["from"]:
                    apps = peer.get("podSelector", {}).get("matchLabels", {})
                    if "namespaceSelector" in peer:
                        namespace = peer["namespaceSelector"]["matchLabels"]
                        assert namespace["kubernetes.io/metadata.name"] in {
                            "cnpg-system",
                            "monitoring",
                        }
                    elif "app.kubernetes.io/name" in apps:
                        assert apps["app.kubernetes.io/name"] == f"loyalty-{name}"
                    else:
                        assert apps == {"cnpg.io/cluster": f"{name}-db"}
        api = [p for r in pooler["ingress"] for p in r["from"] if "namespaceSelector" not in p]
        assert [p["podSelector"]["matchLabels"] for p in api] == [
            generate.selector(SERVICES[name])
        ], "the pooler: the service's API pods only"


def test_kafka_is_pinned_and_rack_aware_in_prod(
    rendered: list[dict[str, Any]], overlay: str
) -> None:
    (kafka,) = of_kind(rendered, "Kafka")
    spec = kafka["spec"]["kafka"]
    assert spec["metadataVersion"].startswith(spec["version"].rsplit(".", 1)[0] + "-")
    if overlay == "prod":
        assert spec["rack"]["topologyKey"] == "topology.kubernetes.io/zone"
        for pool in of_kind(rendered, "KafkaNodePool"):
            (spread,) = pool["spec"]["template"]["pod"]["topologySpreadConstraints"]
            assert spread["topologyKey"] == "topology.kubernetes.io/zone"
            assert spread["whenUnsatisfiable"] == "DoNotSchedule"


def test_in_prod_an_answered_points_write_is_on_a_standby_before_the_answer(
    rendered: list[dict[str, Any]], overlay: str
) -> None:
    # A redemption answered and then lost in a failover cannot be read again from Kafka
    # (docs/operations.md#failover-what-can-still-be-lost); consumed events can.
    clusters = by_name(rendered, "Cluster")
    synchronous = clusters["points-db"]["spec"]["postgresql"].get("synchronous")
    if overlay == "dev":
        assert synchronous is None, "one instance: no standby to wait for"
        return
    assert synchronous == {"method": "any", "number": 1, "dataDurability": "required"}
    assert clusters["points-db"]["spec"]["instances"] >= synchronous["number"] + 2, (
        "a standby may be lost without stopping the writes"
    )
    for name in ("tiers-db", "notifications-db", "feedback-db"):
        assert "synchronous" not in clusters[name]["spec"]["postgresql"], name
