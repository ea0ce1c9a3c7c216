"""The ceiling for HTTP endpoints: a bare FastAPI app, one asyncpg query per request.

    BENCH_BARE_DSN=postgresql://... uvicorn bench.bare_app:app --loop uvloop --http httptools

``GET /row/{id}`` is one primary-key SELECT, ``POST /row`` one INSERT ... RETURNING, on the
``bench_rows`` table that bench/ceilings.py creates. The pool is as large as the service's
(``TOUCHBASE_POOL_SIZE`` + ``TOUCHBASE_POOL_MAX_OVERFLOW``, the service's own defaults when
unset).
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

import asyncpg
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

from app.config import Settings

DSN = os.environ.get("BENCH_BARE_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
_SETTINGS = Settings()  # the service's pool settings, from the same environment
POOL_MIN = _SETTINGS.pool_size
POOL_MAX = POOL_MIN + _SETTINGS.pool_max_overflow

SELECT_ROW = "SELECT id, customer_id, channel, occurred_at FROM bench_rows WHERE id = $1"
INSERT_ROW = (
    "INSERT INTO bench_rows (customer_id, channel, occurred_at) VALUES ($1, $2, $3) RETURNING id"
)


class RowIn(BaseModel):
    customer_id: str
    channel: str
    occurred_at: datetime


class RowOut(RowIn):
    id: int


pool: asyncpg.Pool | None = None


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(DSN, min_size=POOL_MIN, max_size=POOL_MAX)
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan)


def _pool() -> asyncpg.Pool:
    assert pool is not None
    return pool


@app.get("/row/{row_id}")
async def get_row(row_id: int) -> RowOut:
    row = await _pool().fetchrow(SELECT_ROW, row_id)
    if row is None:
        raise HTTPException(404, "no such row")
    return RowOut(**dict(row))


@app.post("/row", status_code=201)
async def post_row(body: RowIn) -> RowOut:
    row_id = await _pool().fetchval(INSERT_ROW, body.customer_id, body.channel, body.occurred_at)
    return RowOut(id=row_id, **body.model_dump())


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}
