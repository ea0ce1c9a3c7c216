"""``Idempotency-Key``: a repeated POST gets the first response instead of running again."""

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import Conflict, ErrorItem, Invalid, is_database_unavailable
from app.idempotency import gate, repository
from app.idempotency.leases import LEASE as LEASE  # re-exported: how long a claim outlives its run
from app.idempotency.leases import Leases
from app.idempotency.repository import Claim
from app.tenants.service import Principal

HEADER = gate.NAME.lower().encode()
# How the API document shows the header on the POSTs where a repeat matters most.
IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "name": gate.NAME,
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": gate.MAX_LENGTH},
            "description": "Repeat within 24 h with the same body: the first response again.",
        }
    ]
}
# While the database is away a claim cannot be settled; it is retried this often meanwhile
# (its lease still renewed), so a client's retry after the outage gets the stored answer.
SETTLE_RETRY_SECONDS = 1.0
SETTLE_ATTEMPTS = 300

log = logging.getLogger("touchbase.idempotency")
_settling: set[asyncio.Task[None]] = set()


class IdempotencyMiddleware:
    """Reads the body to fingerprint it; the route's guard claims the key (see ``gate``); a run
    holding the claim keeps its answer for repeats."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope)
        if scope["type"] != "http" or scope["method"] != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        if (problem := gate.problem_with(key)) is not None:
            gate.defer_problem(scope, problem)
            await self.app(scope, receive, send)
            return
        body = await Request(scope, receive).body()
        run = KeyedRun(scope["app"].state, key, _fingerprint(scope, body))
        gate.defer_run(scope, run)
        try:
            await self.app(scope, _replay(body), run.capture(send))
        except BaseException:
            await run.settle(failed=True)
            raise
        await run.settle(failed=False)


class KeyedRun:
    """One POST carrying a key: claimed by the route's guard, then finished with its answer."""

    def __init__(self, state: Any, key: str, fingerprint: bytes) -> None:
        self.state = state
        self.key = key
        self.fingerprint = fingerprint
        self.claimed: Claim | None = None
        self.status = 500
        self.content_type: str | None = None
        self.chunks: list[bytes] = []

    async def claim(self, principal: Principal, session: AsyncSession) -> None:
        claim = Claim(principal.tenant_id, principal.key_id, self.key)
        now = self.state.clock.now()
        held = await repository.claim(
            session, claim.tenant_id, claim.api_key_id, claim.key, self.fingerprint,
            now, now + LEASE, now - self._ttl(), run_id=claim.run_id,
        )  # fmt: skip
        if held is not None:
            raise _answer_to_repeat(held, self.fingerprint)
        self.claimed = claim
        self._leases().hold(claim)

    def capture(self, send: Send) -> Send:
        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                for name, value in message.get("headers", []):
                    if name == b"content-type":
                        self.content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                self.chunks.append(message.get("body", b""))
            await send(message)

        return capture

    async def settle(self, *, failed: bool) -> None:
        """Keep the answer for repeats; a failure is not an answer: let the client retry."""
        claim = self.claimed
        if claim is None:
            return

        async def release(session: AsyncSession) -> None:
            await repository.release(session, claim)

        async def finish(session: AsyncSession) -> None:
            await repository.purge_expired(session, self.state.clock.now() - self._ttl())
            body = b"".join(self.chunks)
            await repository.finish(session, claim, self.status, self.content_type, body)

        step = release if failed or self.status >= 500 else finish
        await _settle(self.state.sessionmaker, step, lambda: self._leases().drop(claim))

    def _ttl(self) -> timedelta:
        return timedelta(hours=self.state.settings.idempotency_ttl_hours)

    def _leases(self) -> Leases:
        leases: Leases = self.state.idempotency_leases
        return leases


def _answer_to_repeat(held: RowMapping, fingerprint: bytes) -> Exception:
    if held["request_hash"] != fingerprint:
        detail = "This Idempotency-Key was used with another request."
        return Invalid(detail, errors=[ErrorItem(loc=["header", gate.NAME], msg=detail)])
    if held["state"] == "running":
        running = Conflict("A request with this Idempotency-Key is still running.")
        running.headers = {"Retry-After": "1"}
        return running
    replay = Response(
        held["response_body"],
        status_code=held["response_status"],
        media_type=held["response_content_type"],
        headers={"Idempotent-Replayed": "true"},
    )
    return gate.Replayed(replay)


async def _settle(
    sessionmaker: async_sessionmaker[AsyncSession],
    step: Callable[[AsyncSession], Awaitable[None]],
    settled: Callable[[], None],
) -> None:
    """Release or finish a claim, then stop renewing its lease; while the database is away,
    keep trying in the background."""
    try:
        async with sessionmaker() as session:
            await step(session)
    except Exception as exc:
        if not is_database_unavailable(exc):
            settled()
            raise
        task = asyncio.create_task(_settle_later(sessionmaker, step, settled))
        _settling.add(task)
        task.add_done_callback(_settling.discard)
        return
    settled()


async def _settle_later(
    sessionmaker: async_sessionmaker[AsyncSession],
    step: Callable[[AsyncSession], Awaitable[None]],
    settled: Callable[[], None],
) -> None:
    try:
        for _ in range(SETTLE_ATTEMPTS):
            await asyncio.sleep(SETTLE_RETRY_SECONDS)
            try:
                async with sessionmaker() as session:
                    await step(session)
                return
            except Exception as exc:
                if not is_database_unavailable(exc):
                    log.exception("could not settle an idempotency claim")
                    return
        log.warning("an idempotency claim stays running until its lease ends")
    finally:
        settled()


def _header(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == HEADER:
            return str(value.decode("latin-1"))
    return None


def _fingerprint(scope: Scope, body: bytes) -> bytes:
    digest = hashlib.sha256()
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b"")):
        digest.update(part + b"\0")
    digest.update(body)
    return digest.digest()


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
