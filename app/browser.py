"""What browsers need (contract 1.1, "Browsers"): CORS for the listed origins, and gzip.

Pure ASGI. A request without ``Origin`` costs the CORS layers one scan of its headers.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.datastructures import MutableHeaders
from starlette.middleware.gzip import GZipMiddleware, GZipResponder, IdentityResponder
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOW_HEADERS = "Authorization, Content-Type, Idempotency-Key, X-Request-ID"
EXPOSE_HEADERS = "X-Request-ID, Idempotent-Replayed, Retry-After"
# Short enough that a deploy's new methods reach browsers soon; Chromium caps it at 2 h anyway.
MAX_AGE = "600"
METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
# nginx's default (bench/compression.py): /openapi.json shrinks 5.7x in 0.3 ms, against 7.1x in
# 1 ms at level 5, on the event loop that every other request waits for; a status, alike at any.
GZIP_LEVEL = 1


class CorsHeaders:
    """Puts the CORS answer on every response to a listed origin, errors included."""

    def __init__(self, app: ASGIApp, *, origins: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = _header(scope, b"origin") if scope["type"] == "http" else None
        if origin is None or origin not in self.origins:
            await self.app(scope, receive, send)
            return
        allowed = origin

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Access-Control-Allow-Origin"] = allowed
                headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
                headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, send_with_cors)


@dataclass(frozen=True, slots=True)
class PathMethods:
    """One path template of the app and every method its routes serve."""

    regex: re.Pattern[str]
    methods: frozenset[str]
    route: BaseRoute


class Preflight:
    """Answers a listed origin's preflight with 204 and the methods the app serves on its path.

    A path no route matches falls through, so the app answers it as it would without CORS.
    """

    def __init__(
        self, app: ASGIApp, *, origins: Iterable[str], routes: Sequence[BaseRoute]
    ) -> None:
        self.app = app
        self.origins = frozenset(origins)
        self.paths = path_methods(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self._preflight_path(scope)
        if matched is None:
            await self.app(scope, receive, send)
            return
        route, methods = matched
        scope["route"] = route  # so the access log and metrics name the template
        headers = {
            "Access-Control-Allow-Methods": methods,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": MAX_AGE,
        }
        await Response(status_code=204, headers=headers)(scope, receive, send)

    def _preflight_path(self, scope: Scope) -> tuple[BaseRoute, str] | None:
        """The route and its methods when this is a listed origin's preflight of a known path."""
        if scope["type"] != "http" or scope["method"] != "OPTIONS":
            return None
        if _header(scope, b"access-control-request-method") is None:
            return None
        if _header(scope, b"origin") not in self.origins:
            return None
        matched = [p for p in self.paths if p.regex.match(scope["path"])]
        if not matched:
            return None
        methods = {method for p in matched for method in p.methods}
        return matched[0].route, ", ".join(sorted(methods, key=_method_rank))


def path_methods(routes: Sequence[BaseRoute]) -> tuple[PathMethods, ...]:
    """Each path template of the routes, in routing order, with the union of its methods."""
    templates: dict[str, list[RouteContext]] = {}
    for context in iter_route_contexts(routes):
        # mounts and websockets have no methods: nothing a browser preflights
        if context.path and context.methods and getattr(context, "path_regex", None):
            templates.setdefault(context.path, []).append(context)
    return tuple(
        PathMethods(
            regex=group[0].path_regex,
            methods=frozenset(m for context in group for m in context.methods or ()),
            route=group[0].original_route,
        )
        for group in templates.values()
    )


def _method_rank(method: str) -> tuple[int, str]:
    rank = METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER)
    return rank, method


class GZip(GZipMiddleware):
    """Starlette's gzip, but deciding by the q-values of Accept-Encoding: ``gzip;q=0`` refuses."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        responder: ASGIApp
        if accepts_gzip(_joined_header(scope, b"accept-encoding")):
            responder = GZipResponder(
                self.app,
                self.minimum_size,
                compresslevel=self.compresslevel,
                thread_minimum_size=self.thread_minimum_size,
                exclude_content_types=self.exclude_content_types,
            )
        else:
            # still marks large answers Vary: Accept-Encoding, so caches keep both forms apart
            responder = IdentityResponder(
                self.app, self.minimum_size, exclude_content_types=self.exclude_content_types
            )
        await responder(scope, receive, send)


def accepts_gzip(accept_encoding: str) -> bool:
    """RFC 9110 12.5.3: gzip (or x-gzip) with a weight above 0, else ``*`` with one."""
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.partition(";")
        weights.setdefault(coding.strip().lower(), _weight(params))
    weight = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))
    return weight > 0


def _weight(params: str) -> float:
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value)
            except ValueError:
                return 0.0
            return weight if 0 <= weight <= 1 else 0.0  # NaN fails both comparisons
    return 1.0


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _joined_header(scope: Scope, name: bytes) -> str:
    return ",".join(value.decode("latin-1") for key, value in scope["headers"] if key == name)
