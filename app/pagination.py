"""Opaque cursors and the ``limit``/``cursor`` query parameters every list takes."""

import base64
import binascii
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Query

from app.errors import Invalid
from app.schemas import check_json_value


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(key)).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        key = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, orjson.JSONDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != arity or not all(map(_storable, key)):
        raise Invalid.at(["query", "cursor"], "cursor is not one this service issued")
    return key


def _storable(part: Any) -> bool:
    """A cursor part PostgreSQL can compare with: a forged one must not reach the database."""
    if not isinstance(part, str | int | float) or isinstance(part, bool):
        return False
    try:
        check_json_value(part)
    except ValueError:
        return False
    return True


class PageParams:
    def __init__(
        self,
        limit: Annotated[int, Query(ge=1, le=500, description="Items per page.")] = 50,
        cursor: Annotated[
            str | None, Query(max_length=1024, description="`next_cursor` of the previous page.")
        ] = None,
    ) -> None:
        self.limit = limit
        self.cursor = cursor

    def after(self, arity: int) -> list[Any] | None:
        return None if self.cursor is None else decode_cursor(self.cursor, arity)

    def after_instant_and_id(self) -> tuple[datetime, uuid.UUID] | None:
        """The (instant, id) a newest-first list stopped at."""
        key = self.after(2)
        if key is None:
            return None
        try:
            at = datetime.fromisoformat(str(key[0]))
            if at.tzinfo is None:
                raise ValueError("a cursor's instant has an offset")
            return at.astimezone(UTC), uuid.UUID(str(key[1]))
        except (ValueError, OverflowError):
            raise Invalid.at(["query", "cursor"], "cursor is not one this service issued") from None


T = TypeVar("T")


def page_of(
    items: list[T], limit: int, key: Callable[[T], list[Any]]
) -> tuple[list[T], str | None]:
    """The first ``limit`` of the items read (one more than a page, to know if more follow)
    and the cursor after the last of them, from its sort key."""
    if len(items) <= limit:
        return items, None
    return items[:limit], encode_cursor(key(items[limit - 1]))


def instant_and_id(at: datetime, item_id: uuid.UUID) -> list[Any]:
    """The sort key of a newest-first list, as ``after_instant_and_id`` reads it back."""
    return [at.isoformat(), str(item_id)]


PageDep = Annotated[PageParams, Depends()]
