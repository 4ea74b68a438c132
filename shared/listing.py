"""How a list RPC is sorted: `sort` names a column a portal may sort by, `-` before it for
descending ("-updated_at"); the service's own order breaks ties, so pages never overlap."""
from __future__ import annotations

from marshmallow import fields, validate


def sort_field(columns: tuple[str, ...]) -> fields.String:
    """The `sort` argument of a list RPC: one of `columns`, or one of them after `-`."""
    choices = [*columns, *(f"-{column}" for column in columns)]
    return fields.String(load_default=None, allow_none=True, validate=validate.OneOf(choices),
                         metadata={"description": f"sort by {', '.join(columns)}; '-' first for descending"})


def order_by(sort: str | None, tiebreak: str) -> str:
    """The ORDER BY list for a validated `sort` (its column names come from the schema's choices,
    never from the caller's text) ahead of the service's own order."""
    if not sort:
        return tiebreak
    column, direction = (sort[1:], "DESC") if sort.startswith("-") else (sort, "ASC")
    return f"{column} {direction} NULLS LAST, {tiebreak}"
