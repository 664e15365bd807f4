"""The alert rules of `make deploy-check`: every alert has a severity and a runbook that exists,
and promtool (Prometheus's own tool, vendored into .tools by the Makefile) checks the rendered
PrometheusRules and runs their unit tests (`<layer>/observability/*.test.yaml`), offline."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

#: Where every runbook_url points: a row of docs/operations.md, by its anchor.
RUNBOOKS = "https://git.example.com/loyalty/platform/-/blob/main/docs/operations.md"
SEVERITIES = {"critical", "warning", "info"}
_EXPLICIT_ANCHOR = re.compile(r"""<a\s+(?:id|name)=["']([^"']+)["']""")


def anchors(markdown: str) -> set[str]:
    """The anchors a Markdown page has: its headings' (GitHub's slugs) and explicit `<a id>`s."""
    found = set(_EXPLICIT_ANCHOR.findall(markdown))
    seen: dict[str, int] = {}
    fenced = False
    for line in markdown.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        match = None if fenced else re.match(r"#{1,6}\s+(.*)", line)
        if match is None:
            continue
        slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        found.add(slug if count == 0 else f"{slug}-{count}")
    return found


def alerts(objs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(the PrometheusRule's name, the rule) for every alerting rule rendered."""
    return [
        (obj["metadata"]["name"], rule)
        for obj in objs
        if obj.get("kind") == "PrometheusRule"
        for group in obj["spec"].get("groups", [])
        for rule in group.get("rules", [])
        if "alert" in rule
    ]


def check_runbooks(objs: list[dict[str, Any]], operations: Path) -> list[str]:
    """Every alert: a known severity, and a runbook_url whose anchor docs/operations.md has."""
    known = anchors(operations.read_text(encoding="utf-8"))
    errors = []
    for source, rule in alerts(objs):
        name = f"PrometheusRule/{source}: alert {rule['alert']}"
        severity = (rule.get("labels") or {}).get("severity")
        if severity not in SEVERITIES:
            errors.append(f"{name}: severity {severity!r} is not one of {sorted(SEVERITIES)}")
        url = (rule.get("annotations") or {}).get("runbook_url")
        if url is None:
            errors.append(f"{name}: no runbook_url")
            continue
        base, _, anchor = str(url).partition("#")
        if base != RUNBOOKS or not anchor:
            errors.append(f"{name}: runbook_url {url!r} is not {RUNBOOKS}#<anchor>")
        elif anchor not in known:
            errors.append(f"{name}: runbook_url anchor #{anchor} is not in {operations.name}")
    return errors


def find_promtool(repo: Path) -> str | None:
    vendored = repo / ".tools" / "bin" / "promtool"
    return str(vendored) if vendored.exists() else shutil.which("promtool")


#: What promtool answered and the unit tests' count, by its exact input (the binary, the rule
#: files' names and text, the unit tests' names and bytes): dev and prod render the same rules,
#: checked once per process.
_PROMTOOL: dict[
    tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, bytes], ...]], tuple[list[str], int]
] = {}


def run_promtool(
    promtool: str, objs: list[dict[str, Any]], tests: list[Path]
) -> tuple[list[str], int]:
    """`promtool check rules` on every rendered PrometheusRule (written as `<name>.yaml`), then
    `promtool test rules` on the unit tests, which name those files. Errors and the test count."""
    rule_files = tuple(
        (f"{obj['metadata']['name']}.yaml", yaml.safe_dump(obj["spec"], sort_keys=False))
        for obj in objs
        if obj.get("kind") == "PrometheusRule"
    )
    suites = tuple((f"{n}-{test.name}", test.read_bytes()) for n, test in enumerate(tests))
    key = (promtool, rule_files, suites)
    if key not in _PROMTOOL:
        count = sum(
            len((yaml.safe_load(data.decode("utf-8")) or {}).get("tests", [])) for _, data in suites
        )
        _PROMTOOL[key] = (_run_promtool(promtool, rule_files, suites), count)
    errors, count = _PROMTOOL[key]
    return list(errors), count


def _run_promtool(
    promtool: str, rule_files: tuple[tuple[str, str], ...], suites: tuple[tuple[str, bytes], ...]
) -> list[str]:
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="promtool-") as tmp:
        directory = Path(tmp)
        files = []
        for name, text in rule_files:
            path = directory / name
            path.write_text(text, encoding="utf-8")
            files.append(path)
        if files:
            errors += _promtool(promtool, ["check", "rules", *map(str, files)], directory)
        copies = []
        for name, data in suites:
            copy = directory / name
            copy.write_bytes(data)
            copies.append(str(copy))
        if copies:
            errors += _promtool(promtool, ["test", "rules", *copies], directory)
    return errors


def _promtool(promtool: str, args: list[str], cwd: Path) -> list[str]:
    result = subprocess.run(  # noqa: S603 - the vendored promtool on our own files
        [promtool, *args], capture_output=True, text=True, cwd=cwd, check=False, timeout=120
    )
    if result.returncode == 0:
        return []
    output = (result.stdout + result.stderr).strip().replace(str(cwd) + "/", "")
    return [f"promtool {args[0]} {args[1]}:\n{output}"]
