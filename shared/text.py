"""Text a person typed, as every RPC's schema accepts it: not blank, and storable."""
from marshmallow import ValidationError, fields, validate


def plain_text(value: str) -> None:
    """Not blank, and free of what PostgreSQL and JSON cannot store."""
    if not value.strip():
        raise ValidationError("Must not be blank.")
    if any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in value):
        raise ValidationError("Contains a NUL character or an unpaired surrogate.")


def free_text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=max_length), plain_text], **kwargs)
