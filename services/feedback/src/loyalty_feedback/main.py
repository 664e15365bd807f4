"""Entry point: `loyalty-feedback` (the container's command and what `make run` starts)."""

from __future__ import annotations

from loyalty_feedback.app import create_app
from loyalty_feedback.settings import FeedbackSettings
from loyalty_shared.service import load_settings, serve


def main() -> None:
    serve(create_app, load_settings(FeedbackSettings), service="feedback")


if __name__ == "__main__":
    main()
