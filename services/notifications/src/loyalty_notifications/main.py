"""Entry point: `loyalty-notifications` serves (the container's command and what `make run`
starts); `loyalty-notifications migrate` applies the database migrations and exits (what a
Kubernetes migration Job runs)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from fastapi import FastAPI

from loyalty_notifications.app import MIGRATIONS, create_app
from loyalty_notifications.rendering.renderer import TemplateProblem
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.db.migrations import MigrationError, migrate
from loyalty_shared.observability.logging import configure_logging, get_logger
from loyalty_shared.service import load_settings, serve

log = get_logger(__name__)


def _build(settings: NotificationsSettings) -> FastAPI:
    try:
        return create_app(settings)
    except TemplateProblem as exc:
        # a missing template or variable stops the service here, never at send time
        print(f"notifications cannot start: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None


def _migrate(settings: NotificationsSettings) -> None:
    configure_logging(service="notifications", level=settings.log_level, fmt=settings.log_format)
    try:
        report = asyncio.run(migrate(settings.database_url, MIGRATIONS))
    except MigrationError as exc:
        log.error("migrations failed", error=str(exc))
        raise SystemExit(1) from None
    applied = [line for line in report.splitlines() if line.startswith("Applying:")]
    log.info("migrations applied", applied=applied, pending=0)


def main() -> None:
    parser = argparse.ArgumentParser(prog="loyalty-notifications", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    command = parser.parse_args().command
    settings = load_settings(NotificationsSettings)
    if command == "migrate":
        _migrate(settings)
        return
    serve(_build, settings, service="notifications")


if __name__ == "__main__":
    main()
