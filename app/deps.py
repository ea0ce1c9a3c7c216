"""The Annotated dependencies routes share."""

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings


async def current_time(request: Request) -> datetime:
    """Now, from the app's one injectable clock (async: FastAPI runs a plain function in a
    worker thread)."""
    return request.app.state.clock.now()  # type: ignore[no-any-return]


NowDep = Annotated[datetime, Depends(current_time)]


async def current_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


SettingsDep = Annotated[Settings, Depends(current_settings)]
