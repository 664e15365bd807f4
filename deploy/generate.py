"""Write the per-service manifests of deploy/platform, deploy/apps and deploy/components/keda
from one table.

The four services differ only in name, port, what they consume and produce, and a few
extras; writing their Deployment, Service, PDB, HPA, NetworkPolicy, ServiceMonitor, migration
Job, database, topics, users and scalers by hand four times would drift. What holds data (the
databases, topics, users) goes to deploy/platform, the rest to deploy/apps: deleting or pruning
the apps never touches data. The API's HTTPRoutes (public and internal host) and rate limits
come from the route table in loyalty_devkit.gateway.routes (the local gateway's too). Run
`python deploy/generate.py` after changing a table; tests/deploy checks the committed files are
what it writes.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from loyalty_devkit.gateway.routes import HOSTNAMES, RATE_LIMITS, RULES, Host, RateLimit, Rule

HERE = Path(__file__).parent
PLATFORM = HERE / "platform"
APPS = HERE / "apps"
KEDA = HERE / "components" / "keda"

NAMESPACE = "loyalty"
KAFKA_CLUSTER = "loyalty"  # Strimzi names: loyalty-kafka-bootstrap, loyalty-cluster-ca-cert
KAFKA_BOOTSTRAP = f"{KAFKA_CLUSTER}-kafka-bootstrap:9093"
GATEWAY_NAMESPACE = "gateway"
#: The Gateway (namespace GATEWAY_NAMESPACE, listener `https`) each API host hangs off: the
#: internet-facing one, and the company network's (the console's too).
API_GATEWAYS: dict[Host, str] = {"public": "public", "internal": "internal"}
API_ROUTES: dict[Host, str] = {"public": "loyalty-api", "internal": "loyalty-api-internal"}
#: Envoy Gateway's extensions (gateway.envoyproxy.io): the rate limits and a regex rewrite.
ENVOY_GATEWAY = "gateway.envoyproxy.io"
MONITORING_NAMESPACE = "monitoring"
#: The OpenTelemetry collector the services may export traces to (OTLP/HTTP 4318, gRPC 4317)
#: once `OTEL_EXPORTER_OTLP_ENDPOINT` is set: in the monitoring namespace, by its chart's label.
OTLP_COLLECTOR = {"app.kubernetes.io/name": "opentelemetry-collector"}
OTLP_PORTS = (4317, 4318)
IMAGE_REPO = "registry.example.com/loyalty"
SITE_PACKAGES = "/app/.venv/lib/python3.11/site-packages"
#: Where each pod that reaches its database finds that cluster's CA (CloudNativePG's Secret
#: `<cluster>-ca`, its `ca.crt` only, read-only): the services verify the server against it
#: and its name (`sslmode=verify-full`).
POSTGRES_CA_DIR = "/etc/postgres-ca"
#: Third-party images are pinned by digest. Where this repository cannot know the digest (no
#: registry offline), it is this placeholder in the real format, which the release replaces
#: (docs/operations.md, "Images pinned by digest"): `make deploy-check` lists every one and
#: `deploy/check/deploy_check.py --release` refuses them.
PLACEHOLDER_DIGEST = "sha256:" + "0" * 64
POSTGRES_IMAGE = f"ghcr.io/cloudnative-pg/postgresql:18.4-standard-trixie@{PLACEHOLDER_DIGEST}"
#: The CloudNativePG operator: it reaches every instance on 8000 (status) and 5432.
CNPG_NAMESPACE = "cnpg-system"
CNPG_OPERATOR = {"app.kubernetes.io/name": "cloudnative-pg"}

#: Partitions bound the consumers of a group: one partition is read by at most one member. The
#: key is the member id everywhere, so adding partitions later moves members to other
#: partitions (their order is broken while old records drain): size once, generously. 12 divides
#: evenly among 1, 2, 3, 4, 6 and 12 consumers. Retention: the inputs are kept 7 days (a
#: consumer can be rewound after an incident; the ledger in PostgreSQL is the record), the
#: dead-letter topics 30 days (time to look, fix and replay).
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Topic:
    name: str
    partitions: int
    retention_days: int
    why: str
    #: Compacted by key (the member) and never deleted by age: the latest record per member stays.
    compacted: bool = False


TOPICS = [
    Topic(
        "commerce.purchases",
        12,
        7,
        "the busiest input: every purchase and refund, read by all four services",
    ),
    Topic("commerce.members", 6, 7, "enrolments and profile changes, far fewer than purchases"),
    Topic(
        "loyalty.points",
        12,
        7,
        "one or more events per purchase plus maturation, expiry and "
        "warnings: as busy as the purchases",
    ),
    Topic("loyalty.tiers", 6, 7, "tier changes are rare (a few per member per year)"),
    Topic("loyalty.feedback", 6, 7, "survey requests and answers, at most one per order"),
    Topic("loyalty.notifications", 6, 7, "delivery outcomes, at most a few per member a day"),
    Topic(
        "loyalty.privacy",
        6,
        0,
        "one privacy.erased per erasure and service: rare; compacted, the register of erasures",
        compacted=True,
    ),
]
DLQ_PARTITIONS = 3  # dead letters are rare; 3 keeps one member's records in order, spread
DLQ_RETENTION_DAYS = 30


def dlq(topic: str) -> str:
    return f"{topic}.dlq"


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    consumes: tuple[str, ...]
    produces: tuple[str, ...]
    #: Egress beyond Kafka, its database and DNS (SMTP, webhooks, push/SMS provider).
    external_egress: bool = False
    #: Reads the loyalty program file (LOYALTY_PROGRAM_FILE, the ConfigMap).
    reads_program: bool = True
    cpu_request: str = "250m"
    memory_request: str = "256Mi"
    memory_limit: str = "512Mi"
    extra_env: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def app(self) -> str:
        return f"loyalty-{self.name}"

    @property
    def db(self) -> str:
        return f"{self.name}-db"

    @property
    def database(self) -> str:
        """The database, and the role that owns it and its schema (the migration Job's)."""
        return f"loyalty_{self.name}"

    @property
    def app_role(self) -> str:
        """The role the pods connect as: the data, not the schema (a CNPG managed role)."""
        return f"{self.database}_app"

    @property
    def app_role_secret(self) -> str:
        """Its password (`kubernetes.io/basic-auth`, made by the operator, not CloudNativePG's
        `<db>-app`, which is the owner's)."""
        return f"{self.db}-app-role"

    @property
    def max_replicas(self) -> int:
        # More consumers than the partitions of the busiest topic consumed would sit idle.
        partitions = {t.name: t.partitions for t in TOPICS}
        return max(partitions[topic] for topic in self.consumes)

    @property
    def writes(self) -> tuple[str, ...]:
        # What it emits, and the dead-letter twins of what it consumes (it dead-letters there).
        return self.produces + tuple(dlq(topic) for topic in self.consumes)


SERVICES = [
    Service(
        "points",
        8001,
        ("commerce.purchases", "commerce.members", "loyalty.tiers", "loyalty.feedback"),
        ("loyalty.points", "loyalty.privacy"),
        cpu_request="500m",
        memory_request="384Mi",
        memory_limit="768Mi",
    ),
    Service(
        "tiers",
        8002,
        ("commerce.purchases", "commerce.members"),
        ("loyalty.tiers", "loyalty.privacy"),
    ),
    Service(
        "notifications",
        8003,
        (
            "commerce.members",
            "commerce.purchases",
            "loyalty.points",
            "loyalty.tiers",
            "loyalty.feedback",
        ),
        ("loyalty.notifications", "loyalty.privacy"),
        external_egress=True,
        reads_program=False,
    ),
    Service(
        "feedback",
        8004,
        ("commerce.purchases", "commerce.members", "loyalty.tiers"),
        ("loyalty.feedback", "loyalty.privacy"),
    ),
]

#: The operator console: no database, no Kafka; it calls the four services' APIs with each
#: operator's own token and is reached on the internal operator host only (an internal Gateway,
#: not the public one). Signing in is OpenID Connect against the company's identity provider
#: (ConfigMap `loyalty-console`, Secret `loyalty-console`); the development sign-in by role is
#: never turned on here (`make deploy-check` refuses it).
CONSOLE = Service(
    "console",
    8080,
    consumes=(),
    produces=(),
    reads_program=False,
    cpu_request="100m",
    memory_request="192Mi",
    memory_limit="384Mi",
)
CONSOLE_HOST = "console.loyalty.internal.example.com"
#: The identity provider (Keycloak, say) in its own namespace: operators sign in there, and its
#: RS256 keys (JWKS) verify their tokens in the console and in every service.
IDENTITY_NAMESPACE = "identity"
OIDC_CONFIG = "loyalty-oidc"
INTERNAL_GATEWAY = "internal"
CONSOLE_MAX_REPLICAS = 4
#: The services answer the console's calls on their own ports, inside the namespace.
SERVICE_URLS = tuple(
    (f"LOYALTY_CONSOLE_{svc.name.upper()}_URL", f"http://{svc.app}:{svc.port}") for svc in SERVICES
)

#: SIGTERM drain: the preStop sleep lets endpoints and the gateway stop sending; then uvicorn
#: waits up to 30 s for requests, the consumer up to 25 s to finish and commit its batch, the
#: relay up to 10 s to publish what is committed. The grace period covers all of it.
PRESTOP_SLEEP_S = 5
GRACE_PERIOD_S = PRESTOP_SLEEP_S + 30 + 25 + 10 + 10


# Argo CD: the platform (databases, Kafka, deploy/platform) is an Application of its own, synced
# before the apps and never pruned. Within the apps: their configuration, service accounts and
# the rest (wave 0, the default), then the migration Jobs, then the workloads and what scales
# them, so a first install (and every sync) migrates before any pod of the new release starts.
# The pods also wait for their schema themselves.
MIGRATIONS_WAVE = {"argocd.argoproj.io/sync-wave": "1"}
APPS_WAVE = {"argocd.argoproj.io/sync-wave": "2"}


def labels(svc: Service, component: str = "api") -> dict[str, str]:
    return {
        "app.kubernetes.io/name": svc.app,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "loyalty",
    }


def selector(svc: Service) -> dict[str, str]:
    return {"app.kubernetes.io/name": svc.app, "app.kubernetes.io/component": "api"}


def database_url(svc: Service, host: str, user: str) -> str:
    # No password in the URL: asyncpg and dbmate (lib/pq) both read PGPASSWORD. TLS, checked
    # against the cluster's CA and for the host named (the pooler's name is in the certificate).
    return (
        f"postgresql://{user}@{host}:5432/{svc.database}"
        f"?sslmode=verify-full&sslrootcert={POSTGRES_CA_DIR}/ca.crt"
    )


def common_env(svc: Service) -> list[dict[str, Any]]:
    return [
        {"name": "LOYALTY_HOST", "value": "0.0.0.0"},  # noqa: S104 - a pod's own address
        {"name": f"LOYALTY_{svc.name.upper()}_PORT", "value": str(svc.port)},
        {"name": "LOYALTY_LOG_FORMAT", "value": "json"},
        {
            "name": f"LOYALTY_{svc.name.upper()}_DATABASE_URL",
            "value": database_url(svc, f"{svc.db}-pooler-rw", svc.app_role),
        },
        {"name": "PGPASSWORD", "valueFrom": secret_ref(svc.app_role_secret, "password")},
        # asyncpg behind pgbouncer in transaction mode: no prepared-statement cache.
        {"name": "LOYALTY_DB_STATEMENT_CACHE_SIZE", "value": "0"},
        # The migration Job migrates (against the primary); dbmate's session lock is unsafe
        # through pgbouncer.
        {"name": "LOYALTY_MIGRATE_AT_START", "value": "false"},
        {"name": "LOYALTY_KAFKA_BOOTSTRAP", "value": KAFKA_BOOTSTRAP},
        {"name": "LOYALTY_KAFKA_SECURITY_PROTOCOL", "value": "SASL_SSL"},
        {"name": "LOYALTY_KAFKA_SASL_MECHANISM", "value": "SCRAM-SHA-512"},
        {"name": "LOYALTY_KAFKA_SASL_USERNAME", "value": svc.app},
        {"name": "LOYALTY_KAFKA_SASL_PASSWORD", "valueFrom": secret_ref(svc.app, "password")},
        {"name": "LOYALTY_KAFKA_SSL_CAFILE", "value": "/etc/kafka-ca/ca.crt"},
        {"name": "LOYALTY_KAFKA_IDEMPOTENT_PRODUCER", "value": "true"},
        # Kafka answers a fetch as soon as a record arrives: the wait only bounds an idle
        # consumer's polling (the 20 ms default is for the local broker, whose fetch does not
        # wake on new data).
        {"name": "LOYALTY_KAFKA_FETCH_MAX_WAIT_MS", "value": "500"},
        *jwks_env(),
        *(
            [{"name": "LOYALTY_PROGRAM_FILE", "value": "/etc/loyalty/program/program.toml"}]
            if svc.reads_program
            else []
        ),
        *({"name": k, "value": v} for k, v in svc.extra_env),
    ]


def jwks_env() -> list[dict[str, Any]]:
    """Tokens are checked against the identity provider's keys (JWKS), for this audience and
    issuer only. No HS256 secret: a pod holding it could mint any token, admin's included (the
    dev overlay adds one; `make deploy-check` refuses it in prod)."""
    return [
        {"name": "LOYALTY_JWT_JWKS_URL", "valueFrom": config_ref(OIDC_CONFIG, "jwks-url")},
        {"name": "LOYALTY_JWT_AUDIENCE", "valueFrom": config_ref(OIDC_CONFIG, "audience")},
        {"name": "LOYALTY_JWT_ISSUER", "valueFrom": config_ref(OIDC_CONFIG, "issuer")},
    ]


def secret_ref(name: str, key: str) -> dict[str, Any]:
    return {"secretKeyRef": {"name": name, "key": key}}


def config_ref(name: str, key: str) -> dict[str, Any]:
    return {"configMapKeyRef": {"name": name, "key": key}}


def identity_egress() -> dict[str, Any]:
    """To the identity provider: its keys (every service), discovery and tokens (the console)."""
    namespace = {"matchLabels": {"kubernetes.io/metadata.name": IDENTITY_NAMESPACE}}
    return {"to": [{"namespaceSelector": namespace}], "ports": [tcp(443), tcp(8443)]}


CONTAINER_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "privileged": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
POD_SECURITY = {
    "runAsNonRoot": True,
    "runAsUser": 10001,
    "runAsGroup": 10001,
    "fsGroup": 10001,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def volumes(svc: Service) -> list[dict[str, Any]]:
    return [
        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
        *(
            [{"name": "program", "configMap": {"name": "loyalty-program"}}]
            if svc.reads_program
            else []
        ),
        {
            "name": "kafka-ca",
            "secret": {
                "secretName": f"{KAFKA_CLUSTER}-cluster-ca-cert",
                "items": [{"key": "ca.crt", "path": "ca.crt"}],
            },
        },
        postgres_ca_volume(svc),
    ]


def postgres_ca_volume(svc: Service) -> dict[str, Any]:
    # The certificate only: the Secret also holds the CA's private key.
    return {
        "name": "postgres-ca",
        "secret": {"secretName": f"{svc.db}-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]},
    }


TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}  # noqa: S108 - the one writable place
POSTGRES_CA_MOUNT = {"name": "postgres-ca", "mountPath": POSTGRES_CA_DIR, "readOnly": True}


def mounts(svc: Service) -> list[dict[str, Any]]:
    return [
        TMP_MOUNT,
        *(
            [{"name": "program", "mountPath": "/etc/loyalty/program", "readOnly": True}]
            if svc.reads_program
            else []
        ),
        {"name": "kafka-ca", "mountPath": "/etc/kafka-ca", "readOnly": True},
        POSTGRES_CA_MOUNT,
    ]


def resources(svc: Service) -> dict[str, Any]:
    return {
        "requests": {"cpu": svc.cpu_request, "memory": svc.memory_request},
        "limits": {"cpu": "1", "memory": svc.memory_limit},
    }


def probe(path: str, *, period: int, failures: int, timeout: int = 3) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": "http"},
        "periodSeconds": period,
        "timeoutSeconds": timeout,
        "failureThreshold": failures,
    }


def deployment(svc: Service) -> dict[str, Any]:
    container = {
        "name": svc.name,
        "image": f"{IMAGE_REPO}/{svc.name}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": svc.port, "protocol": "TCP"}],
        "env": common_env(svc),
        # Service-specific secrets (SMTP, webhook, provider keys, survey secret), if any.
        "envFrom": [{"secretRef": {"name": f"{svc.app}-extra", "optional": True}}],
        "resources": resources(svc),
        # The pods do not migrate (the Job does); startup is opening the pool, the producer
        # and joining the consumer group. 2 minutes leaves room for a slow broker.
        "startupProbe": probe("/healthz", period=5, failures=24),
        "livenessProbe": probe("/healthz", period=10, failures=3),
        # /readyz asks the database and the broker, 2 s each at most (the broker is only reported).
        "readinessProbe": probe("/readyz", period=5, failures=2, timeout=5),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_S}}},
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": mounts(svc),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": svc.app, "labels": labels(svc), "annotations": APPS_WAVE},
        "spec": {
            # No `replicas`: the HPA (or KEDA's) owns the count; an apply must not reset it.
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": selector(svc)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
            },
            "template": {
                "metadata": {"labels": labels(svc)},
                "spec": {
                    "serviceAccountName": svc.app,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "terminationGracePeriodSeconds": GRACE_PERIOD_S,
                    "securityContext": POD_SECURITY,
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": key,
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector(svc)},
                        }
                        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
                    ],
                    "containers": [container],
                    "volumes": volumes(svc),
                },
            },
        },
    }


def migration_job(svc: Service) -> dict[str, Any]:
    # The service's own `migrate` command (dbmate with the shared and the service's migration
    # directories, under dbmate's migration lock) straight at the primary: the `-rw` service, not
    # the pooler, because that lock is a session lock. Safe twice and alongside starting pods:
    # applied versions are recorded, the lock serialises. It reads the same settings as the
    # pods (a configuration the pods would refuse fails here, before the rollout), but needs
    # only the database, so Kafka's secrets are not mounted.
    command = [f"/app/.venv/bin/{svc.app}", "migrate"]
    env = [
        {"name": "LOYALTY_LOG_FORMAT", "value": "json"},
        {
            "name": f"LOYALTY_{svc.name.upper()}_DATABASE_URL",
            "value": database_url(svc, f"{svc.db}-rw", svc.database),
        },
        # The owner's password (CloudNativePG's `<db>-app`): the schema is the Job's to change.
        {"name": "PGPASSWORD", "valueFrom": secret_ref(f"{svc.db}-app", "password")},
        # ... and then to grant the pods' role the data (loyalty_shared.db.grants).
        {"name": "LOYALTY_DB_APP_ROLE", "value": svc.app_role},
        *jwks_env(),
    ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"{svc.app}-migrate",
            "labels": labels(svc, "migrations"),
            "annotations": {
                # Jobs are immutable: Argo CD recreates it on each sync; by hand, see
                # docs/operations.md (delete, then apply). A Sync hook, not PreSync: PreSync
                # runs before anything is applied, so a first install had no database, service
                # account or secrets for it yet; in its wave it runs after them (wave 0) and
                # before the workloads (wave 2), which Argo CD applies once it has completed.
                "argocd.argoproj.io/hook": "Sync",
                "argocd.argoproj.io/hook-delete-policy": "BeforeHookCreation",
                **MIGRATIONS_WAVE,
            },
        },
        "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": 600,
            "ttlSecondsAfterFinished": 86_400,
            "template": {
                "metadata": {"labels": labels(svc, "migrations")},
                "spec": {
                    "serviceAccountName": svc.app,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "restartPolicy": "Never",
                    "securityContext": POD_SECURITY,
                    "containers": [
                        {
                            "name": "migrate",
                            "image": f"{IMAGE_REPO}/{svc.name}",
                            "imagePullPolicy": "IfNotPresent",
                            "command": command,
                            "env": env,
                            "envFrom": [
                                {"secretRef": {"name": f"{svc.app}-extra", "optional": True}}
                            ],
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "64Mi"},
                                "limits": {"cpu": "500m", "memory": "128Mi"},
                            },
                            "securityContext": CONTAINER_SECURITY,
                            "volumeMounts": [TMP_MOUNT, POSTGRES_CA_MOUNT],
                        }
                    ],
                    "volumes": [volumes(svc)[0], postgres_ca_volume(svc)],
                },
            },
        },
    }


#: The ledger audit: daily, in the quiet hour after the backups (02:00).
LEDGER_AUDIT_SCHEDULE = "30 3 * * *"
LEDGER_AUDIT = "loyalty-points-audit"


def ledger_audit() -> dict[str, Any]:
    """`loyalty-points audit` every night: every balance recomputed from the ledger, lots, holds
    and refunds. It exits 1 on any difference, so a drift is a failed Job; the
    LoyaltyLedgerAuditFailed alert reads it from kube-state-metrics (`kube_job_status_failed`):
    no Pushgateway needed. One try (`backoffLimit: 0`): a drift does not go away on a retry."""
    svc = next(s for s in SERVICES if s.name == "points")
    job = migration_job(svc)
    pod = job["spec"]["template"]
    pod["metadata"]["labels"] = labels(svc, "audit")
    (container,) = pod["spec"]["containers"]
    container["name"] = "audit"
    container["command"] = [f"/app/.venv/bin/{svc.app}", "audit"]
    # It reads the data and changes no schema: the pods' role, not the owner's.
    container["env"] = [
        {"name": "LOYALTY_LOG_FORMAT", "value": "json"},
        {
            "name": f"LOYALTY_{svc.name.upper()}_DATABASE_URL",
            "value": database_url(svc, f"{svc.db}-rw", svc.app_role),
        },
        {"name": "PGPASSWORD", "valueFrom": secret_ref(svc.app_role_secret, "password")},
        *jwks_env(),
    ]
    # Reads only, but in one consistent pass over the whole ledger: the primary, not the pooler.
    container["resources"] = {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "1", "memory": "256Mi"},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": LEDGER_AUDIT, "labels": labels(svc, "audit")},
        "spec": {
            "schedule": LEDGER_AUDIT_SCHEDULE,
            "timeZone": "Etc/UTC",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 1,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "metadata": {"labels": labels(svc, "audit")},
                "spec": {
                    "backoffLimit": 0,
                    "activeDeadlineSeconds": 3600,
                    "template": pod,
                },
            },
        },
    }


def service(svc: Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": svc.app, "labels": labels(svc)},
        "spec": {
            "type": "ClusterIP",
            "selector": selector(svc),
            "ports": [{"name": "http", "port": svc.port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def service_account(svc: Service) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": svc.app, "labels": labels(svc)},
        "automountServiceAccountToken": False,
    }


def pdb(svc: Service) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": svc.app, "labels": labels(svc)},
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector(svc)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def hpa(svc: Service, max_replicas: int | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": svc.app, "labels": labels(svc), "annotations": APPS_WAVE},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": svc.app},
            "minReplicas": 2,
            "maxReplicas": max_replicas or svc.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
            "behavior": SCALE_BEHAVIOR,
        },
    }


# Every membership change pauses the whole group for a rebalance: scale up quickly, down slowly.
SCALE_BEHAVIOR = {
    "scaleUp": {
        "stabilizationWindowSeconds": 60,
        "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}],
    },
    "scaleDown": {
        "stabilizationWindowSeconds": 600,
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 300}],
    },
}


def network_policy(svc: Service) -> dict[str, Any]:
    def pods(match: dict[str, str], port: int) -> dict[str, Any]:
        return {"to": [{"podSelector": {"matchLabels": match}}], "ports": [tcp(port)]}

    egress: list[dict[str, Any]] = [
        {
            "to": [
                {
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}
                    },
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }
            ],
            "ports": [{"protocol": "UDP", "port": 53}, tcp(53)],
        },
        pods({"strimzi.io/cluster": KAFKA_CLUSTER, "strimzi.io/kind": "Kafka"}, 9093),
        pods({"cnpg.io/poolerName": f"{svc.db}-pooler-rw"}, 5432),
        pods({"cnpg.io/cluster": svc.db}, 5432),  # the migration and audit Jobs: the primary
        identity_egress(),
        otlp_egress(),
    ]
    if svc.external_egress:
        # SMTP (submission, implicit TLS) and HTTPS webhooks / push and SMS providers, outside
        # the cluster only.
        egress.append(
            {
                "to": [
                    {
                        "ipBlock": {
                            "cidr": "0.0.0.0/0",
                            "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"],
                        }
                    }
                ],
                "ports": [tcp(25), tcp(465), tcp(587), tcp(443)],
            }
        )
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": svc.app, "labels": labels(svc)},
        "spec": {
            # The API pods and the migration Job's pod.
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": svc.app}},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [
                {
                    "from": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": GATEWAY_NAMESPACE}
                            }
                        },
                        # The operator console calls the APIs with operators' tokens.
                        {"podSelector": {"matchLabels": selector(CONSOLE)}},
                        # Prometheus scrapes /metrics on the same port (the gateway never
                        # routes /metrics).
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}
                            },
                            "podSelector": {
                                "matchLabels": {"app.kubernetes.io/name": "prometheus"}
                            },
                        },
                    ],
                    "ports": [tcp(svc.port)],
                }
            ],
            "egress": egress,
        },
    }


def otlp_egress() -> dict[str, Any]:
    """Traces to the OpenTelemetry collector (only sent once OTEL_EXPORTER_OTLP_ENDPOINT is set)."""
    namespace = {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}}
    return {
        "to": [{"namespaceSelector": namespace, "podSelector": {"matchLabels": OTLP_COLLECTOR}}],
        "ports": [tcp(port) for port in OTLP_PORTS],
    }


def tcp(port: int) -> dict[str, Any]:
    return {"protocol": "TCP", "port": port}


def service_monitor(svc: Service) -> dict[str, Any]:
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": svc.app, "labels": labels(svc)},
        "spec": {
            "selector": {"matchLabels": selector(svc)},
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s"}],
        },
    }


def postgres(svc: Service) -> list[dict[str, Any]]:
    cluster = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": {"name": svc.db, "labels": labels(svc, "database")},
        "spec": {
            "instances": 3,
            "imageName": POSTGRES_IMAGE,
            "primaryUpdateStrategy": "unsupervised",
            "enablePDB": True,
            # CNPG generates the owner's password into the `<name>-app` Secret.
            "bootstrap": {"initdb": {"database": svc.database, "owner": svc.database}},
            # The pods' role: logs in, reads and writes what the migration Job grants it, owns
            # nothing (its password: the Secret `<db>-app-role`, made by the operator).
            "managed": {
                "roles": [
                    {
                        "name": svc.app_role,
                        "ensure": "present",
                        "comment": f"loyalty-{svc.name}'s pods: data, not schema",
                        "login": True,
                        "superuser": False,
                        "createdb": False,
                        "createrole": False,
                        "replication": False,
                        "bypassrls": False,
                        "passwordSecret": {"name": svc.app_role_secret},
                    }
                ]
            },
            # pgbouncer presents the cluster's server certificate: its Service's names go in it,
            # or `sslmode=verify-full` through the pooler fails.
            "certificates": {
                "serverAltDNSNames": [
                    f"{svc.db}-pooler-rw",
                    f"{svc.db}-pooler-rw.{NAMESPACE}",
                    f"{svc.db}-pooler-rw.{NAMESPACE}.svc",
                    f"{svc.db}-pooler-rw.{NAMESPACE}.svc.cluster.local",
                ]
            },
            "postgresql": {
                "parameters": {
                    "max_connections": "200",
                    "shared_buffers": "256MB",
                }
            },
            "storage": {"size": "20Gi"},
            "walStorage": {"size": "5Gi"},
            "resources": {
                "requests": {"cpu": "500m", "memory": "1Gi"},
                "limits": {"cpu": "2", "memory": "1Gi"},
            },
            "monitoring": {"enablePodMonitor": True},
            "plugins": [
                {
                    "name": "barman-cloud.cloudnative-pg.io",
                    "isWALArchiver": True,
                    "parameters": {"barmanObjectName": f"{svc.db}-backups"},
                }
            ],
        },
    }
    pooler = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Pooler",
        "metadata": {"name": f"{svc.db}-pooler-rw", "labels": labels(svc, "database")},
        "spec": {
            "cluster": {"name": svc.db},
            "instances": 2,
            "type": "rw",
            "pgbouncer": {
                "poolMode": "transaction",
                "parameters": {
                    "max_client_conn": "1000",
                    "default_pool_size": "40",
                    # The services send no startup parameter pgbouncer would refuse (they used
                    # to send plan_cache_mode; older images still may).
                    "ignore_startup_parameters": "plan_cache_mode",
                    # DISCARD ALL after every transaction: no session state (an advisory lock,
                    # a SET) ever outlives a transaction on a shared server connection.
                    "server_reset_query": "DISCARD ALL",
                    "server_reset_query_always": "1",
                },
            },
            "template": {
                # Not the service's name label: its NetworkPolicy would select these pods.
                "metadata": {
                    "labels": {
                        "app.kubernetes.io/name": f"{svc.db}-pooler-rw",
                        "app.kubernetes.io/component": "database",
                    }
                },
                "spec": {
                    "containers": [
                        {
                            "name": "pgbouncer",
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "64Mi"},
                                "limits": {"cpu": "1", "memory": "128Mi"},
                            },
                        }
                    ]
                },
            },
        },
    }
    store = {
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": {"name": f"{svc.db}-backups", "labels": labels(svc, "database")},
        "spec": {
            "retentionPolicy": "30d",
            "configuration": {
                "destinationPath": f"s3://loyalty-backups/{svc.db}",
                "s3Credentials": {
                    "accessKeyId": {"name": "loyalty-backups-s3", "key": "ACCESS_KEY_ID"},
                    "secretAccessKey": {"name": "loyalty-backups-s3", "key": "ACCESS_SECRET_KEY"},
                },
                "wal": {"compression": "gzip"},
                "data": {"compression": "gzip"},
            },
        },
    }
    backup = {
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": {"name": f"{svc.db}-daily", "labels": labels(svc, "database")},
        "spec": {
            "schedule": "0 0 2 * * *",
            "backupOwnerReference": "self",
            "cluster": {"name": svc.db},
            "method": "plugin",
            "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"},
        },
    }
    return [cluster, pooler, store, backup, *database_network_policies(svc)]


def database_network_policies(svc: Service) -> list[dict[str, Any]]:
    """Who may reach the database: its instances only from the pods of their own cluster
    (replication, the pooler, CloudNativePG's join Jobs), the service's migration Job (and for
    points the ledger audit), the operator and Prometheus; its pooler only from the service's
    pods and Prometheus. No other service, no other namespace."""

    def pods(match: dict[str, str]) -> dict[str, Any]:
        return {"podSelector": {"matchLabels": match}}

    def namespaced(namespace: str, match: dict[str, str]) -> dict[str, Any]:
        selector = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
        return {"namespaceSelector": selector, **pods(match)}

    operator = namespaced(CNPG_NAMESPACE, CNPG_OPERATOR)
    prometheus = namespaced(MONITORING_NAMESPACE, {"app.kubernetes.io/name": "prometheus"})
    jobs = [pods({**selector(svc), "app.kubernetes.io/component": "migrations"})]
    if svc.name == "points":
        jobs.append(pods({**selector(svc), "app.kubernetes.io/component": "audit"}))
    instances = {
        "from": [pods({"cnpg.io/cluster": svc.db}), *jobs],
        "ports": [tcp(5432)],
    }
    pooler = {"cnpg.io/poolerName": f"{svc.db}-pooler-rw"}
    return [
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "labels": labels(svc, "database")},
            "spec": {"podSelector": {"matchLabels": target}, "policyTypes": ["Ingress"], **rules},
        }
        for name, target, rules in (
            (
                svc.db,
                {"cnpg.io/cluster": svc.db, "cnpg.io/podRole": "instance"},
                {
                    "ingress": [
                        instances,
                        {"from": [operator], "ports": [tcp(8000), tcp(5432)]},
                        {"from": [prometheus], "ports": [tcp(9187)]},
                    ]
                },
            ),
            (
                f"{svc.db}-pooler-rw",
                pooler,
                {
                    "ingress": [
                        {"from": [pods(selector(svc))], "ports": [tcp(5432)]},
                        {"from": [prometheus], "ports": [tcp(9127)]},
                    ]
                },
            ),
        )
    ]


def kafka_topics() -> list[dict[str, Any]]:
    docs = []
    for topic in TOPICS:
        for name, partitions, days, why, compacted in (
            (topic.name, topic.partitions, topic.retention_days, topic.why, topic.compacted),
            (dlq(topic.name), DLQ_PARTITIONS, DLQ_RETENTION_DAYS, "dead letters: rare", False),
        ):
            docs.append(
                {
                    "apiVersion": "kafka.strimzi.io/v1",
                    "kind": "KafkaTopic",
                    "metadata": {
                        "name": name.replace(".", "-"),
                        "labels": {"strimzi.io/cluster": KAFKA_CLUSTER},
                        "annotations": {"loyalty.example.com/partitions-why": why},
                    },
                    "spec": {
                        "topicName": name,
                        "partitions": partitions,
                        "replicas": 3,
                        "config": {
                            "min.insync.replicas": 2,
                            "retention.ms": -1 if compacted else days * DAY_MS,
                            "cleanup.policy": "compact" if compacted else "delete",
                        },
                    },
                }
            )
    return docs


def kafka_user(svc: Service) -> dict[str, Any]:
    def acl(resource: dict[str, Any], operations: list[str]) -> dict[str, Any]:
        return {"resource": resource, "operations": operations}

    def topic(name: str) -> dict[str, Any]:
        return {"type": "topic", "name": name, "patternType": "literal"}

    acls = [acl(topic(name), ["Read", "Describe"]) for name in svc.consumes]
    acls += [acl(topic(name), ["Write", "Describe"]) for name in svc.writes]
    acls.append(
        acl({"type": "group", "name": svc.app, "patternType": "literal"}, ["Read", "Describe"])
    )
    return {
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaUser",
        "metadata": {"name": svc.app, "labels": {"strimzi.io/cluster": KAFKA_CLUSTER}},
        "spec": {
            "authentication": {"type": "scram-sha-512"},
            "authorization": {"type": "simple", "acls": acls},
        },
    }


def scaled_object(svc: Service) -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": svc.app, "labels": labels(svc), "annotations": APPS_WAVE},
        "spec": {
            "scaleTargetRef": {"name": svc.app},
            "minReplicaCount": 2,
            # Beyond the partitions of the busiest consumed topic a consumer would sit idle.
            "maxReplicaCount": svc.max_replicas,
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            "advanced": {
                "horizontalPodAutoscalerConfig": {"name": svc.app, "behavior": SCALE_BEHAVIOR}
            },
            "triggers": [
                *(
                    {
                        "type": "kafka",
                        "name": f"lag-{topic.replace('.', '-')}",
                        "metadata": {
                            "bootstrapServers": KAFKA_BOOTSTRAP,
                            "consumerGroup": svc.app,
                            "sasl": "scram_sha512",
                            "tls": "enable",
                            "topic": topic,
                            # Records behind per replica before another one is added.
                            "lagThreshold": "5000",
                            "activationLagThreshold": "0",
                            "offsetResetPolicy": "earliest",
                            "allowIdleConsumers": "false",
                            "limitToPartitionsWithLag": "false",
                            # 12 partitions: 1, 2, 3, 4, 6 or 12 consumers, never 5 with
                            # some reading three partitions and others two.
                            "ensureEvenDistributionOfPartitions": "true",
                        },
                        "authenticationRef": {"name": f"{svc.app}-kafka"},
                    }
                    for topic in svc.consumes
                ),
                {"type": "cpu", "metricType": "Utilization", "metadata": {"value": "70"}},
            ],
        },
    }


def trigger_auth(svc: Service) -> dict[str, Any]:
    # The user name is the container's own setting; the password and the CA are the Secrets
    # Strimzi writes. Nothing here is a committed secret.
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "TriggerAuthentication",
        "metadata": {"name": f"{svc.app}-kafka", "labels": labels(svc)},
        "spec": {
            "env": [
                {
                    "parameter": "username",
                    "name": "LOYALTY_KAFKA_SASL_USERNAME",
                    "containerName": svc.name,
                }
            ],
            "secretTargetRef": [
                {"parameter": "password", "name": svc.app, "key": "password"},
                {"parameter": "ca", "name": f"{KAFKA_CLUSTER}-cluster-ca-cert", "key": "ca.crt"},
            ],
        },
    }


def delete_hpa(svc: Service) -> dict[str, str]:
    patch = {
        "$patch": "delete",
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": svc.app},
    }
    return {"patch": yaml.safe_dump(patch, sort_keys=False)}


def oidc_config() -> dict[str, Any]:
    # Not secret: where the identity provider is and what the console is called there. The
    # console's client secret and session key are in the Secret `loyalty-console`, made
    # elsewhere.
    issuer = "https://login.loyalty.internal.example.com/realms/loyalty"
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": OIDC_CONFIG, "labels": labels(CONSOLE)},
        "data": {
            "issuer": issuer,
            "jwks-url": f"{issuer}/protocol/openid-connect/certs",
            # The `aud` every token for the services' APIs must carry (the console's too).
            "audience": "loyalty-api",
            "console-client-id": "loyalty-console",
        },
    }


def console_deployment() -> dict[str, Any]:
    svc = CONSOLE
    env = [
        {"name": "LOYALTY_HOST", "value": "0.0.0.0"},  # noqa: S104 - a pod's own address
        {"name": "LOYALTY_CONSOLE_PORT", "value": str(svc.port)},
        {"name": "LOYALTY_LOG_FORMAT", "value": "json"},
        {"name": "LOYALTY_CONSOLE_PUBLIC_URL", "value": f"https://{CONSOLE_HOST}"},
        {"name": "LOYALTY_CONSOLE_OIDC_ISSUER", "valueFrom": config_ref(OIDC_CONFIG, "issuer")},
        {
            "name": "LOYALTY_CONSOLE_OIDC_CLIENT_ID",
            "valueFrom": config_ref(OIDC_CONFIG, "console-client-id"),
        },
        *jwks_env(),
        *({"name": name, "value": url} for name, url in SERVICE_URLS),
        {
            "name": "LOYALTY_CONSOLE_OIDC_CLIENT_SECRET",
            "valueFrom": secret_ref(svc.app, "oidc-client-secret"),
        },
        {
            "name": "LOYALTY_CONSOLE_SESSION_SECRET",
            "valueFrom": secret_ref(svc.app, "session-secret"),
        },
    ]
    container = {
        "name": svc.name,
        "image": f"{IMAGE_REPO}/{svc.name}",
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"name": "http", "containerPort": svc.port, "protocol": "TCP"}],
        "env": env,
        "resources": resources(svc),
        "startupProbe": probe("/healthz", period=5, failures=12),
        "livenessProbe": probe("/healthz", period=10, failures=3),
        "readinessProbe": probe("/readyz", period=5, failures=2),
        "lifecycle": {"preStop": {"sleep": {"seconds": PRESTOP_SLEEP_S}}},
        "securityContext": CONTAINER_SECURITY,
        "volumeMounts": [TMP_MOUNT],
    }
    workload = deployment(svc)
    pod = workload["spec"]["template"]["spec"]
    pod["containers"] = [container]
    pod["volumes"] = [volumes(svc)[0]]
    return workload


def console_network_policy() -> dict[str, Any]:
    """Browsers come through the internal gateway (and Prometheus scrapes); the console reaches
    DNS, the four services' APIs and the identity provider, nothing else."""
    policy = network_policy(CONSOLE)
    spec = policy["spec"]
    spec["ingress"][0]["from"] = [
        peer for peer in spec["ingress"][0]["from"] if "namespaceSelector" in peer
    ]
    dns = spec["egress"][0]
    apis = [
        {"to": [{"podSelector": {"matchLabels": selector(svc)}}], "ports": [tcp(svc.port)]}
        for svc in SERVICES
    ]
    spec["egress"] = [dns, *apis, identity_egress(), otlp_egress()]
    return policy


def strip_filter(service: str) -> dict[str, Any]:
    """Envoy Gateway's regex rewrite taking the service's name off a path (`/points/v1/...` to
    `/v1/...`): Gateway API's own prefix rewrite needs one PathPrefix match, and the public
    host's per-service path is a regular expression (the member's export, nothing else)."""
    return {
        "apiVersion": f"{ENVOY_GATEWAY}/v1alpha1",
        "kind": "HTTPRouteFilter",
        "metadata": {"name": f"loyalty-strip-{service}"},
        "spec": {
            "urlRewrite": {
                "path": {
                    "type": "ReplaceRegexMatch",
                    "replaceRegexMatch": {"pattern": f"^/{service}/", "substitution": "/"},
                }
            }
        },
    }


def api_route_rule(rule: Rule) -> dict[str, Any]:
    svc = next(s for s in SERVICES if s.name == rule.service)
    matches = []
    for m in rule.matches:
        match: dict[str, Any] = {"path": {"type": m.kind, "value": m.value}}
        if m.method is not None:
            match["method"] = m.method
        matches.append(match)
    doc: dict[str, Any] = {"matches": matches}
    if rule.strip:
        (first, *others) = rule.matches
        if first.kind == "PathPrefix" and not others:
            rewrite = {
                "type": "ReplacePrefixMatch",
                "replacePrefixMatch": rule.upstream_path(first.value),
            }
            doc["filters"] = [{"type": "URLRewrite", "urlRewrite": {"path": rewrite}}]
        else:
            ref = {
                "group": ENVOY_GATEWAY,
                "kind": "HTTPRouteFilter",
                "name": f"loyalty-strip-{svc.name}",
            }
            doc["filters"] = [{"type": "ExtensionRef", "extensionRef": ref}]
    doc["backendRefs"] = [{"name": svc.app, "port": svc.port}]
    doc["timeouts"] = {"request": f"{rule.timeout_s}s"}
    return doc


def api_route(host: Host) -> dict[str, Any]:
    """The HTTPRoute of one API host, from the route table `loyalty run`'s local gateway uses as
    well: the public host the members' paths, the internal one those and the operators'."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": API_ROUTES[host]},
        "spec": {
            "parentRefs": [
                {"name": API_GATEWAYS[host], "namespace": GATEWAY_NAMESPACE, "sectionName": "https"}
            ],
            "hostnames": [HOSTNAMES[host]],
            "rules": [api_route_rule(rule) for rule in RULES if rule.on(host)],
        },
    }


def rate_limit_rules(limit: RateLimit) -> list[dict[str, Any]]:
    """One rule per address family: every client IP address its own bucket (`Distinct`), shared
    by all the route's rules (one budget per client for the whole host)."""
    rules = []
    for cidr in ("0.0.0.0/0", "::/0"):
        selector: dict[str, Any] = {"sourceCIDR": {"type": "Distinct", "value": cidr}}
        if limit.methods:
            selector["methods"] = [{"value": method} for method in limit.methods]
        if limit.path is not None:
            selector["path"] = {"type": "RegularExpression", "value": limit.path}
        rules.append(
            {
                "clientSelectors": [selector],
                "limit": {"requests": limit.requests, "unit": limit.unit},
                "shared": True,
            }
        )
    return rules


def rate_limit_policy() -> dict[str, Any]:
    """The public host's rate limits per client (routes.py RATE_LIMITS), enforced by Envoy
    Gateway's global rate limit service (one count across the gateway's replicas)."""
    return {
        "apiVersion": f"{ENVOY_GATEWAY}/v1alpha1",
        "kind": "BackendTrafficPolicy",
        "metadata": {"name": "loyalty-api-rate-limits"},
        "spec": {
            "targetRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "HTTPRoute",
                    "name": API_ROUTES["public"],
                }
            ],
            "rateLimit": {
                "global": {"rules": [r for limit in RATE_LIMITS for r in rate_limit_rules(limit)]}
            },
        },
    }


#: Where each alert's runbook is: its row in docs/operations.md, "Alerts" (an anchor named after
#: the alert, lower case; `make deploy-check` checks every runbook_url's anchor exists).
RUNBOOKS = "https://git.example.com/loyalty/platform/-/blob/main/docs/operations.md"


@dataclass(frozen=True)
class Slo:
    """A service level objective: the share of good events over 30 days. The SLI is counted
    from two series (PromQL selectors): `counted` events among `events`, where the counted ones
    are the good ones (`counts_good`, a histogram bucket) or the bad ones (5xx)."""

    alert: str
    name: str
    objective: float
    counted: str
    events: str
    counts_good: bool
    what: str
    by: tuple[str, ...] = ()

    @property
    def budget(self) -> float:
        return round(1 - self.objective, 6)

    def record(self, window: str) -> str:
        return f"slo:{self.name}:ratio_rate{window}"

    def bad_ratio(self, window: str) -> str:
        """The share of bad events over `window`."""
        total = f"sum by ({', '.join(self.by)})" if self.by else "sum"
        counted = f"{total} (rate({self.counted}[{window}]))"
        events = f"{total} (rate({self.events}[{window}]))"
        if self.counts_good:
            return f"1 - (\n  {counted}\n  /\n  {events}\n)"
        return f"{counted}\n/\n{events}"


BALANCE_READS = 'service="points", method="GET", route="/v1/members/{member_id}/points"'
SLOS = [
    Slo(
        "LoyaltyBalanceReadAvailability",
        "balance_read_errors",
        0.999,
        "loyalty_http_requests_total{" + BALANCE_READS + ', status=~"5.."}',
        "loyalty_http_requests_total{" + BALANCE_READS + "}",
        counts_good=False,
        what="99.9 % of balance reads (GET /v1/members/{member_id}/points) answer without a 5xx",
    ),
    Slo(
        "LoyaltyBalanceReadLatency",
        "balance_read_slow",
        0.99,
        "loyalty_http_request_duration_seconds_bucket{" + BALANCE_READS + ', le="0.25"}',
        "loyalty_http_request_duration_seconds_count{" + BALANCE_READS + "}",
        counts_good=True,
        what="99 % of balance reads are served within 250 ms",
    ),
    Slo(
        "LoyaltyEventFreshness",
        "events_late",
        0.99,
        # prometheus_client writes bucket bounds as floats: le="60.0"
        'loyalty_event_processing_seconds_bucket{le="60.0"}',
        "loyalty_event_processing_seconds_count",
        counts_good=True,
        what="99 % of the events a service applies are applied within 60 s of reaching Kafka",
        by=("service",),
    ),
]
# Multiwindow, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs"): a long window
# says the budget really burns, a short one (1/12 of it) that it still does, so the alert resets
# soon after a fix. Fast: 2 % of a 30-day budget in an hour, or 5 % in 6 hours, pages; slow: 10 %
# in 3 days or in one, a ticket.
BURN_RATES = {
    "FastBurn": ("critical", ((14.4, "1h", "5m"), (6, "6h", "30m"))),
    "SlowBurn": ("warning", ((3, "1d", "2h"), (1, "3d", "6h"))),
}
SLO_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")


def slo_rules() -> dict[str, Any]:
    groups = []
    for slo in SLOS:
        records: list[dict[str, Any]] = [
            {"record": slo.record(window), "expr": Block(slo.bad_ratio(window))}
            for window in SLO_WINDOWS
        ]
        alerts: list[dict[str, Any]] = []
        for suffix, (severity, pairs) in BURN_RATES.items():
            expr = "\nor\n".join(
                f"(\n  {slo.record(long)} > ({rate} * {slo.budget})\n"
                f"  and\n  {slo.record(short)} > ({rate} * {slo.budget})\n)"
                for rate, long, short in pairs
            )
            alert = f"{slo.alert}{suffix}"
            windows = " or ".join(f"{long}/{short} at {rate}x" for rate, long, short in pairs)
            who = "{{ $labels.service }}: " if "service" in slo.by else ""
            alerts.append(
                {
                    "alert": alert,
                    "expr": Block(expr),
                    "labels": {"severity": severity, "slo": slo.name},
                    "annotations": {
                        "summary": f'{who}the error budget of "{slo.what}" burns too fast',
                        "description": f"Burn rate over {windows} the budget's rate "
                        f"({slo.budget:g} of the events over 30 days).",
                        "runbook_url": f"{RUNBOOKS}#{alert.lower()}",
                    },
                }
            )
        groups.append({"name": f"loyalty.slo.{slo.name}", "rules": records + alerts})
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "loyalty-slo"},
        "spec": {"groups": groups},
    }


class Block(str):
    """A string written as a YAML block (`|`): PromQL over several lines stays readable."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    Block, lambda dumper, text: dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
)


def dump(path: Path, docs: list[dict[str, Any]], header: str) -> str:
    text = "".join(f"# {line}\n" for line in header.splitlines())
    text += "# Written by deploy/generate.py: change the tables there, not this file.\n"
    text += "---\n".join(yaml.dump(doc, Dumper=_Dumper, sort_keys=False, width=100) for doc in docs)
    return text


def outputs() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for svc in SERVICES:
        files[APPS / "services" / f"{svc.name}.yaml"] = dump(
            APPS / "services" / f"{svc.name}.yaml",
            [
                service_account(svc),
                deployment(svc),
                service(svc),
                pdb(svc),
                hpa(svc),
                network_policy(svc),
                service_monitor(svc),
                migration_job(svc),
            ],
            f"The {svc.name} service: workload, traffic, disruption, scaling, network, metrics, "
            "migrations.",
        )
        files[PLATFORM / "postgres" / f"{svc.name}.yaml"] = dump(
            PLATFORM / "postgres" / f"{svc.name}.yaml",
            postgres(svc),
            f"The {svc.name} service's own PostgreSQL cluster, its pgbouncer pooler, backups and\n"
            "who may reach them (NetworkPolicies).",
        )
    files[APPS / "jobs" / "ledger-audit.yaml"] = dump(
        APPS / "jobs" / "ledger-audit.yaml",
        [ledger_audit()],
        "The nightly ledger audit of the points service: a failed Job is a drift (its alert: "
        "LoyaltyLedgerAuditFailed).",
    )
    files[APPS / "observability" / "slo.yaml"] = dump(
        APPS / "observability" / "slo.yaml",
        [slo_rules()],
        "SLO burn-rate alerts: balance reads (availability, latency) and event freshness, with\n"
        "the recording rules they read (30-day objectives, multiwindow multi-burn-rate).",
    )
    files[APPS / "console" / "console.yaml"] = dump(
        APPS / "console" / "console.yaml",
        [
            service_account(CONSOLE),
            oidc_config(),
            console_deployment(),
            service(CONSOLE),
            pdb(CONSOLE),
            hpa(CONSOLE, CONSOLE_MAX_REPLICAS),
            console_network_policy(),
            service_monitor(CONSOLE),
        ],
        "The operator console: workload, configuration, traffic, disruption, scaling, network, "
        "metrics (its route is gateway/console-route.yaml).",
    )
    files[APPS / "gateway" / "httproute.yaml"] = dump(
        APPS / "gateway" / "httproute.yaml",
        [api_route("public"), *(strip_filter(svc.name) for svc in SERVICES)],
        "The members' paths (the mobile app, the survey page) on the public host, from the\n"
        "internet-facing Gateway `public` (namespace `gateway`, listener `https`), to the\n"
        "service that owns each; every service checks the JWT itself. No operators' path is\n"
        "here (`make deploy-check` checks it against docs/openapi): they are on the internal\n"
        "host (internal-route.yaml). The table and why: tools/devkit/src/loyalty_devkit/\n"
        "gateway/routes.py, which `loyalty run`'s local gateway (:8000) routes by as well.\n"
        "Member paths use RegularExpression matches; the per-service export path is rewritten\n"
        "by Envoy Gateway's HTTPRouteFilter (the public Gateway is Envoy Gateway's: see\n"
        "rate-limits.yaml).",
    )
    files[APPS / "gateway" / "internal-route.yaml"] = dump(
        APPS / "gateway" / "internal-route.yaml",
        [api_route("internal")],
        "The operators' API host, on the `internal` Gateway (company network only, like the\n"
        "console's host): the members' paths and the operators' (program, campaigns, rewards,\n"
        "adjustments, tier overrides, reviews, reports, feedback cases and insights), and each\n"
        "service's audit log and dead letters under its name (`/points/v1/audit-log`). From\n"
        "the same table as httproute.yaml.",
    )
    files[APPS / "gateway" / "rate-limits.yaml"] = dump(
        APPS / "gateway" / "rate-limits.yaml",
        [rate_limit_policy()],
        "Rate limits per client IP address on the public host (docs/operations.md#rate-limits):\n"
        "Envoy Gateway's global rate limiting (its rate limit service with Redis, set up with\n"
        "the gateway); a client over a limit is answered 429. From RATE_LIMITS in\n"
        "tools/devkit/src/loyalty_devkit/gateway/routes.py, which the local gateway applies too.",
    )
    files[PLATFORM / "kafka" / "topics.yaml"] = dump(
        PLATFORM / "kafka" / "topics.yaml",
        kafka_topics(),
        "Every topic of the contract and its dead-letter twin (partitions explained in "
        "deploy/generate.py and docs/operations.md).",
    )
    files[PLATFORM / "kafka" / "users.yaml"] = dump(
        PLATFORM / "kafka" / "users.yaml",
        [kafka_user(svc) for svc in SERVICES],
        "One Kafka user per service: read what it consumes, write what it emits and the "
        "dead-letter topics of what it consumes, its own consumer group only.",
    )
    files[KEDA / "scaledobjects.yaml"] = dump(
        KEDA / "scaledobjects.yaml",
        [doc for svc in SERVICES for doc in (scaled_object(svc), trigger_auth(svc))],
        "KEDA scales each service on its consumer group's lag and on CPU (it owns the one HPA).",
    )
    files[KEDA / "kustomization.yaml"] = dump(
        KEDA / "kustomization.yaml",
        [
            {
                "apiVersion": "kustomize.config.k8s.io/v1alpha1",
                "kind": "Component",
                "resources": ["scaledobjects.yaml"],
                # With KEDA the HPA is KEDA's (same name): the plain CPU HPAs of the base go.
                "patches": [delete_hpa(svc) for svc in SERVICES],
            }
        ],
        "KEDA scaling on Kafka consumer lag and CPU (prod): a Component, so an overlay opts in.",
    )
    return files


def main() -> None:
    check = "--check" in sys.argv[1:]
    stale = []
    for path, text in outputs().items():
        if check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(str(path.relative_to(HERE.parent)))
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    if stale:
        sys.exit("out of date, run `python deploy/generate.py`: " + ", ".join(stale))


if __name__ == "__main__":
    main()
