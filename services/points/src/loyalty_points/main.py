"""Entry point: `loyalty-points` (the container's command and what `make run` starts)."""

from __future__ import annotations

import sys

from loyalty_points.app import create_app
from loyalty_points.settings import PointsSettings
from loyalty_shared.program.loader import ProgramError, load_program
from loyalty_shared.service import load_settings, serve


def main() -> None:
    settings = load_settings(PointsSettings)
    try:
        load_program(settings.program_file)
    except ProgramError as exc:
        print(exc, file=sys.stderr)  # noqa: T201
        raise SystemExit(2) from None
    serve(create_app, settings, service="points")


if __name__ == "__main__":
    main()
