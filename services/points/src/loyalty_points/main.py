"""Entry point: `loyalty-points` serves (the container's command and what `make run` starts);
`loyalty-points migrate` applies the database migrations and exits (the Kubernetes Job);
`loyalty-points audit` checks every balance against the ledger (exit 1 on any difference);
`loyalty-points rebuild-balances` rewrites the balances from the ledger, then audits."""

from __future__ import annotations

import argparse
import asyncio
import sys

from loyalty_points.app import MIGRATIONS, create_app
from loyalty_points.audit.service import audit, rebuild_balances
from loyalty_points.settings import PointsSettings
from loyalty_shared.program.loader import ProgramError, load_program
from loyalty_shared.service import load_settings, run_migrations, serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="loyalty-points", description=__doc__)
    parser.add_argument(
        "command",
        nargs="?",
        choices=["serve", "migrate", "audit", "rebuild-balances"],
        default="serve",
    )
    command = parser.parse_args().command
    settings = load_settings(PointsSettings)
    if command == "migrate":
        run_migrations(settings, MIGRATIONS, service="points")
        return
    if command == "rebuild-balances":
        changed = asyncio.run(rebuild_balances(settings.database_url))
        print(f"rebuilt={len(changed)} " + " ".join(changed[:50]))  # noqa: T201
        command = "audit"
    if command == "audit":
        report = asyncio.run(audit(settings.database_url))
        print("\n".join(report.lines()))  # noqa: T201
        raise SystemExit(0 if report.clean else 1)
    try:
        load_program(settings.program_file)
    except ProgramError as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None
    serve(create_app, settings, service="points")


if __name__ == "__main__":
    main()
