"""SequenceSchema: declared parts, validation with clear errors, round trips."""
import pytest

from synthscape.errors import SchemaError
from synthscape.schema import Column, SequenceSchema, TableSchema

EVENTS = TableSchema(columns=(Column(name="kind", kind="categorical", categories=("a", "b")),
                              Column(name="amount", kind="numerical", lower=0, upper=100)))
ENTITIES = TableSchema(columns=(Column(name="segment", kind="categorical",
                                       categories=("x", "y")),))


def schema(**kw):
    base = dict(entities=ENTITIES, events=EVENTS, entity_key="id", time_key="ts", max_events=8,
                time_bounds=("2024-01-01", "2024-02-01"))
    return SequenceSchema(**{**base, **kw})


def test_round_trips_through_dict_json_and_yaml(tmp_path):
    s = schema(max_gap_seconds=86400.0)
    assert SequenceSchema.from_dict(s.to_dict()) == s
    assert SequenceSchema.from_json(s.to_json()) == s
    s.to_yaml(tmp_path / "s.yaml")
    assert SequenceSchema.from_yaml(tmp_path / "s.yaml") == s


def test_undeclared_parts_round_trip_as_missing():
    s = SequenceSchema(entity_key="id", time_key="ts", max_events=4)
    assert not s.complete and SequenceSchema.from_dict(s.to_dict()) == s
    with pytest.raises(SchemaError, match="time_bounds are not declared"):
        _ = s.start


def test_span_and_gap_limit():
    s = schema()
    assert s.span_seconds == 31 * 86400
    assert s.gap_limit_seconds == s.span_seconds
    assert schema(max_gap_seconds=3600.0).gap_limit_seconds == 3600.0


@pytest.mark.parametrize("kw,needle", [
    ({"max_events": 0}, "max_events must be >= 1"),
    ({"time_bounds": ("2024-02-01", "2024-01-01")}, "must be before end"),
    ({"time_key": "id"}, "must be different"),
    ({"events": TableSchema(columns=(Column(name="ts", kind="boolean"),))}, "must not declare"),
    ({"max_gap_seconds": -1.0}, "max_gap_seconds must be > 0"),
])
def test_invalid_schemas_say_what_is_wrong(kw, needle):
    with pytest.raises(ValueError, match=needle):
        schema(**kw)


def test_from_dict_collects_problems_with_the_source():
    with pytest.raises(SchemaError, match="in seq.yaml") as info:
        SequenceSchema.from_dict({"entity_key": "id", "max_events": "many"}, source="seq.yaml")
    assert len(info.value.problems) >= 2  # time_key missing, max_events not an int
