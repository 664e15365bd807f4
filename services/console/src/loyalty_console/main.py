"""Entry point: `loyalty-console` serves the operator console (the container's command and what
`make run` starts)."""

from __future__ import annotations

import logging

from loyalty_console.app import create_app
from loyalty_console.settings import ConsoleSettings
from loyalty_shared.service import load_settings, serve


def main() -> None:
    settings = load_settings(ConsoleSettings)
    # Each page's calls to the services would be a log line apiece (their URLs name members).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    serve(create_app, settings, service="console")


if __name__ == "__main__":
    main()
