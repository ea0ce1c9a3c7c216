"""``Idempotency-Key``: a repeated POST gets the first response instead of running again."""

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import RowMapping
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import bearer_token
from app.errors import ErrorItem, problem_response
from app.idempotency import repository
from app.tenants import service as tenants

HEADER = b"idempotency-key"
LEASE = timedelta(minutes=5)


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
            return problem_response(409, "A request with this Idempotency-Key is still running.")
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
        try:
            await self.app(scope, _replay(body), capture)
        except BaseException:
            async with sessionmaker() as session:
                await repository.release(session, claim.tenant_id, claim.api_key_id, claim.key)
            raise
        async with sessionmaker() as session:
            if status >= 500:  # a failure is not an answer: let the client retry
                await repository.release(session, claim.tenant_id, claim.api_key_id, claim.key)
            else:
                ttl = timedelta(hours=state.settings.idempotency_ttl_hours)  # type: ignore[attr-defined]
                await repository.purge_expired(session, state.clock.now() - ttl)  # type: ignore[attr-defined]
                await repository.finish(
                    session,
                    claim.tenant_id,
                    claim.api_key_id,
                    claim.key,
                    status,
                    content_type,
                    b"".join(chunks),
                )


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
