"""Entry point: `loyalty-tiers` serves; `loyalty-tiers migrate` applies the migrations and exits."""

from __future__ import annotations

from loyalty_shared.service import command
from loyalty_tiers.app import MIGRATIONS, create_app
from loyalty_tiers.settings import TiersSettings


def main() -> None:
    command("tiers", TiersSettings, create_app, MIGRATIONS, description=__doc__)


if __name__ == "__main__":
    main()
