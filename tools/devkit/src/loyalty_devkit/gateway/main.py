"""`loyalty-gateway`: the local gateway on LOYALTY_GATEWAY_PORT (8000), as `loyalty run` starts
it, in front of the services at LOYALTY_GATEWAY_<SERVICE>_URL; the operators' paths too with
LOYALTY_GATEWAY_OPERATOR_PATHS=true."""

from __future__ import annotations

import logging

from pydantic import Field

from loyalty_devkit.gateway.app import create_app
from loyalty_shared.service import load_settings, serve
from loyalty_shared.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    """Shared settings (host, logging) and the gateway's own; it checks no token itself."""

    gateway_port: int = Field(8000, ge=1, le=65535)
    gateway_points_url: str = "http://127.0.0.1:8001"
    gateway_tiers_url: str = "http://127.0.0.1:8002"
    gateway_notifications_url: str = "http://127.0.0.1:8003"
    gateway_feedback_url: str = "http://127.0.0.1:8004"
    #: Serve the internal host's operators' paths on this port too (`make run` does); off, it
    #: answers as the public host: 404 for them.
    gateway_operator_paths: bool = False

    @property
    def port(self) -> int:
        return self.gateway_port

    @property
    def upstreams(self) -> dict[str, str]:
        return {
            "points": self.gateway_points_url,
            "tiers": self.gateway_tiers_url,
            "notifications": self.gateway_notifications_url,
            "feedback": self.gateway_feedback_url,
        }


def main() -> None:
    settings = load_settings(GatewaySettings)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per proxied request otherwise
    serve(
        lambda s: create_app(s.upstreams, operator_paths=s.gateway_operator_paths),
        settings,
        service="gateway",
    )


if __name__ == "__main__":
    main()
