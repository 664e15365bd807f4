"""Entry point: `loyalty-tiers` (the container's command and what `make run` starts)."""

from __future__ import annotations

from loyalty_shared.service import load_settings, serve
from loyalty_tiers.app import create_app
from loyalty_tiers.settings import TiersSettings


def main() -> None:
    serve(create_app, load_settings(TiersSettings), service="tiers")


if __name__ == "__main__":
    main()
