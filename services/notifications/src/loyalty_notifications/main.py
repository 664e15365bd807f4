"""Entry point: `loyalty-notifications` serves; `loyalty-notifications migrate` applies the
migrations and exits."""

from __future__ import annotations

import sys

from fastapi import FastAPI

from loyalty_notifications.app import MIGRATIONS, create_app
from loyalty_notifications.rendering.renderer import TemplateProblem
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.service import command


def _build(settings: NotificationsSettings) -> FastAPI:
    try:
        return create_app(settings)
    except TemplateProblem as exc:
        # a missing template or variable stops the service here, never at send time
        print(f"notifications cannot start: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None


def main() -> None:
    command("notifications", NotificationsSettings, _build, MIGRATIONS, description=__doc__)


if __name__ == "__main__":
    main()
