"""Entry point: `loyalty-feedback` serves (the container's command and what `make run` starts);
`loyalty-feedback migrate` applies the database migrations and exits (the Kubernetes Job)."""

from __future__ import annotations

import argparse

from loyalty_feedback.app import MIGRATIONS, create_app
from loyalty_feedback.settings import FeedbackSettings
from loyalty_shared.service import load_settings, run_migrations, serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="loyalty-feedback", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    command = parser.parse_args().command
    settings = load_settings(FeedbackSettings)
    if command == "migrate":
        run_migrations(settings, MIGRATIONS, service="feedback")
        return
    serve(create_app, settings, service="feedback")


if __name__ == "__main__":
    main()
