"""Every service has the shape docs/architecture.md describes ("The shape of a service"): who may
import whom, typed rows out of repositories, one injected clock, no loose `app.state` (read from
the source, no broker, no database)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("points", "tiers", "notifications", "feedback")
#: The services built to the shape (points joins once its features match it).
SHAPED = SERVICES
EDGES = {"endpoints", "handlers", "jobs"}


def package(service: str) -> Path:
    return REPO / "services" / service / "src" / f"loyalty_{service}"


def shared() -> Path:
    return REPO / "shared" / "src" / "loyalty_shared"


def imported(path: Path) -> Iterator[str]:
    """Every module `path` imports, and every name it imports from one, as dotted names."""
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def sources(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


def test_shared_code_imports_no_service() -> None:
    wrong = [
        f"{path.relative_to(REPO)}: {name}"
        for path in sources(shared())
        for name in imported(path)
        if name.split(".")[0] in {f"loyalty_{s}" for s in SERVICES}
    ]
    assert wrong == []


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_imports_no_other_service(service: str) -> None:
    others = {f"loyalty_{s}" for s in SERVICES if s != service}
    wrong = [
        f"{path.relative_to(REPO)}: {name}"
        for path in sources(package(service))
        for name in imported(path)
        if name.split(".")[0] in others
    ]
    assert wrong == []


@pytest.mark.parametrize("service", SHAPED)
def test_only_the_app_wires_the_edges(service: str) -> None:
    """Endpoints, handlers and jobs are called by the app, never by each other or the layers
    below them."""
    root = package(service)
    wrong = [
        f"{path.relative_to(REPO)}: {name}"
        for path in sources(root)
        if path != root / "app.py"
        for name in imported(path)
        if name.startswith(f"loyalty_{service}.") and name.split(".")[-1] in EDGES
    ]
    assert wrong == []


@pytest.mark.parametrize("service", SHAPED)
def test_repositories_hold_sql_and_return_typed_rows(service: str) -> None:
    above = EDGES | {"service", "schemas"}
    wrong = []
    for path in package(service).rglob("repository.py"):
        where = path.relative_to(REPO)
        wrong += [
            f"{where} imports {name}"
            for name in imported(path)
            if name.startswith(f"loyalty_{service}.") and name.split(".")[-1] in above
        ]
        wrong += [
            f"{where}: {node.name} returns {ast.unparse(node.returns)}"
            for node in ast.parse(path.read_text("utf-8")).body
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
            and node.returns is not None
            and "Record" in ast.unparse(node.returns)
            and not node.name.startswith("_")
        ]
    assert wrong == []


@pytest.mark.parametrize("service", [*SHAPED, "shared"])
def test_time_comes_from_the_injected_clock_and_state_from_typed_objects(service: str) -> None:
    root = shared() if service == "shared" else package(service)
    allowed = {shared() / "clock.py", shared() / "http" / "state.py"}
    wrong = [
        f"{path.relative_to(REPO)}: {needle}"
        for path in sources(root)
        if path not in allowed
        for needle in ("datetime.now(", "app.state.")
        if needle in path.read_text("utf-8")
    ]
    assert wrong == []
