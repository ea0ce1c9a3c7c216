"""Where a route's guard hands over to idempotency. The middleware cannot know a route's roles,
so it judges nothing itself: the guard, once 401 and 403 are decided, judges the key (as the
body is judged after them) and claims it for this run."""

from typing import Protocol

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response
from starlette.types import Scope

from app.errors import Invalid
from app.tenants.service import Principal

NAME = "Idempotency-Key"
MAX_LENGTH = 255
_PROBLEM = "idempotency_key_problem"
_RUN = "idempotency_run"


class Run(Protocol):
    async def claim(self, principal: Principal, session: AsyncSession) -> None:
        """Take the key for this request, or raise the answer a repeat gets."""


class Replayed(Exception):
    """A repeat of a finished request: its first answer, raised to end the route."""

    def __init__(self, response: Response) -> None:
        super().__init__("replayed")
        self.response = response


def problem_with(key: str) -> str | None:
    """Why the key cannot be used, or None."""
    return None if 1 <= len(key) <= MAX_LENGTH else f"must be 1 to {MAX_LENGTH} characters"


def defer_problem(scope: Scope, problem: str) -> None:
    scope.setdefault("state", {})[_PROBLEM] = problem


def defer_run(scope: Scope, run: Run) -> None:
    scope.setdefault("state", {})[_RUN] = run


def carries_key(request: Request) -> bool:
    """The request named an Idempotency-Key (good or bad): its guard must judge it."""
    state = request.scope.get("state", {})
    return _PROBLEM in state or _RUN in state


async def judge(request: Request, principal: Principal, session: AsyncSession) -> None:
    """Refuse a bad key (422 naming the header), else claim it for this run, in the route's
    session (committed: a repeat must see the claim while this run goes on)."""
    problem: str | None = getattr(request.state, _PROBLEM, None)
    if problem is not None:
        raise Invalid.at(["header", NAME], problem)
    run: Run | None = getattr(request.state, _RUN, None)
    if run is not None:
        await run.claim(principal, session)


async def replayed_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Replayed)
    return exc.response
