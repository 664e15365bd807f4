"""The console's front-end files: served by the console itself (nothing from the internet at run
time), the vendored ones byte for byte the release they claim to be."""

from __future__ import annotations

import hashlib
import tomllib
from importlib.resources import files

import httpx

from loyalty_console.web import HTMX, PLOTLY_VERSION

VENDOR = files("loyalty_console") / "static" / "vendor"


def test_every_vendored_file_is_the_release_it_names() -> None:
    manifest = tomllib.loads((VENDOR / "VENDOR.toml").read_text())
    assert manifest["file"], "the manifest lists the vendored files"
    for entry in manifest["file"]:
        content = (VENDOR / entry["path"]).read_bytes()
        assert hashlib.sha256(content).hexdigest() == entry["sha256"], entry["path"]
        assert (VENDOR / entry["license_file"]).read_text().strip(), "its licence ships with it"
        assert entry["version"] in entry["path"]
    listed = {e["path"] for e in manifest["file"]} | {e["license_file"] for e in manifest["file"]}
    present = {p.name for p in VENDOR.iterdir() if p.name != "VENDOR.toml"}
    assert present == listed, "nothing is vendored without its entry"


async def test_scripts_and_styles_come_from_the_console(dev_console: httpx.AsyncClient) -> None:
    page = await dev_console.get("/sign-in")
    assert f"/static/vendor/{HTMX}" in page.text
    assert "https://" not in page.text, "no outside address"
    assert "http://" not in page.text, "no outside address"
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    for path in (
        f"/static/vendor/{HTMX}",
        f"/static/plotly-{PLOTLY_VERSION}.min.js",
        "/static/console.js",
        "/static/console.css",
    ):
        asset = await dev_console.get(path)
        assert asset.status_code == 200, path
        assert len(asset.content) > 1000, path
    plotly = await dev_console.get(f"/static/plotly-{PLOTLY_VERSION}.min.js")
    assert "immutable" in plotly.headers["cache-control"]


async def test_the_console_is_alive_without_signing_in(dev_console: httpx.AsyncClient) -> None:
    assert (await dev_console.get("/healthz")).json() == {"status": "ok"}
    assert (await dev_console.get("/readyz")).status_code == 200
