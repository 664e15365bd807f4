"""Entry point: `loyalty-tiers` serves (the container's command and what `make run` starts);
`loyalty-tiers migrate` applies the database migrations and exits (the Kubernetes Job)."""

from __future__ import annotations

import argparse

from loyalty_shared.service import load_settings, run_migrations, serve
from loyalty_tiers.app import MIGRATIONS, create_app
from loyalty_tiers.settings import TiersSettings


def main() -> None:
    parser = argparse.ArgumentParser(prog="loyalty-tiers", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    command = parser.parse_args().command
    settings = load_settings(TiersSettings)
    if command == "migrate":
        run_migrations(settings, MIGRATIONS, service="tiers")
        return
    serve(create_app, settings, service="tiers")


if __name__ == "__main__":
    main()
