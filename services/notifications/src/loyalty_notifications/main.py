"""Entry point: `loyalty-notifications` (the container's command and what `make run` starts)."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from loyalty_notifications.app import create_app
from loyalty_notifications.rendering.renderer import TemplateProblem
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.service import load_settings, serve


def _build(settings: NotificationsSettings) -> FastAPI:
    try:
        return create_app(settings)
    except TemplateProblem as exc:
        # a missing template or variable stops the service here, never at send time
        print(f"notifications cannot start: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None


def main() -> None:
    serve(_build, load_settings(NotificationsSettings), service="notifications")


if __name__ == "__main__":
    main()
