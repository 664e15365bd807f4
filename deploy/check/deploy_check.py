"""`make deploy-check`: render both overlays and check every object, offline.

1. `kubectl kustomize deploy/overlays/<dev|prod>/<platform|apps>` renders each overlay's two
   layers: the platform (what holds data) and the apps (everything else).
2. Built-in kinds are validated by kubernetes-validate in strict mode (unknown fields are
   errors) against the Kubernetes version the clusters run.
3. Custom resources (Strimzi, CloudNativePG, Barman Cloud, KEDA, Prometheus-operator, Gateway
   API) are validated with jsonschema against the CRD schemas kept in deploy/crds, made strict
   the way the API server's strict field validation is (unknown fields are errors unless the
   schema preserves them). A kind that is neither built in nor in deploy/crds is an error:
   nothing is skipped silently.
4. A policy check (policy.py) finds nothing above low; it also holds each layer to what it may
   contain (nothing that holds data among the apps, nothing of the platform prunable) and prod
   to JWKS without the HS256 secret.
5. No object is in both layers (applying one would take it over from the other), and the
   public host routes no operators' endpoint nor a probe (public_routes.py, against the
   committed OpenAPI documents).
6. The alert rules (rules.py): every alert has a severity and a runbook_url whose anchor
   docs/operations.md has; promtool checks the rules and runs their unit tests.

Exit status 0 when all pass, 1 otherwise. `--root DIR` checks another copy of deploy/.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from hardening import check_hardening
from policy import Finding, check_policy
from public_routes import check_public_routes
from rules import check_runbooks, find_promtool, run_promtool

KUBERNETES_VERSION = "1.32.0"
OVERLAYS = ("dev", "prod")
LAYERS = ("platform", "apps")
REPO = Path(__file__).resolve().parents[2]
OPERATIONS = REPO / "docs" / "operations.md"
OPENAPI = REPO / "docs" / "openapi"


def render(overlay: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit("kubectl is not on PATH (it renders the overlays: `kubectl kustomize`)")
    result = subprocess.run(  # noqa: S603 - our own overlay directory
        [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RenderError(f"kubectl kustomize {overlay} failed:\n{result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


class RenderError(Exception):
    pass


def strict(schema: Any) -> Any:
    """An OpenAPI v3 (structural) schema as a JSON Schema that rejects unknown fields."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if "properties" in schema:
        # jsonschema reads `properties` itself: recurse into each property's schema.
        out["properties"] = {name: strict(sub) for name, sub in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get(
            "x-kubernetes-preserve-unknown-fields"
        ):
            out["additionalProperties"] = False
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if schema.get("nullable") and isinstance(schema.get("type"), str):
        out["type"] = [schema["type"], "null"]
    return out


#: The validators built from deploy/crds, by its files' names and bytes (a check in-process,
#: as the tests run it, builds them once per content).
_CRDS: dict[tuple[tuple[str, bytes], ...], dict[tuple[str, str], Any]] = {}


def load_crds(directory: Path) -> dict[tuple[str, str], Any]:
    files = tuple((path.name, path.read_bytes()) for path in sorted(directory.glob("*.json")))
    if files not in _CRDS:
        _CRDS[files] = _load_crds(files)
    return dict(_CRDS[files])


def _load_crds(files: tuple[tuple[str, bytes], ...]) -> dict[tuple[str, str], Any]:
    schemas: dict[tuple[str, str], Any] = {}
    for _, data in files:
        crd = json.loads(data.decode("utf-8"))
        for version, schema in crd["versions"].items():
            top = copy.deepcopy(schema)
            top.setdefault("properties", {})
            # apiVersion, kind and metadata are checked by kubectl/the API server; the CRD
            # schema leaves metadata open.
            schemas[(f"{crd['group']}/{version}", crd["kind"])] = jsonschema.Draft4Validator(
                strict(top)
            )
    return schemas


def name_of(obj: dict[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{obj.get('kind')}/{meta.get('name')} ({obj.get('apiVersion')})"


def validate(
    objs: list[dict[str, Any]], crds: dict[tuple[str, str], Any]
) -> tuple[list[str], Counter[str]]:
    errors: list[str] = []
    counts: Counter[str] = Counter()
    for obj in objs:
        key = (str(obj.get("apiVersion")), str(obj.get("kind")))
        if key in crds:
            problems = sorted(crds[key].iter_errors(obj), key=lambda e: list(e.absolute_path))
            for problem in problems:
                where = "/".join(str(p) for p in problem.absolute_path) or "(top)"
                errors.append(f"{name_of(obj)}: {where}: {problem.message}")
            counts["custom"] += 1
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            counts["built-in"] += 1
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(
                f"{name_of(obj)}: no schema: neither a Kubernetes {KUBERNETES_VERSION} kind nor "
                "a CRD kept in deploy/crds"
            )
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path) or "(top)"
            errors.append(f"{name_of(obj)}: {where}: {exc.message}")
    return errors, counts


def check(
    root: Path,
    operations: Path = OPERATIONS,
    overlays: tuple[str, ...] = OVERLAYS,
    *,
    release: bool = False,
) -> int:
    started = time.monotonic()
    crds = load_crds(root / "crds")
    promtool = find_promtool(REPO)
    tests = [
        t for layer in LAYERS for t in sorted((root / layer / "observability").glob("*.test.yaml"))
    ]
    failed = False
    for overlay in overlays:
        rendered: dict[str, list[dict[str, Any]]] = {}
        for layer in LAYERS:
            name = f"{overlay}/{layer}"
            try:
                objs = render(root / "overlays" / overlay / layer)
            except RenderError as exc:
                print(f"FAIL {name}: {exc}")  # noqa: T201
                failed = True
                continue
            rendered[layer] = objs
            failed = _check_layer(name, objs, crds, layer=layer, overlay=overlay) or failed
        if len(rendered) != len(LAYERS):
            continue
        everything = [obj for objs in rendered.values() for obj in objs]
        errors = _in_both(rendered) + check_runbooks(everything, operations)
        errors += check_public_routes(everything, OPENAPI)
        unit_tests = 0
        if promtool is None:
            errors.append("promtool not found: `make deploy-check` installs it into .tools/bin")
        else:
            problems, unit_tests = run_promtool(promtool, everything, tests)
            errors += problems
        for error in errors:
            print(f"FAIL {overlay}: {error}")  # noqa: T201
        alerts = sum(
            1
            for obj in everything
            if obj.get("kind") == "PrometheusRule"
            for group in obj["spec"]["groups"]
            for rule in group["rules"]
            if "alert" in rule
        )
        print(  # noqa: T201
            f"{'FAIL' if errors else 'ok  '} {overlay}: layers apart, no operators' path on "
            f"the public host, {alerts} alerts with "
            f"runbooks, rules checked and {unit_tests} unit tests run by promtool"
        )
        failed = failed or bool(errors)
        failed = _check_hardening(overlay, everything, release=release) or failed
    print(f"deploy-check {'FAILED' if failed else 'passed'} in {time.monotonic() - started:.1f}s")  # noqa: T201
    return 1 if failed else 0


def _check_layer(
    name: str, objs: list[dict[str, Any]], crds: dict[tuple[str, str], Any], **where: str
) -> bool:
    errors, counts = validate(objs, crds)
    findings = check_policy(objs, **where)
    blocking = [f for f in findings if f.blocking]
    for error in errors:
        print(f"FAIL {name}: schema: {error}")  # noqa: T201
    for finding in blocking:
        print(f"FAIL {name}: {finding}")  # noqa: T201
    severities = Counter(f.severity for f in findings)
    lows = Counter(f.rule for f in findings if not f.blocking)
    print(  # noqa: T201
        f"{'FAIL' if errors or blocking else 'ok  '} {name}: {len(objs)} objects, "
        f"{counts['built-in']} built-in (kubernetes-validate --strict, {KUBERNETES_VERSION}), "
        f"{counts['custom']} custom resources (CRD schemas), {len(errors)} schema errors; "
        f"policy: {severities['high']} high, {severities['medium']} medium, "
        f"{severities['low']} low" + (f" ({_rules(lows)})" if lows else "")
    )
    return bool(errors or blocking)


def _in_both(rendered: dict[str, list[dict[str, Any]]]) -> list[str]:
    def keys(objs: list[dict[str, Any]]) -> set[str]:
        return {name_of(obj) for obj in objs}

    platform, apps = (keys(rendered[layer]) for layer in LAYERS)
    return [f"{key} is in both the platform and the apps" for key in sorted(platform & apps)]


def _rules(counter: Counter[str]) -> str:
    return ", ".join(f"{rule} x{n}" for rule, n in sorted(counter.items()))


def _check_hardening(overlay: str, objs: list[dict[str, Any]], *, release: bool) -> bool:
    """Both layers together: databases (TLS, roles, who reaches them), Kafka pinned, and in
    prod images pinned by digest and Kafka rack-aware (hardening.py)."""
    findings = check_hardening(objs, overlay=overlay, release=release)
    blocking = [f for f in findings if f.blocking]
    for finding in blocking:
        print(f"FAIL {overlay}: {finding}")  # noqa: T201
    placeholders = sorted(
        {f.message.partition(" ")[0] for f in findings if f.rule == "LOY-DIGEST-PLACEHOLDER"}
    )
    pinned = ""
    if overlay == "prod":
        pinned = f"; images pinned by digest, placeholders for {len(placeholders)} images"
        pinned += f" ({', '.join(placeholders)})" if placeholders else ""
    print(  # noqa: T201
        f"{'FAIL' if blocking else 'ok  '} {overlay}: databases over verified TLS as their "
        f"service's role, behind NetworkPolicies; Kafka version pinned{pinned}"
    )
    return bool(blocking)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument(
        "--release",
        action="store_true",
        help="also refuse placeholder image digests (the release pipeline, once it set them)",
    )
    args = parser.parse_args()
    raise SystemExit(check(args.root, release=args.release))


__all__ = ["Finding", "check", "load_crds", "render", "validate"]

if __name__ == "__main__":
    main()
