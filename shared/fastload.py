"""Loading valid input through a marshmallow schema, without most of marshmallow's machinery.

A section of the plan with nested lists (key tasks, indicators, milestones) is eleven schema loads
and forty field loads; marshmallow spends more on its bookkeeping around them (error stores, hook
lookups, a validator chain built per call) than on the checks themselves. `FastLoader(schema)`
walks the schema's fields once and keeps, for each, what marshmallow would do with a value:

- a plain `String`: the value's type, then each of the field's validators, called as marshmallow
  calls them;
- a `Nested` schema or a `List`: the same walk, one level down, then the field's validators;
- any other field: the field's own `deserialize`, the very call marshmallow makes;
- then the schema's `@validates_schema` methods, with marshmallow's arguments.

Input that passes all of it is what `schema.load` returns, key for key and in the same order.
Anything else (a check failed, a key unknown or missing, a value of another type) is loaded by
`schema.load` itself, which names every field at fault: the errors are always marshmallow's. A
schema using what this does not follow (hooks other than `@validates_schema`, `data_key`,
`attribute`, `only`, `exclude`, another `unknown` than RAISE) is always loaded by marshmallow.
tests/unit/test_fastload.py holds the two to the same results on generated input.
"""
from __future__ import annotations

from typing import Any, Callable

from marshmallow import RAISE, Schema, ValidationError, fields
from marshmallow.decorators import POST_LOAD, PRE_LOAD, VALIDATES, VALIDATES_SCHEMA
from marshmallow.utils import missing

from shared import settings


class _Refused(Exception):
    """The fast walk does not vouch for this input: marshmallow loads it."""


class FastLoader:
    """`load(data)`: as `schema.load(data)`, faster when the data is valid."""

    def __init__(self, schema: Schema):
        self.schema = schema
        # One of the speed-ups behind INNOBASE_FAST_PATH (shared.eventstore.fast): off, marshmallow loads all.
        self._load = _compiled(schema) if settings.get().fast_path else None

    def load(self, data: Any) -> dict:
        if self._load is not None:
            try:
                return self._load(data)
            except (_Refused, ValidationError):
                pass
        return self.schema.load(data)


def _compiled(schema: Schema) -> Callable[[Any], dict] | None:
    hooks = schema._hooks
    if (hooks[PRE_LOAD] or hooks[POST_LOAD] or hooks[VALIDATES] or schema.many or schema.partial
            or schema.unknown != RAISE or schema.only or schema.exclude):
        return None
    plan = []
    for name, field in schema.load_fields.items():
        if field.data_key is not None or field.attribute is not None:
            return None
        value_of = _value_loader(name, field)
        if value_of is None:
            return None
        default = field.load_default
        plan.append((name, value_of, field.required, default))
    names = frozenset(name for name, _, _, _ in plan)
    validators = []
    for attr_name, pass_collection, options in hooks[VALIDATES_SCHEMA]:
        if pass_collection or options.get("pass_original"):
            return None
        validators.append(getattr(schema, attr_name))
    unknown, partial = schema.unknown, schema.partial

    def load(data):
        if type(data) is not dict or not names.issuperset(data):
            raise _Refused
        out = {}
        for name, value_of, required, default in plan:
            if name in data:
                out[name] = value_of(data[name], data)
            elif required:
                raise _Refused
            elif default is not missing:
                out[name] = default() if callable(default) else default
        for validate in validators:
            validate(out, partial=partial, many=False, unknown=unknown)
        return out

    return load


def _value_loader(name: str, field: fields.Field) -> Callable[[Any, dict], Any] | None:
    """What marshmallow does with a value present for `field`; None when not followed here."""
    if field.pre_load or field.post_load:
        return lambda value, data: field.deserialize(value, name, data)
    checks = _checks(field.validators)
    allow_none = field.allow_none
    if type(field) is fields.String:

        def text(value, data):
            if type(value) is not str:
                if value is None and allow_none:
                    return None
                raise _Refused
            checks(value)
            return value

        return text
    if type(field) is fields.Nested:
        if field.many or field.unknown not in (None, RAISE) or field.only or field.exclude:
            return None
        inner = _compiled(field.schema)
        if inner is None:
            return None

        def nested(value, data):
            if value is None and allow_none:
                return None
            loaded = inner(value)
            checks(loaded)
            return loaded

        return nested
    if type(field) is fields.List:
        each = _value_loader(None, field.inner)  # marshmallow loads each item with no name or data
        if each is None:
            return None

        def items(value, data):
            if type(value) is not list:
                if value is None and allow_none:
                    return None
                raise _Refused
            loaded = [each(item, None) for item in value]
            checks(loaded)
            return loaded

        return items
    return lambda value, data: field.deserialize(value, name, data)


def _checks(validators) -> Callable[[Any], None]:
    """Each validator as marshmallow's `And` calls it: raising, or returning False, refuses."""
    validators = tuple(validators)

    def check(value):
        for validator in validators:
            if validator(value) is False:
                raise _Refused

    return check
