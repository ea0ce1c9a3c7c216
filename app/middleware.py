"""Pure ASGI middleware: request ids, access logs, metrics, the body limit, last-resort errors."""

import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import metrics
from app.errors import problem_response, unexpected_error_response
from app.load import RequestLoad
from app.logging import request_id

log = logging.getLogger("touchbase.access")
SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class BodyTooLarge(HTTPException):
    """Raised while the body streams in, so FastAPI passes it on as a 413 and not a 400."""

    def __init__(self) -> None:
        super().__init__(413, "The request body is too large.")


class RequestContextMiddleware:
    """Names each request, logs and measures it, and turns escaped exceptions into problems."""

    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int, retry_after: int, load: RequestLoad
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.retry_after = retry_after
        self.load = load

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_request_id(scope) or uuid.uuid4().hex
        token = request_id.set(rid)
        self.load.begin()
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            if _declared_length(scope) > self.max_body_bytes:
                raise BodyTooLarge
            await self.app(scope, self._limited(receive), send_with_id)
        except BodyTooLarge:
            if not response_started:
                detail = f"The body is over {self.max_body_bytes} bytes."
                await problem_response(413, detail)(scope, receive, send_with_id)
        except Exception as exc:
            if response_started:
                raise
            await unexpected_error_response(exc, self.retry_after)(scope, receive, send_with_id)
        finally:
            self.load.end()
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            metrics.record_request(scope["method"], route, status, elapsed)
            log.info(
                "%s %s %s",
                scope["method"],
                scope["path"],
                status,
                extra={"status": status, "route": route, "ms": round(elapsed * 1000, 2)},
            )
            request_id.reset(token)

    def _limited(self, receive: Receive) -> Receive:
        received = 0

        async def receive_limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    raise BodyTooLarge
            return message

        return receive_limited


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if SAFE_REQUEST_ID.match(text) else None
    return None


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return 0
    return 0


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    # Unmatched paths share one label so scanners cannot blow up the metric's cardinality.
    return path if isinstance(path, str) else "unmatched"
