"""The Annotated dependencies routes share."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request


def current_time(request: Request) -> datetime:
    """Now, from the app's one injectable clock."""
    return request.app.state.clock.now()  # type: ignore[no-any-return]


NowDep = Annotated[datetime, Depends(current_time)]
