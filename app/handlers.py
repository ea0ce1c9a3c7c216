"""The answers to exceptions: every error a route raises becomes an RFC 9457 problem, and a
request refused for its key is refused so before anything is said of its body."""

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from app import auth
from app.errors import AppError, ErrorItem, problem_response, validation_items
from app.idempotency import gate as idempotency

# What FastAPI raises when a body is not UTF-8 or is nested too deeply for the JSON parser.
BODY_UNPARSABLE = "There was an error parsing the body"
UNPARSABLE_MESSAGE = "must be JSON in UTF-8, nested at most a few hundred deep"
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def install(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(idempotency.Replayed, idempotency.replayed_response)
    app.add_exception_handler(RequestValidationError, _validation_error)


async def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    refused = await _refused_first(request) if exc.status_code == 422 else None
    return refused or problem_response(
        exc.status_code, exc.detail, exc.errors, exc.headers, **exc.extra
    )


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and exc.detail == BODY_UNPARSABLE:
        item = ErrorItem(loc=["body"], msg=UNPARSABLE_MESSAGE)
        return await _refused_first(request) or problem_response(
            422, "The request is not valid; see errors.", [item]
        )
    headers = dict(exc.headers) if exc.headers else None
    if exc.status_code == 405:
        # The router names only the first route of the path; RFC 9110 wants every method.
        headers = {**(headers or {}), "Allow": ", ".join(_methods_of_path(request.scope))}
    return problem_response(exc.status_code, str(exc.detail), headers=headers)


def _methods_of_path(scope: Scope) -> list[str]:
    """The methods some route serves at this request's path, asked of the router itself."""
    probe = {key: scope[key] for key in ("type", "path", "root_path", "headers") if key in scope}
    routes = scope["app"].router.routes
    return [
        method
        for method in HTTP_METHODS
        if any(route.matches({**probe, "method": method})[0] is Match.FULL for route in routes)
    ]


async def _validation_error(request: Request, exc: Exception) -> Response:
    """A request whose key was not looked up before its parameters failed (a body that is
    not even JSON, or a route that looks its key up in its own statement) still gets
    401/403 first."""
    assert isinstance(exc, RequestValidationError)
    items = validation_items(exc.errors())
    return await _refused_first(request) or problem_response(
        422, "The request is not valid; see errors.", items
    )


async def _refused_first(request: Request) -> Response | None:
    """The 401 or 403 a request gets for its key, if it gets one."""
    try:
        await auth.check_before_body(request)
    except AppError as denied:
        return problem_response(denied.status_code, denied.detail, headers=denied.headers)
    return None
