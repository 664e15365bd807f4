"""Content-keyed memos of the deploy check's slow steps, for the tests that run it in-process on
copies of deploy/ each broken in one place: what a case did not change is rendered and validated
once per session. Every key is the exact input, so a case that breaks a file is never served the
result of another: a miss calls the real step."""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml

Objects = list[dict[str, Any]]
Validate = Callable[[Objects, dict[tuple[str, str], Any]], tuple[list[str], Counter[str]]]
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def inputs(overlay: Path) -> str | None:
    """A digest of everything `kubectl kustomize overlay` may read: every file under each
    kustomization directory it reaches (the overlay, then any existing path any string in a
    kustomization names, and on), by path relative to the overlay and by content. None when a
    kustomization names a remote resource, which no local content pins."""
    digest = hashlib.sha256(str(shutil.which("kubectl")).encode())
    seen: set[Path] = set()
    todo = [overlay.resolve()]
    while todo:
        directory = todo.pop()
        if directory in seen:
            continue
        seen.add(directory)
        for path in sorted(directory.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                _add(digest, overlay, path)
        for name in KUSTOMIZATIONS:
            if not (directory / name).is_file():
                continue
            text = (directory / name).read_text(encoding="utf-8")
            for ref in _strings(yaml.safe_load(text)):
                if "://" in ref or ref.startswith(("git@", "github.com/")):
                    return None
                try:
                    target = (directory / ref).resolve()
                    if target.is_dir():
                        todo.append(target)
                    elif target.is_file():
                        _add(digest, overlay, target)
                except (OSError, ValueError):
                    continue  # not a path (a name, a patch's text)
    return digest.hexdigest()


def _add(digest: Any, overlay: Path, path: Path) -> None:
    digest.update(os.path.relpath(path, overlay.resolve()).encode() + b"\0")
    digest.update(hashlib.sha256(path.read_bytes()).digest())


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def memo_render(render: Callable[[Path], Objects]) -> Callable[[Path], Objects]:
    """`render`, once per overlay content; each call gets its own objects (unpickled). A render
    that fails is not kept: its error names the directory."""
    rendered: dict[str, bytes] = {}

    def cached(overlay: Path) -> Objects:
        key = inputs(overlay)
        if key is None:
            return render(overlay)
        if key not in rendered:
            rendered[key] = pickle.dumps(render(overlay))
        objs: Objects = pickle.loads(rendered[key])  # noqa: S301 - our own pickle
        return objs

    return cached


def memo_validate(validate: Validate) -> Validate:
    """`validate`, one object at a time, once per object (its repr) and per validator that
    checks it (a custom kind) or none (a built-in kind, kubernetes-validate's); the errors in the
    objects' order, the counts summed, as one call on them all gives."""
    results: dict[tuple[int | None, str], tuple[list[str], Counter[str]]] = {}
    validators: dict[int, Any] = {}  # kept alive: an id is never reused for another

    def cached(objs: Objects, crds: dict[tuple[str, str], Any]) -> tuple[list[str], Counter[str]]:
        errors: list[str] = []
        counts: Counter[str] = Counter()
        for obj in objs:
            validator = crds.get((str(obj.get("apiVersion")), str(obj.get("kind"))))
            if validator is not None:
                validators[id(validator)] = validator
            key = (None if validator is None else id(validator), repr(obj))
            if key not in results:
                results[key] = validate([obj], crds)
            errors += results[key][0]
            counts += results[key][1]
        return errors, counts

    return cached
