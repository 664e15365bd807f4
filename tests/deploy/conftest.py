"""Fixtures for the deployment tests: the repository, deploy/ and both rendered overlays, each
as its two layers (the platform, which holds the data, and the apps) and as their union."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(DEPLOY / "check"))
deploy_check = load_module("deploy_check", DEPLOY / "check" / "deploy_check.py")
generate = load_module("deploy_generate", DEPLOY / "generate.py")

needs_kubectl = pytest.mark.skipif(
    shutil.which("kubectl") is None, reason="kubectl renders the overlays (`kubectl kustomize`)"
)
rules = load_module("deploy_rules", DEPLOY / "check" / "rules.py")
policy = load_module("deploy_policy", DEPLOY / "check" / "policy.py")
needs_promtool = pytest.mark.skipif(
    rules.find_promtool(REPO) is None,
    reason="promtool checks the alert rules (`make deploy-check` installs it into .tools)",
)


@pytest.fixture(scope="session", params=["dev", "prod"])
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


LAYERS = ("platform", "apps")
_RENDERED: dict[str, dict[str, list[dict[str, Any]]]] = {}


@pytest.fixture(scope="session")
def layers(overlay: str) -> dict[str, list[dict[str, Any]]]:
    """The overlay's platform and apps, rendered apart (`kubectl kustomize` of each)."""
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl renders the overlays (`kubectl kustomize`)")
    if overlay not in _RENDERED:
        _RENDERED[overlay] = {
            layer: deploy_check.render(DEPLOY / "overlays" / overlay / layer) for layer in LAYERS
        }
    return _RENDERED[overlay]


@pytest.fixture(scope="session")
def rendered(layers: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Everything the overlay deploys: its platform and its apps."""
    return [obj for layer in LAYERS for obj in layers[layer]]


def of_kind(objs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objs if o.get("kind") == kind]


def by_name(objs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {o["metadata"]["name"]: o for o in of_kind(objs, kind)}
