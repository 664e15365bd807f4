"""The hardening rules of `make deploy-check`, on an overlay's two layers together (a database is
in the platform, the pods reaching it among the apps):

- LOY-DB-TLS: every pod given a database URL verifies the server (`sslmode=verify-full`) against
  its cluster's CA, CloudNativePG's Secret `<cluster>-ca` mounted read-only, its `ca.crt` only;
- LOY-DB-ROLE: the pods connect as a role the cluster manages that does not own the schema, with
  that role's password; the migration Job connects as the owner and names the pods' role;
- LOY-DB-NETPOL: each cluster's instances and poolers are under an ingress NetworkPolicy, and
  every policy over them admits only the cluster's own pods, the owning service's pods, the
  CloudNativePG operator and monitoring;
- LOY-KAFKA-VERSION: the Kafka version and metadata version are pinned and agree;
- prod only: LOY-DIGEST, every image (containers, PostgreSQL's `imageName`) pinned by digest;
  LOY-KAFKA-RACK, brokers rack-aware and spread over the racks' key. A digest that is still the
  placeholder (all zeros) is listed (low) and refused with `--release`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

from policy import HIGH, LOW, Finding, pod_spec, where

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
DATABASE_URL = re.compile(r"^LOYALTY_\w+_DATABASE_URL$")
#: Who may reach a database besides its cluster's own pods and its service's: these namespaces.
OPERATOR_NAMESPACES = {"cnpg-system", "monitoring"}
NAMESPACE_LABEL = "kubernetes.io/metadata.name"
NAME_LABEL = "app.kubernetes.io/name"


def check_hardening(
    objs: list[dict[str, Any]], *, overlay: str, release: bool = False
) -> list[Finding]:
    findings = [*_databases(objs), *_kafka_version(objs)]
    if overlay == "prod":
        findings += [*_digests(objs, release=release), *_rack_awareness(objs)]
    return findings


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj)
    return [] if spec is None else [*spec.get("initContainers", []), *spec.get("containers", [])]


# ---- images ---------------------------------------------------------------------------------


def _images(objs: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], str, str]]:
    for obj in objs:
        for container in _containers(obj):
            yield obj, where(obj, container.get("name")), str(container.get("image", ""))
        if obj.get("kind") == "Cluster" and obj.get("apiVersion", "").startswith("postgresql."):
            image = (obj.get("spec") or {}).get("imageName")
            yield obj, f"{where(obj)} imageName", str(image or "")


def _digests(objs: list[dict[str, Any]], *, release: bool) -> Iterator[Finding]:
    for _, at, image in _images(objs):
        if not image:
            yield Finding("LOY-DIGEST", HIGH, at, "no image named: the operator's default runs")
        elif not DIGEST.search(image):
            yield Finding("LOY-DIGEST", HIGH, at, f"image {image!r} is not pinned by digest")
        elif image.endswith(PLACEHOLDER_DIGEST):
            yield Finding(
                "LOY-DIGEST-PLACEHOLDER",
                HIGH if release else LOW,
                at,
                f"{image.partition('@')[0]} still has the placeholder digest: the release "
                "resolves it (docs/operations.md, images pinned by digest)",
            )


# ---- Kafka ----------------------------------------------------------------------------------


def _kafkas(objs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in objs if o.get("kind") == "Kafka" and "strimzi" in o.get("apiVersion", "")]


def _kafka_version(objs: list[dict[str, Any]]) -> Iterator[Finding]:
    for kafka in _kafkas(objs):
        spec = (kafka.get("spec") or {}).get("kafka") or {}
        version, metadata = str(spec.get("version", "")), str(spec.get("metadataVersion", ""))
        if not version or not metadata:
            yield Finding(
                "LOY-KAFKA-VERSION",
                HIGH,
                where(kafka),
                "spec.kafka.version and spec.kafka.metadataVersion must both be set: an "
                "operator upgrade would otherwise upgrade Kafka and its metadata by itself",
            )
        elif not metadata.startswith(".".join(version.split(".")[:2]) + "-"):
            yield Finding(
                "LOY-KAFKA-VERSION",
                HIGH,
                where(kafka),
                f"metadataVersion {metadata} is not one of Kafka {version}'s",
            )


def _rack_awareness(objs: list[dict[str, Any]]) -> Iterator[Finding]:
    for kafka in _kafkas(objs):
        key = (((kafka.get("spec") or {}).get("kafka") or {}).get("rack") or {}).get("topologyKey")
        if not key:
            yield Finding(
                "LOY-KAFKA-RACK",
                HIGH,
                where(kafka),
                "no spec.kafka.rack.topologyKey: replicas of a partition may share a zone",
            )
            continue
        cluster = kafka["metadata"]["name"]
        for pool in objs:
            if pool.get("kind") != "KafkaNodePool":
                continue
            if (pool["metadata"].get("labels") or {}).get("strimzi.io/cluster") != cluster:
                continue
            spread = ((pool["spec"].get("template") or {}).get("pod") or {}).get(
                "topologySpreadConstraints"
            ) or []
            if not any(
                c.get("topologyKey") == key and c.get("whenUnsatisfiable") == "DoNotSchedule"
                for c in spread
            ):
                yield Finding(
                    "LOY-KAFKA-RACK",
                    HIGH,
                    where(pool),
                    f"its pods are not spread over {key} (topologySpreadConstraints, "
                    "DoNotSchedule): two of them may share a rack",
                )


# ---- databases ------------------------------------------------------------------------------


class _Databases:
    def __init__(self, objs: list[dict[str, Any]]) -> None:
        self.clusters = {
            o["metadata"]["name"]: o
            for o in objs
            if o.get("kind") == "Cluster" and o.get("apiVersion", "").startswith("postgresql.")
        }
        self.poolers = {
            o["metadata"]["name"]: o
            for o in objs
            if o.get("kind") == "Pooler" and o.get("apiVersion", "").startswith("postgresql.")
        }

    def cluster_of_host(self, host: str) -> str | None:
        host = host.split(".")[0]
        if host in self.poolers:
            return str(self.poolers[host]["spec"]["cluster"]["name"])
        for suffix in ("-rw", "-ro", "-r"):
            if host.endswith(suffix) and host.removesuffix(suffix) in self.clusters:
                return host.removesuffix(suffix)
        return None

    def owner(self, cluster: str) -> str | None:
        spec = self.clusters[cluster].get("spec") or {}
        owner = ((spec.get("bootstrap") or {}).get("initdb") or {}).get("owner")
        return str(owner) if owner else None

    def roles(self, cluster: str) -> dict[str, dict[str, Any]]:
        managed = (self.clusters[cluster].get("spec") or {}).get("managed") or {}
        return {str(r["name"]): r for r in managed.get("roles", []) or []}

    def service(self, cluster: str) -> str | None:
        return (self.clusters[cluster]["metadata"].get("labels") or {}).get(NAME_LABEL)


def _databases(objs: list[dict[str, Any]]) -> Iterator[Finding]:
    databases = _Databases(objs)
    if not databases.clusters:
        return
    for obj in objs:
        spec = pod_spec(obj)
        if spec is None:
            continue
        for container in _containers(obj):
            env = {e["name"]: e for e in container.get("env", []) or []}
            for name, var in env.items():
                if DATABASE_URL.match(name) and "value" in var:
                    at = where(obj, container.get("name"))
                    yield from _connection(databases, obj, spec, container, env, var["value"], at)
    yield from _network_policies(databases, objs)


def _connection(
    databases: _Databases,
    obj: dict[str, Any],
    spec: dict[str, Any],
    container: dict[str, Any],
    env: dict[str, dict[str, Any]],
    url: str,
    at: str,
) -> Iterator[Finding]:
    parts = urlsplit(url)
    cluster = databases.cluster_of_host(parts.hostname or "")
    if cluster is None:
        yield Finding("LOY-DB-TLS", HIGH, at, f"{parts.hostname} is no database of this overlay")
        return
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    if query.get("sslmode") != "verify-full":
        yield Finding(
            "LOY-DB-TLS",
            HIGH,
            at,
            f"sslmode={query.get('sslmode')}: the server must be verified (verify-full), or a "
            "pod on the path can read and change every query",
        )
    root = query.get("sslrootcert", "")
    if not _mounted_ca(spec, container, root, f"{cluster}-ca"):
        yield Finding(
            "LOY-DB-TLS",
            HIGH,
            at,
            f"sslrootcert {root or '(none)'} is not {cluster}-ca's ca.crt mounted read-only "
            "(the certificate alone, never the CA's key)",
        )
    user = parts.username or ""
    owner = databases.owner(cluster)
    roles = databases.roles(cluster)
    password = ((env.get("PGPASSWORD") or {}).get("valueFrom") or {}).get("secretKeyRef") or {}
    migrates = (container.get("command") or [""])[-1] == "migrate"
    if migrates:
        if user != owner or password.get("name") != f"{cluster}-app":
            yield Finding(
                "LOY-DB-ROLE",
                HIGH,
                at,
                f"migrates as {user!r} with the Secret {password.get('name')!r}: the schema's "
                f"owner is {owner!r}, its password CloudNativePG's {cluster}-app",
            )
        app_role = (env.get("LOYALTY_DB_APP_ROLE") or {}).get("value")
        if app_role not in roles or app_role == owner:
            yield Finding(
                "LOY-DB-ROLE",
                HIGH,
                at,
                f"LOYALTY_DB_APP_ROLE={app_role!r} is not a role {cluster} manages apart from "
                "the owner: the pods' role would get no grants",
            )
        return
    role = roles.get(user)
    secret = ((role or {}).get("passwordSecret") or {}).get("name")
    inherits = role is not None and owner in (role.get("inRoles") or [])
    if role is None or user == owner or role.get("superuser") or inherits:
        yield Finding(
            "LOY-DB-ROLE",
            HIGH,
            at,
            f"connects as {user!r}: the pods take a role {cluster} manages (managed.roles) that "
            f"neither is nor inherits the owner {owner!r}, who could alter and drop the tables",
        )
    elif password.get("name") != secret:
        yield Finding(
            "LOY-DB-ROLE",
            HIGH,
            at,
            f"PGPASSWORD from {password.get('name')!r}, not {user}'s Secret {secret!r}",
        )


def _mounted_ca(spec: dict[str, Any], container: dict[str, Any], path: str, secret: str) -> bool:
    volumes = {v["name"]: v for v in spec.get("volumes", []) or []}
    for mount in container.get("volumeMounts", []) or []:
        base = str(mount.get("mountPath", "")).rstrip("/") + "/"
        if not path.startswith(base):
            continue
        source = volumes.get(mount["name"], {}).get("secret") or {}
        items = source.get("items") or []
        return (
            source.get("secretName") == secret
            and mount.get("readOnly") is True
            and [(i.get("key"), i.get("path")) for i in items] == [("ca.crt", path[len(base) :])]
        )
    return False


def _network_policies(databases: _Databases, objs: list[dict[str, Any]]) -> Iterator[Finding]:
    policies = [o for o in objs if o.get("kind") == "NetworkPolicy"]
    targets: list[tuple[dict[str, Any], str, dict[str, str]]] = []
    for name in databases.clusters:
        targets.append(
            (
                databases.clusters[name],
                name,
                {"cnpg.io/cluster": name, "cnpg.io/podRole": "instance"},
            )
        )
    for name, pooler in databases.poolers.items():
        cluster = str(pooler["spec"]["cluster"]["name"])
        template = ((pooler["spec"].get("template") or {}).get("metadata") or {}).get("labels")
        pod = {
            **(template or {}),
            "cnpg.io/cluster": cluster,
            "cnpg.io/poolerName": name,
            "cnpg.io/podRole": "pooler",
        }
        targets.append((pooler, cluster, pod))
    for obj, cluster, labels in targets:
        over = [p for p in policies if _selects(p, labels)]
        if not over:
            yield Finding(
                "LOY-DB-NETPOL",
                HIGH,
                where(obj),
                "no NetworkPolicy limits who reaches its pods: any pod of the cluster can",
            )
        for policy in over:
            for rule in policy["spec"].get("ingress", []) or []:
                peers = rule.get("from") or [{}]
                for peer in peers:
                    if not _admitted(databases, cluster, peer):
                        yield Finding(
                            "LOY-DB-NETPOL",
                            HIGH,
                            where(policy),
                            f"admits {peer or 'anyone'} to {where(obj)}: only its cluster's "
                            f"pods, {databases.service(cluster)}'s pods, the CloudNativePG "
                            "operator and monitoring may",
                        )


def _selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    spec = policy.get("spec") or {}
    if "Ingress" not in (spec.get("policyTypes") or ["Ingress"]):
        return False
    selector = spec.get("podSelector") or {}
    if selector.get("matchExpressions"):
        return True  # not used here: judged as if it selected, so its peers are checked
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def _admitted(databases: _Databases, cluster: str, peer: dict[str, Any]) -> bool:
    if "ipBlock" in peer:
        return False
    namespaces = peer.get("namespaceSelector")
    pods = (peer.get("podSelector") or {}).get("matchLabels") or {}
    if namespaces is not None:
        named = (namespaces.get("matchLabels") or {}).get(NAMESPACE_LABEL)
        return named in OPERATOR_NAMESPACES and not namespaces.get("matchExpressions")
    if "podSelector" not in peer or (peer["podSelector"] or {}).get("matchExpressions"):
        return False
    own = pods.get("cnpg.io/cluster") == cluster
    pooler = pods.get("cnpg.io/poolerName")
    own_pooler = pooler in databases.poolers and (
        databases.poolers[pooler]["spec"]["cluster"]["name"] == cluster
    )
    service = databases.service(cluster)
    return own or own_pooler or (service is not None and pods.get(NAME_LABEL) == service)


__all__ = ["PLACEHOLDER_DIGEST", "check_hardening"]
