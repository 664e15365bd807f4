"""`loyalty openapi`: each service's OpenAPI document and the gateway's per host (the routed
operations of the four in one, `gateway/openapi.py`), committed under docs/openapi/.

The documents are built from the apps themselves (`create_app(settings)`), so they say what the
code serves. Building an app connects to nothing (the lifespan does not run): the settings are
dummies. The service packages are imported here, not at module level, so the rest of the CLI
does not need them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from fastapi import FastAPI

from loyalty_devkit.gateway.openapi import gateway_document
from loyalty_shared.settings import ServiceSettings

SERVICES = ("points", "tiers", "notifications", "feedback")
DEFAULT_DIR = Path("docs/openapi")
#: The public host's document (the app's), and the internal host's (the operators').
GATEWAY_FILE = "gateway.json"
INTERNAL_GATEWAY_FILE = "gateway-internal.json"

S = TypeVar("S", bound=ServiceSettings)


def dummy_settings(settings_type: type[S]) -> S:
    """Settings good enough to build an app: nothing is reached through them, as the app's
    lifespan never runs. The database URL field is found by name (`<service>_database_url`)."""
    values: dict[str, Any] = {"jwt_secret": "x" * 32}
    for name, field in settings_type.model_fields.items():
        if name.endswith("database_url"):
            values[name] = "postgresql://unused/x"
            if isinstance(field.validation_alias, str):
                values[field.validation_alias] = "postgresql://unused/x"
    return settings_type.model_validate(values)


def app_builders() -> dict[str, Callable[[], FastAPI]]:
    """Each service's app, built on dummy settings (nothing connects until its lifespan)."""
    from loyalty_feedback.app import create_app as feedback_app
    from loyalty_feedback.settings import FeedbackSettings
    from loyalty_notifications.app import create_app as notifications_app
    from loyalty_notifications.settings import NotificationsSettings
    from loyalty_points.app import create_app as points_app
    from loyalty_points.settings import PointsSettings
    from loyalty_tiers.app import create_app as tiers_app
    from loyalty_tiers.settings import TiersSettings

    return {
        "points": lambda: points_app(dummy_settings(PointsSettings)),
        "tiers": lambda: tiers_app(dummy_settings(TiersSettings)),
        "notifications": lambda: notifications_app(dummy_settings(NotificationsSettings)),
        "feedback": lambda: feedback_app(dummy_settings(FeedbackSettings)),
    }


def render(document: dict[str, Any]) -> str:
    """The committed form: sorted keys, indent 2, non-ASCII kept, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def openapi_documents() -> dict[str, str]:
    """`<service>.json` -> the document the service's app produces now, and `gateway.json`,
    `gateway-internal.json` -> the gateway's per host, merged from them by its route table;
    rendered."""
    builders = app_builders()
    documents = {name: builders[name]().openapi() for name in SERVICES}
    rendered = {f"{name}.json": render(document) for name, document in documents.items()}
    return {
        **rendered,
        GATEWAY_FILE: render(gateway_document(documents, "public")),
        INTERNAL_GATEWAY_FILE: render(gateway_document(documents, "internal")),
    }


def write_documents(out_dir: Path = DEFAULT_DIR) -> list[Path]:
    """Write every document whose content changed; returns the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for filename, text in openapi_documents().items():
        path = out_dir / filename
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


def stale_documents(out_dir: Path = DEFAULT_DIR) -> list[Path]:
    """The documents that are missing or differ from what the apps produce now."""
    return [
        out_dir / filename
        for filename, text in openapi_documents().items()
        if not (out_dir / filename).is_file()
        or (out_dir / filename).read_text(encoding="utf-8") != text
    ]
