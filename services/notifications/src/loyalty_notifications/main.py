"""Entry point: `loyalty-notifications` (the container's command and what `make run` starts)."""

from __future__ import annotations

from loyalty_notifications.app import create_app
from loyalty_notifications.settings import NotificationsSettings
from loyalty_shared.service import load_settings, serve


def main() -> None:
    serve(create_app, load_settings(NotificationsSettings), service="notifications")


if __name__ == "__main__":
    main()
