"""One error tree, rendered as RFC 9457 problem details by one set of handlers."""

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from fastapi.responses import Response
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc

log = logging.getLogger("touchbase.errors")

PROBLEM_JSON = "application/problem+json"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Validation failed",
    500: "Internal server error",
    503: "Service unavailable",
}


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str | None
    errors: list[ErrorItem]


class AppError(Exception):
    status_code = 500
    headers: dict[str, str] | None = None

    def __init__(self, detail: str, *, errors: Sequence[ErrorItem] = (), **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.extra = extra


class Unauthorized(AppError):
    status_code = 401
    headers = {"WWW-Authenticate": "Bearer"}


class Forbidden(AppError):
    status_code = 403


class NotFound(AppError):
    status_code = 404


class Conflict(AppError):
    status_code = 409


class Invalid(AppError):
    status_code = 422

    @classmethod
    def at(cls, loc: Sequence[str | int], msg: str) -> "Invalid":
        return cls(msg, errors=[ErrorItem(loc=list(loc), msg=msg)])


class PayloadTooLarge(AppError):
    status_code = 413


class Unavailable(AppError):
    status_code = 503


def problem_response(
    status: int,
    detail: str | None,
    errors: Sequence[ErrorItem] = (),
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    body = Problem(
        type="about:blank",
        title=TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=list(errors),
    ).model_dump()
    body.update(extra)
    return Response(orjson.dumps(body), status, headers=headers, media_type=PROBLEM_JSON)


def _loc(raw: Sequence[Any]) -> list[str | int]:
    return [part if isinstance(part, int) else str(part) for part in raw]


def validation_items(errors: Sequence[Any]) -> list[ErrorItem]:
    """Pydantic's error list in the contract's ``{"loc", "msg"}`` shape."""
    return [ErrorItem(loc=_loc(err["loc"]), msg=err["msg"]) for err in errors]


# admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down)
UNAVAILABLE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})


def is_database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, OSError | TimeoutError | sa_exc.TimeoutError):
        return True
    sqlstate = _sqlstate(exc)
    if sqlstate in UNAVAILABLE_SQLSTATES or sqlstate.startswith("08"):  # 08: connection
        return True
    if isinstance(exc, sa_exc.DBAPIError) and (
        exc.connection_invalidated
        or isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
    ):
        return True
    # A connection the server dropped mid-statement can be left in a state the driver
    # refuses to use ("another operation is in progress"): nothing was sent, retry later.
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    if isinstance(orig, asyncpg.exceptions.InternalClientError):
        return True
    # Leaving a transaction whose connection the server dropped fails again ("the underlying
    # connection is closed"), in place of the error that closed it.
    if not isinstance(orig, asyncpg.exceptions.InterfaceError):
        return False
    return orig.__context__ is not None and is_database_unavailable(orig.__context__)


def is_foreign_key_violation(exc: BaseException) -> bool:
    """A row referred to a row another transaction deleted meanwhile (an erased customer)."""
    return _sqlstate(exc) == "23503"


# serialization_failure, deadlock_detected, lock_not_available, query_canceled (timeouts)
TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014"})


def _sqlstate(exc: BaseException) -> str:
    """The SQLSTATE PostgreSQL answered with (asyncpg's errors reach us only as DBAPIError)."""
    orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return code if isinstance(code, str) else ""


def unexpected_error_response(exc: Exception, retry_after: int) -> Response:
    """The answer to an exception no handler took: 503 when the database is away, else 500."""
    if is_database_unavailable(exc):
        log.warning("database unavailable: %s", exc)
        detail = "The database is unreachable; retry later."
        return problem_response(503, detail, headers={"Retry-After": str(retry_after)})
    sqlstate = _sqlstate(exc)
    if isinstance(exc, sa_exc.DataError) or sqlstate.startswith("22"):
        # A value PostgreSQL refuses that validation let through: the client's fault, not ours.
        log.warning("value refused by the database: %s", exc)
        return problem_response(422, "A value was refused by the database.")
    if sqlstate in TRANSIENT_SQLSTATES:
        # A deadlock, serialisation failure or statement timeout: retrying may well succeed.
        log.warning("transient database failure: %s", exc)
        detail = "The database could not finish this request now; retry later."
        return problem_response(503, detail, headers={"Retry-After": str(retry_after)})
    log.exception("unhandled error")
    return problem_response(500, "Internal server error.")


# Problem documents the API document describes, by schema name (see app.main._openapi).
PROBLEM_MODELS: dict[str, type[Problem]] = {"Problem": Problem}


def problem_doc(
    status: int, model: type[Problem] = Problem, description: str | None = None
) -> dict[int | str, dict[str, Any]]:
    """An OpenAPI ``responses`` entry for a problem document of the given shape."""
    PROBLEM_MODELS[model.__name__] = model
    schema = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {
        status: {
            "description": description or TITLES.get(status, "Error"),
            "content": {PROBLEM_JSON: {"schema": schema}},
        }
    }


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the problem documents a route may return."""
    return {code: doc for status in statuses for code, doc in problem_doc(status).items()}
