"""The policy check of `make deploy-check`: checkov's Kubernetes checks that matter here, and a
few of our own, on the rendered objects.

Why not checkov itself: checkov 3.3 resolves in the uv workspace only by pinning `packaging`
down to 23.2 and `pytest` from 9.2 to 9.1, for everyone, and brings ~85 packages (boto3,
networkx, ...) into every `make test`. kube-linter, Kyverno's CLI and kubeconform are not
installable from the registries this project uses (deploy/README.md). These rules cover the
checkov CKV_K8S checks that apply to these manifests (ids in brackets), with the severities
checkov's policy catalogue gives them, and the project's own (LOY-...): what holds data stays in
the platform and is never pruned or deleted with its volumes, and prod mounts no HS256 secret.
`make deploy-check` fails on anything above low.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

HIGH, MEDIUM, LOW = "high", "medium", "low"
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"}
#: Settings only `make run` may turn on, with the value a cluster must keep: the console's
#: sign-in by role (anyone could be admin) and its session cookie over plain HTTP.
LOCAL_ONLY = {"LOYALTY_CONSOLE_DEV_SIGN_IN": "false", "LOYALTY_CONSOLE_SECURE_COOKIE": "true"}
SECRETISH = re.compile(r"(PASSWORD|SECRET|TOKEN|API_KEY|PRIVATE_KEY)", re.IGNORECASE)
#: What holds data (or is the platform the data lives on): only in the platform layer, where
#: Argo CD never prunes nor deletes it. Deleting a CloudNativePG Cluster deletes its volumes; a
#: KafkaTopic, the topic and its records; the Namespace, everything in it.
DATA_KINDS = {
    "Namespace",
    "PersistentVolumeClaim",
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
    "Cluster",
    "ObjectStore",
    "ScheduledBackup",
}
PLATFORM_KINDS = DATA_KINDS | {"KafkaUser", "Pooler"}
KEEP = ("Prune=false", "Delete=false")
#: The HS256 secret: whoever holds it can mint any token, admin's included. Never in prod.
HS256_SECRET = "LOYALTY_JWT_SECRET"  # noqa: S105 - the variable's name, not a secret
HS256_SECRET_OBJECT = "loyalty-jwt"  # noqa: S105 - the Secret object's name
#: Prod checks tokens against the identity provider's keys, for one audience and issuer.
JWKS_SETTINGS = ("LOYALTY_JWT_JWKS_URL", "LOYALTY_JWT_AUDIENCE", "LOYALTY_JWT_ISSUER")
OUR_IMAGES = "registry.example.com/loyalty/"


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    where: str
    message: str

    @property
    def blocking(self) -> bool:
        return self.severity != LOW

    def __str__(self) -> str:
        return f"[{self.severity}] {self.rule} {self.where}: {self.message}"


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    kind = obj.get("kind")
    if kind not in WORKLOADS:
        return None
    if kind == "Pod":
        return obj.get("spec") or {}
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"].get("spec") or {}
    return obj["spec"]["template"].get("spec") or {}


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    if obj.get("kind") == "Pod":
        return obj.get("metadata", {}).get("labels") or {}
    if obj.get("kind") == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels") or {}
    return obj["spec"]["template"].get("metadata", {}).get("labels") or {}


def where(obj: dict[str, Any], container: str | None = None) -> str:
    name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
    return f"{name}[{container}]" if container else name


def check_policy(
    objs: list[dict[str, Any]], *, layer: str | None = None, overlay: str | None = None
) -> list[Finding]:
    """The findings on one rendered layer (`platform` or `apps`) of an overlay (`dev`, `prod`)."""
    findings: list[Finding] = []
    for obj in objs:
        findings.extend(_data_rules(obj, layer))
        if overlay == "prod":
            findings.extend(_prod_token_rules(obj))
    policies = [o for o in objs if o.get("kind") == "NetworkPolicy"]
    accounts = {o["metadata"]["name"]: o for o in objs if o.get("kind") == "ServiceAccount"}
    pdbs = [o for o in objs if o.get("kind") == "PodDisruptionBudget"]
    for obj in objs:
        findings.extend(_object_rules(obj))
        spec = pod_spec(obj)
        if spec is None:
            continue
        findings.extend(_pod_rules(obj, spec, accounts))
        for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
            findings.extend(_container_rules(obj, spec, container))
        labels = pod_labels(obj)
        if not any(_selects(p, labels, "Ingress") for p in policies) or not any(
            _selects(p, labels, "Egress") for p in policies
        ):
            findings.append(
                Finding(
                    "LOY-NETPOL",
                    MEDIUM,
                    where(obj),
                    "no NetworkPolicy limits both its ingress and its egress",
                )
            )
        if obj["kind"] == "Deployment" and not any(
            _matches(p["spec"].get("selector", {}), labels) for p in pdbs
        ):
            findings.append(Finding("LOY-PDB", MEDIUM, where(obj), "no PodDisruptionBudget"))
    return findings


def _data_rules(obj: dict[str, Any], layer: str | None) -> Iterator[Finding]:
    kind = obj.get("kind")
    for path in _deleted_claims(obj.get("spec") or {}, "spec"):
        yield Finding(
            "LOY-DELETE-CLAIM",
            HIGH,
            where(obj),
            f"{path}: deleting the object would delete its volumes and their data",
        )
    if layer == "apps" and kind in PLATFORM_KINDS:
        yield Finding(
            "LOY-LAYER",
            HIGH,
            where(obj),
            "belongs to the platform (deploy/platform): deleting or pruning the apps would take it",
        )
    if layer == "platform" and kind in DATA_KINDS:
        options = (obj.get("metadata", {}).get("annotations") or {}).get(
            "argocd.argoproj.io/sync-options", ""
        )
        missing = [o for o in KEEP if o not in options.split(",")]
        if missing:
            yield Finding(
                "LOY-KEEP-DATA",
                HIGH,
                where(obj),
                f"argocd.argoproj.io/sync-options lacks {','.join(missing)}: a sync or a deleted "
                "Application would delete it",
            )


def _deleted_claims(node: Any, path: str) -> Iterator[str]:
    """Where under `node` a `deleteClaim` is not false (Strimzi storage, JBOD volumes)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "deleteClaim" and value is not False:
                yield f"{path}.{key}={value!r}"
            yield from _deleted_claims(value, f"{path}.{key}")
    elif isinstance(node, list):
        for n, item in enumerate(node):
            yield from _deleted_claims(item, f"{path}[{n}]")


def _prod_token_rules(obj: dict[str, Any]) -> Iterator[Finding]:
    spec = pod_spec(obj)
    if spec is None:
        return
    for volume in spec.get("volumes", []) or []:
        if (volume.get("secret") or {}).get("secretName") == HS256_SECRET_OBJECT:
            yield Finding(
                "LOY-HS256", HIGH, where(obj), f"mounts the Secret {HS256_SECRET_OBJECT} in prod"
            )
    for container in [*spec.get("initContainers", []), *spec.get("containers", [])]:
        at = where(obj, container.get("name"))
        env = {e["name"]: e for e in container.get("env", []) or []}
        secret_refs = [
            (e.get("valueFrom") or {}).get("secretKeyRef", {}).get("name") for e in env.values()
        ]
        from_secrets = [
            (source.get("secretRef") or {}).get("name")
            for source in container.get("envFrom", []) or []
        ]
        if HS256_SECRET in env or HS256_SECRET_OBJECT in secret_refs + from_secrets:
            yield Finding(
                "LOY-HS256",
                HIGH,
                at,
                f"{HS256_SECRET} (the HS256 secret, {HS256_SECRET_OBJECT}) in prod: whoever "
                "holds it can mint any token; prod checks tokens with JWKS only",
            )
        if str(container.get("image", "")).startswith(OUR_IMAGES):
            missing = [name for name in JWKS_SETTINGS if name not in env]
            if missing:
                yield Finding(
                    "LOY-JWKS",
                    HIGH,
                    at,
                    f"checks tokens without {', '.join(missing)} in prod",
                )


def _object_rules(obj: dict[str, Any]) -> Iterator[Finding]:
    kind = obj.get("kind")
    meta = obj.get("metadata") or {}
    if kind != "Namespace" and meta.get("namespace") in (None, "default"):
        yield Finding("CKV_K8S_21", MEDIUM, where(obj), "in the default namespace")
    if kind == "Secret" and (obj.get("data") or obj.get("stringData")):
        yield Finding(
            "LOY-SECRET",
            HIGH,
            where(obj),
            "a Secret with values in the repository: reference Secrets made elsewhere",
        )
    if kind == "Service" and obj.get("spec", {}).get("type") in ("NodePort", "LoadBalancer"):
        yield Finding(
            "CKV_K8S_69",
            MEDIUM,
            where(obj),
            "exposed outside the cluster: traffic comes through the gateway",
        )
    if kind == "NetworkPolicy":
        for rule in obj["spec"].get("ingress", []) or []:
            if not rule.get("from"):
                yield Finding(
                    "LOY-NETPOL-OPEN", MEDIUM, where(obj), "an ingress rule from anywhere"
                )


def _pod_rules(
    obj: dict[str, Any], spec: dict[str, Any], accounts: dict[str, dict[str, Any]]
) -> Iterator[Finding]:
    for flag, rule in (
        ("hostNetwork", "CKV_K8S_19"),
        ("hostPID", "CKV_K8S_17"),
        ("hostIPC", "CKV_K8S_18"),
    ):
        if spec.get(flag):
            yield Finding(rule, HIGH, where(obj), f"{flag} is on")
    for volume in spec.get("volumes", []) or []:
        if "hostPath" in volume:
            yield Finding("CKV_K8S_27", HIGH, where(obj), f"hostPath volume {volume['name']}")
    account = accounts.get(spec.get("serviceAccountName", "default"), {})
    if (
        spec.get("automountServiceAccountToken") is not False
        and account.get("automountServiceAccountToken") is not False
    ):
        yield Finding(
            "CKV_K8S_38", MEDIUM, where(obj), "mounts a service account token it does not need"
        )
    pod_sc = spec.get("securityContext") or {}
    if (pod_sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault" and any(
        ((c.get("securityContext") or {}).get("seccompProfile") or {}).get("type")
        != "RuntimeDefault"
        for c in spec.get("containers", [])
    ):
        yield Finding("CKV_K8S_31", MEDIUM, where(obj), "seccomp profile is not RuntimeDefault")


def _container_rules(
    obj: dict[str, Any], spec: dict[str, Any], container: dict[str, Any]
) -> Iterator[Finding]:
    at = where(obj, container.get("name"))
    sc = container.get("securityContext") or {}
    pod_sc = spec.get("securityContext") or {}
    if sc.get("privileged"):
        yield Finding("CKV_K8S_16", HIGH, at, "privileged")
    if sc.get("allowPrivilegeEscalation") is not False:
        yield Finding("CKV_K8S_20", HIGH, at, "allowPrivilegeEscalation is not false")
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    if non_root is not True or user == 0:
        yield Finding("CKV_K8S_23", HIGH, at, "may run as root (runAsNonRoot not true)")
    elif user is not None and user < 10000:
        yield Finding("CKV_K8S_40", LOW, at, f"runs as UID {user} (< 10000)")
    caps = sc.get("capabilities") or {}
    if "ALL" not in (caps.get("drop") or []):
        yield Finding("CKV_K8S_28", HIGH, at, "does not drop ALL capabilities")
    if caps.get("add"):
        yield Finding("CKV_K8S_39", HIGH, at, f"adds capabilities {caps['add']}")
    for port in container.get("ports", []) or []:
        if port.get("hostPort"):
            yield Finding("CKV_K8S_26", HIGH, at, f"hostPort {port['hostPort']}")
    if sc.get("readOnlyRootFilesystem") is not True:
        yield Finding("CKV_K8S_22", MEDIUM, at, "root filesystem is writable")
    resources = container.get("resources") or {}
    for section, rule_cpu, rule_mem in (
        ("requests", "CKV_K8S_10", "CKV_K8S_12"),
        ("limits", "CKV_K8S_11", "CKV_K8S_13"),
    ):
        values = resources.get(section) or {}
        if "cpu" not in values:
            yield Finding(rule_cpu, MEDIUM, at, f"no CPU {section}")
        if "memory" not in values:
            yield Finding(rule_mem, MEDIUM, at, f"no memory {section}")
    image = str(container.get("image", ""))
    name_part = image.rsplit("/", 1)[-1]
    if "@sha256:" not in image:
        if ":" not in name_part or name_part.endswith(":latest"):
            yield Finding("CKV_K8S_14", MEDIUM, at, f"image {image!r} has no fixed tag")
        else:
            yield Finding("CKV_K8S_43", LOW, at, f"image {image!r} is not pinned by digest")
    if container.get("imagePullPolicy") != "Always":
        yield Finding("CKV_K8S_15", LOW, at, "imagePullPolicy is not Always")
    if obj.get("kind") not in ("Job", "CronJob"):
        if "livenessProbe" not in container:
            yield Finding("CKV_K8S_8", MEDIUM, at, "no liveness probe")
        if "readinessProbe" not in container:
            yield Finding("CKV_K8S_9", MEDIUM, at, "no readiness probe")
    for env in container.get("env", []) or []:
        if env["name"] in LOCAL_ONLY and env.get("value") != LOCAL_ONLY[env["name"]]:
            yield Finding(
                "LOY-LOCAL-ONLY",
                HIGH,
                at,
                f"{env['name']} is for a developer's machine (`make run`), never a cluster",
            )
        if "value" in env and SECRETISH.search(env["name"]):
            yield Finding(
                "LOY-ENV-SECRET",
                HIGH,
                at,
                f"{env['name']} has a literal value: take it from a Secret",
            )
        elif "secretKeyRef" in (env.get("valueFrom") or {}):
            yield Finding(
                "CKV_K8S_35", LOW, at, f"{env['name']} is a secret in an environment variable"
            )


def _matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    wanted = selector.get("matchLabels") or {}
    if selector.get("matchExpressions"):
        return False  # not used here; never assume it matches
    return all(labels.get(k) == v for k, v in wanted.items())


def _selects(policy: dict[str, Any], labels: dict[str, str], kind: str) -> bool:
    spec = policy.get("spec") or {}
    return kind in (spec.get("policyTypes") or []) and _matches(spec.get("podSelector", {}), labels)
