"""Keep only the OpenAPI schemas of the operators' CRDs that deploy/ uses.

Run by hand when an operator is upgraded, with a local clone of its repository:

    python deploy/crds/extract.py <clone> <owner/name> <git-tag> <path/to/crd.yaml> [...]

Each CRD becomes deploy/crds/<group>_<plural>.json: the source (repository, tag, path) and, for
every served version, its `openAPIV3Schema` with the descriptions dropped. `make deploy-check`
validates custom resources against these files; nothing is fetched at check time.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent


def strip_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: strip_descriptions(value)
            for key, value in node.items()
            if not (key == "description" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [strip_descriptions(item) for item in node]
    return node


def extract(clone: Path, repository: str, tag: str, path: str) -> Path:
    text = subprocess.run(  # noqa: S603 - a clone and a tag the operator names
        ["git", "-C", str(clone), "show", f"{tag}:{path}"],  # noqa: S607
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    docs = [doc for doc in yaml.safe_load_all(text) if doc]
    crd = next(doc for doc in docs if doc.get("kind") == "CustomResourceDefinition")
    spec = crd["spec"]
    out = {
        "source": {"repository": repository, "tag": tag, "path": path},
        "group": spec["group"],
        "kind": spec["names"]["kind"],
        "plural": spec["names"]["plural"],
        "versions": {
            version["name"]: strip_descriptions(version["schema"]["openAPIV3Schema"])
            for version in spec["versions"]
            if version.get("served", True)
        },
    }
    target = HERE / f"{spec['group']}_{spec['names']['plural']}.json"
    target.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return target


def main() -> None:
    clone, repository, tag, *paths = sys.argv[1:]
    for path in paths:
        print(extract(Path(clone), repository, tag, path))  # noqa: T201


if __name__ == "__main__":
    main()
