"""Service settings, read from the environment (``TOUCHBASE_*``, plus ``DATABASE_URL``)."""

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# scheme://host[:port], no path: what a browser sends as Origin.
ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#@\s]+")


def normalize_origins(origins: Iterable[str]) -> tuple[str, ...]:
    """Configured origins as browsers write them: lower case, no trailing slash."""
    cleaned = tuple(o.strip().rstrip("/").lower() for o in origins if o.strip())
    bad = [o for o in cleaned if not ORIGIN.fullmatch(o)]
    if bad:
        raise ValueError(f"not an origin (scheme://host[:port]): {', '.join(bad)}")
    return cleaned


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TOUCHBASE_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "TOUCHBASE_DATABASE_URL")
    )
    """PostgreSQL URL; without one, the embedded server under ``data_dir`` is used."""
    data_dir: Path = Path(".touchbase/pgdata")
    """Where the embedded PostgreSQL keeps its files when no ``DATABASE_URL`` is set."""
    pool_size: int = Field(default=32, ge=1, le=200)
    """Connections kept open: enough for the requests one process answers at once (a
    connection beyond them is opened and closed again, which costs more than the query)."""
    pool_max_overflow: int = Field(default=10, ge=0, le=200)
    pool_timeout_seconds: float = Field(default=5.0, gt=0)
    """How long a request waits for a pooled connection before answering 503."""
    statement_timeout_ms: int = Field(default=15_000, ge=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    retry_after_seconds: int = Field(default=5, ge=1)
    """The ``Retry-After`` sent with a 503 while the database is unreachable."""
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    webhook_tolerance_seconds: int = Field(default=300, ge=1)
    refresher: bool = True
    """Run the background refresher of stored verdicts in this process."""
    refresh_batch: int = Field(default=500, ge=1, le=10_000)
    """Customers the refresher takes per round."""
    refresh_share: float = Field(default=0.25, gt=0, le=1)
    """While the process serves requests, the share of its time the refresher may take (it
    rests between rounds; a read of a customer it has not refreshed yet judges live)."""
    rfm_auto_recompute: bool = True
    """Recompute RFM snapshots over an hour old (when something changed) in this process."""
    lateness: bool = True
    """Judge in this process, in the background, whether follow-ups came late (compliance)."""
    retention: bool = True
    """Expire touches past the policy's ``retention_days`` (hourly) in this process."""
    events_delivery: bool = True
    """Deliver outbound events (and notice time-driven ones) in this process."""
    events_allow_private_urls: bool = False
    """Let event endpoints be plain ``http`` on private or loopback addresses (development,
    tests); otherwise only ``https`` on public addresses."""
    cors_origins: Annotated[tuple[str, ...], NoDecode] = ()
    """Comma-separated origins whose browsers may call the API; empty: no CORS headers at all."""

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        return value.split(",") if isinstance(value, str) else value

    @field_validator("cors_origins")
    @classmethod
    def _clean_origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return normalize_origins(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


def to_async_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` URLs and name the asyncpg driver."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError("DATABASE_URL must start with postgresql:// or postgresql+asyncpg://")


@lru_cache
def get_settings() -> Settings:
    return Settings()
