"""Entry point: `loyalty-notifications` serves (the container's command and what `make run`
starts); `loyalty-notifications migrate` applies the database migrations and exits (the
Kubernetes Job)."""

from __future__ import annotations

import argparse
import sys

from fastapi import FastAPI

from loyalty_notifications.app import MIGRATIONS, create_app
from loyalty_notifications.rendering.renderer import TemplateProblem
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.service import load_settings, run_migrations, serve


def _build(settings: NotificationsSettings) -> FastAPI:
    try:
        return create_app(settings)
    except TemplateProblem as exc:
        # a missing template or variable stops the service here, never at send time
        print(f"notifications cannot start: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None


def main() -> None:
    parser = argparse.ArgumentParser(prog="loyalty-notifications", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    command = parser.parse_args().command
    settings = load_settings(NotificationsSettings)
    if command == "migrate":
        run_migrations(settings, MIGRATIONS, service="notifications")
        return
    serve(_build, settings, service="notifications")


if __name__ == "__main__":
    main()
