"""`FastLoader` loads exactly what marshmallow loads and refuses exactly what it refuses, with
marshmallow's messages, on every section of the plan; and it does take the fast way for valid
content (else it would be no faster)."""
from datetime import date
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from innobase.samples import sections
from services.intake import schemas
from shared.fastload import FastLoader

pytestmark = pytest.mark.unit

JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True),
                 st.text(max_size=3), st.lists(st.integers(), max_size=2),
                 st.dictionaries(st.text(max_size=2), st.integers(), max_size=2))


def _lengths(field) -> list[int]:
    """Lengths at the field's limits and just beyond."""
    found = [0, 1, 2]
    for validator in field.validators:
        if isinstance(validator, validate.Length):
            for limit in (validator.min, validator.max, validator.equal):
                if limit is not None:
                    found += [limit - 1, limit, limit + 1]
    return sorted({n for n in found if 0 <= n <= 25000})


def values(field: fields.Field):
    """Values a portal might send for the field: well-formed ones, edge cases, and junk."""
    if isinstance(field, fields.Nested):
        good = documents(field.schema)
    elif isinstance(field, fields.List):
        good = st.lists(values(field.inner), max_size=4)
    elif isinstance(field, fields.Date):
        good = st.one_of(st.dates(date(1999, 6, 1), date(2101, 2, 1)).map(date.isoformat),
                         st.sampled_from(["2027-02-30", "2027-6-1", "", "2027-06-30T00:00:00"]))
    elif isinstance(field, fields.Integer):
        good = st.one_of(st.integers(-2, 60), st.booleans(), st.just(1.0))
    elif isinstance(field, schemas.Number):
        good = st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.just("20"))
    elif isinstance(field, fields.Email):
        good = st.one_of(st.emails(), st.just("not an address"))
    elif isinstance(field, fields.String):
        choices = [v.choices for v in field.validators if isinstance(v, validate.OneOf)]
        good = st.one_of(
            st.sampled_from(list(choices[0]) + ["other"]) if choices else st.text(max_size=8),
            st.sampled_from(_lengths(field)).map(lambda n: "长" * n),
            st.sampled_from(["EI.01", "ZZ.99", "320000", "32000", "025-83301234", "a" * 64, "A" * 64]),
        )
    else:
        good = st.booleans()
    return st.one_of(good, good, good, JUNK)


def documents(schema: Schema):
    optional = {name: values(field) for name, field in schema.load_fields.items()}
    base = st.fixed_dictionaries({}, optional=optional)
    unknown = st.fixed_dictionaries({"colour": st.just("blue")})
    return st.one_of(base, base, base, st.tuples(base, unknown).map(lambda pair: {**pair[0], **pair[1]}))


def outcome(load, content):
    try:
        loaded = load(content)
    except ValidationError as error:
        return "refused", error.messages
    return "loaded", loaded, list(loaded)


@pytest.mark.parametrize("section", sorted(schemas.SECTION_SCHEMAS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_fast_loader_loads_and_refuses_what_marshmallow_does(section, data):
    loader = schemas._SECTION_LOADERS[section]
    content = data.draw(st.one_of(documents(loader.schema), JUNK))
    assert outcome(loader.load, content) == outcome(loader.schema.load, content)


def sample(section: str) -> dict:
    setup = SimpleNamespace(base_type="regional", region="320000", domain=None,
                            organizing_unit_id="OU-1", recommending_unit_id="RU-1")
    return sections(setup, {1: "a" * 64}, [("支持函", "b" * 64)])[section]


ISO_DATES = st.dates(date(2026, 6, 1), date(2029, 6, 1)).map(date.isoformat)


@settings(max_examples=300, deadline=None)
@given(start=ISO_DATES, milestones=st.lists(ISO_DATES, max_size=4))
def test_schedules_in_and_out_of_the_construction_period_are_judged_as_marshmallow_does(start, milestones):
    """Valid fields, so that the schema's own check (milestones inside the period) decides."""
    goals = sample("goals")
    goals["schedule"] = {**goals["schedule"], "start_date": start,
                         "milestones": [{"date": day, "description": "节点"} for day in milestones]}
    loader = schemas._SECTION_LOADERS["goals"]
    assert outcome(loader.load, goals) == outcome(loader.schema.load, goals)


@settings(max_examples=200, deadline=None)
@given(numbers=st.lists(st.integers(1, 6), max_size=6))
def test_qualification_items_declared_twice_are_judged_as_marshmallow_does(numbers):
    content = {"items": [{"item": n, "declared": True, "statement": "具备", "evidence": ["a" * 64]}
                         for n in numbers]}
    loader = schemas._SECTION_LOADERS["qualifications"]
    assert outcome(loader.load, content) == outcome(loader.schema.load, content)


@pytest.mark.parametrize("section", sorted(schemas.SECTION_SCHEMAS))
def test_valid_content_of_every_section_takes_the_fast_way(section):
    content = sample(section)
    loader = schemas._SECTION_LOADERS[section]
    assert loader._load is not None
    assert loader._load(content) == loader.schema.load(content)  # no refusal: no marshmallow


def test_a_schema_with_hooks_it_does_not_follow_is_always_loaded_by_marshmallow():
    class Shouting(Schema):
        text = fields.String()

        @validates_schema(pass_original=True)
        def original_too(self, data, original, **kwargs):
            pass

    assert FastLoader(Shouting())._load is None
    assert FastLoader(Shouting()).load({"text": "a"}) == {"text": "a"}
