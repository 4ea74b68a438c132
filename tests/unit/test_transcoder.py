"""The event store's transcoder decodes exactly what the library's own JSON transcoder decodes."""
import json
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, UUIDAsHex
from hypothesis import given, settings, strategies as st

from shared.eventstore import Transcoder

pytestmark = pytest.mark.unit


def transcoders():
    ours, library = Transcoder(), JSONTranscoder()
    for transcoder in (ours, library):
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
    return ours, library


OURS, LIBRARY = transcoders()
AT = datetime(2026, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=8)))


def agree(data: bytes):
    decoded = OURS.decode(data)
    assert decoded == LIBRARY.decode(data)
    return decoded


def test_typed_values_at_the_top_level_are_decoded():
    data = LIBRARY.encode({"timestamp": AT, "id": uuid.UUID(int=7), "plan": {"sections": [{"a": 1}]}})
    decoded = agree(data)
    assert decoded["timestamp"] == AT and decoded["id"] == uuid.UUID(int=7)


def test_typed_values_deeper_down_are_decoded_too():
    data = LIBRARY.encode({"timestamp": AT, "milestones": [{"due": AT, "amount": Decimal("1.50")}]})
    decoded = agree(data)
    assert decoded["milestones"][0] == {"due": AT, "amount": Decimal("1.50")}


def test_text_that_looks_like_a_typed_value_stays_text():
    for state in ({"note": "_type_", "timestamp": AT},
                  {"note": '{"_type_": "datetime_iso", "_data_": "x"}'},
                  {"_type_": "not registered here", "_data_": 1, "third": 2},
                  {"nested": {"_type_": "x"}}):
        assert agree(LIBRARY.encode(state))["note" if "note" in state else next(iter(state))] is not None


def test_what_orjson_refuses_is_decoded_by_the_library():
    assert agree(b'{"big": 123456789012345678901234567890, "x": NaN}')["big"] == 123456789012345678901234567890


def test_an_unregistered_type_is_the_library_error():
    with pytest.raises(Exception) as ours:
        OURS.decode(b'{"t": {"_type_": "nope", "_data_": 1}}')
    with pytest.raises(Exception) as library:
        LIBRARY.decode(b'{"t": {"_type_": "nope", "_data_": 1}}')
    assert type(ours.value) is type(library.value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
typed_values = st.sampled_from([AT, uuid.UUID(int=42), Decimal("3.14")])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=8), json_values | typed_values, max_size=6),
       st.lists(typed_values, max_size=3))
def test_any_state_decodes_as_the_library_decodes_it(state, deeper):
    if deeper:
        state = {**state, "deeper": {"list": deeper}}
    agree(LIBRARY.encode(state))
    agree(json.dumps(state, default=str).encode())
