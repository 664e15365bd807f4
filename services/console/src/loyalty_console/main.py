"""Entry point: `loyalty-console` serves the operator console (the container's command and what
`make run` starts)."""

from __future__ import annotations

from loyalty_console.app import create_app
from loyalty_console.settings import ConsoleSettings
from loyalty_shared.service import load_settings, serve


def main() -> None:
    serve(create_app, load_settings(ConsoleSettings), service="console")


if __name__ == "__main__":
    main()
