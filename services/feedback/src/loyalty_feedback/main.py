"""Entry point: `loyalty-feedback` serves; `loyalty-feedback migrate` applies the migrations and
exits."""

from __future__ import annotations

from loyalty_feedback.app import MIGRATIONS, create_app
from loyalty_feedback.settings import FeedbackSettings
from loyalty_shared.service import command


def main() -> None:
    command("feedback", FeedbackSettings, create_app, MIGRATIONS, description=__doc__)


if __name__ == "__main__":
    main()
