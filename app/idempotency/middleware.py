"""``Idempotency-Key``: a repeated POST gets the first response instead of running again."""

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import bearer_token
from app.errors import ErrorItem, is_database_unavailable, problem_response
from app.idempotency import repository
from app.tenants import service as tenants

HEADER = b"idempotency-key"
# How the API document shows the header on the POSTs where a repeat matters most.
IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            "description": "Repeat within 24 h with the same body: the first response again.",
        }
    ]
}
LEASE = timedelta(minutes=5)
# While the database is away a claim cannot be settled; it is retried this often meanwhile,
# so a client's retry after the outage is not told "still running" for the whole lease.
SETTLE_RETRY_SECONDS = 1.0

log = logging.getLogger("touchbase.idempotency")
_settling: set[asyncio.Task[None]] = set()


@dataclass(frozen=True, slots=True)
class Claim:
    tenant_id: uuid.UUID
    api_key_id: uuid.UUID
    key: str


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope)
        if scope["type"] != "http" or scope["method"] != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        body = await request.body()
        state = scope["app"].state
        async with state.sessionmaker() as session:
            token = bearer_token(request)
            principal = await tenants.authenticate(session, token) if token else None
        if principal is None:  # the route answers 401 itself, before judging the key
            await self.app(scope, _replay(body), send)
            return
        if not 1 <= len(key) <= 255:
            error = ErrorItem(loc=["header", "Idempotency-Key"], msg="must be 1 to 255 characters")
            await problem_response(422, error.msg, [error])(scope, receive, send)
            return
        claim = Claim(principal.tenant_id, principal.key_id, key)
        held = await self._claim(state, claim, _fingerprint(scope, body))
        if held is not None:
            await self._answer_repeat(held, _fingerprint(scope, body))(scope, receive, send)
            return
        await self._run_and_keep(state, claim, scope, body, send)

    async def _claim(self, state: object, claim: Claim, fingerprint: bytes) -> RowMapping | None:
        now = state.clock.now()  # type: ignore[attr-defined]
        ttl = timedelta(hours=state.settings.idempotency_ttl_hours)  # type: ignore[attr-defined]
        async with state.sessionmaker() as session:  # type: ignore[attr-defined]
            return await repository.claim(
                session,
                claim.tenant_id,
                claim.api_key_id,
                claim.key,
                fingerprint,
                now,
                now + LEASE,
                now - ttl,
            )

    @staticmethod
    def _answer_repeat(held: RowMapping, fingerprint: bytes) -> Response:
        if held["request_hash"] != fingerprint:
            detail = "This Idempotency-Key was used with another request."
            return problem_response(
                422, detail, [ErrorItem(loc=["header", "Idempotency-Key"], msg=detail)]
            )
        if held["state"] == "running":
            detail = "A request with this Idempotency-Key is still running."
            return problem_response(409, detail, headers={"Retry-After": "1"})
        return Response(
            held["response_body"],
            status_code=held["response_status"],
            media_type=held["response_content_type"],
            headers={"Idempotent-Replayed": "true"},
        )

    async def _run_and_keep(
        self, state: object, claim: Claim, scope: Scope, body: bytes, send: Send
    ) -> None:
        status = 500
        content_type: str | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", []):
                    if name == b"content-type":
                        content_type = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        sessionmaker = state.sessionmaker  # type: ignore[attr-defined]

        async def release(session: AsyncSession) -> None:
            await repository.release(session, claim.tenant_id, claim.api_key_id, claim.key)

        async def finish(session: AsyncSession) -> None:
            ttl = timedelta(hours=state.settings.idempotency_ttl_hours)  # type: ignore[attr-defined]
            await repository.purge_expired(session, state.clock.now() - ttl)  # type: ignore[attr-defined]
            await repository.finish(
                session, claim.tenant_id, claim.api_key_id, claim.key, status, content_type,
                b"".join(chunks),
            )  # fmt: skip

        try:
            await self.app(scope, _replay(body), capture)
        except BaseException:
            await _settle(sessionmaker, release)
            raise
        # a failure is not an answer: let the client retry
        await _settle(sessionmaker, release if status >= 500 else finish)


async def _settle(
    sessionmaker: async_sessionmaker[AsyncSession],
    step: Callable[[AsyncSession], Awaitable[None]],
) -> None:
    """Release or finish a claim; while the database is away, keep trying in the background."""
    try:
        async with sessionmaker() as session:
            await step(session)
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        task = asyncio.create_task(_settle_later(sessionmaker, step))
        _settling.add(task)
        task.add_done_callback(_settling.discard)


async def _settle_later(
    sessionmaker: async_sessionmaker[AsyncSession],
    step: Callable[[AsyncSession], Awaitable[None]],
) -> None:
    for _ in range(int(LEASE.total_seconds() / SETTLE_RETRY_SECONDS)):
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
