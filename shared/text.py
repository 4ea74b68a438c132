"""Text a person typed, as every RPC's schema accepts it: not blank, and storable.

A control character (ESC of an ANSI sequence, BEL, DEL, a C1 code …) is never part of what a
person means: a field of free text keeps only tab, line feed and carriage return of them, and a
single-line field (a name, a title, a code) none at all."""
import re

from marshmallow import ValidationError, fields, validate

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def plain_text(value: str) -> None:
    """Not blank, and free of what PostgreSQL and JSON cannot store."""
    if not value.strip():
        raise ValidationError("Must not be blank.")
    if any(c == "\x00" or "\ud800" <= c <= "\udfff" for c in value):
        raise ValidationError("Contains a NUL character or an unpaired surrogate.")
    no_control_characters(value)


def no_control_characters(value: str) -> None:
    """Free text: tab, line feed and carriage return are the only control characters kept."""
    found = _CONTROL.search(value)
    if found:
        raise ValidationError(f"Must not contain control characters (found U+{ord(found.group()):04X}).")


def single_line(value: str) -> None:
    """One line: no line break, tab or other control character."""
    found = _LINE_CONTROL.search(value)
    if found:
        raise ValidationError(f"Must be one line without control characters (found U+{ord(found.group()):04X}).")


def free_text(max_length: int, **kwargs) -> fields.String:
    return fields.String(validate=[validate.Length(min=1, max=max_length), plain_text], **kwargs)


def line_text(max_length: int, **kwargs) -> fields.String:
    """A single-line field: a name, a title."""
    return fields.String(validate=[validate.Length(min=1, max=max_length), plain_text, single_line], **kwargs)
