"""Background work keeps out of the way of requests: the request middleware counts them, and
the refresher reads that count to rest between rounds while the process is busy."""

import httpx
from fastapi import FastAPI


async def test_the_middleware_counts_requests_in_flight_and_served(
    app: FastAPI, anonymous: httpx.AsyncClient
) -> None:
    load = app.state.load
    before = load.started
    assert (await anonymous.get("/healthz")).status_code == 200
    assert (await anonymous.get("/v1/customers/x/status")).status_code == 401
    assert load.started == before + 2
    assert load.in_flight == 0


async def test_the_refresher_yields_with_the_configured_share(app: FastAPI) -> None:
    yielding = app.state.refresher.yielding
    assert yielding.load is app.state.load
    assert yielding.share == app.state.settings.refresh_share == 0.25
