"""Shared parameter types of the handlers."""

from __future__ import annotations

from typing import Annotated

from litestar.params import PathParameter

from models.schemas import MAX_ID

RowId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
"""A row id in the path: 1 .. 2**31-1 (INTEGER keys on both databases)."""
