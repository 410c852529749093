"""Every registered sequence generator passes the sequence conformance kit, and the kit catches
the defects it is there for."""
import pytest

from synthscape.generators import SEQUENCE_GENERATORS
from synthscape.testing import (
    MULTITABLE_CHECKS,
    SEQUENCE_CHECKS,
    check_sequence_generator,
    sequence_conformance_data,
)

SCHEMA = sequence_conformance_data()[2]


def _factory(name):
    cls = SEQUENCE_GENERATORS.get(name)
    params = {**cls._conformance_params(), "epsilon": 2.0, "seed": 3, "schema": SCHEMA}
    return lambda: cls(**params)


@pytest.mark.parametrize("name", SEQUENCE_GENERATORS.names())
def test_sequence_generator_conforms(name):
    pytest.importorskip("torch")
    passed = check_sequence_generator(_factory(name))
    assert passed == [c.__name__ for c in MULTITABLE_CHECKS] + [c.__name__
                                                                for c in SEQUENCE_CHECKS]


def test_kit_catches_a_generator_that_ignores_event_conditions():
    pytest.importorskip("torch")
    from synthscape.generators.dp_sequence import DPSequenceGenerator

    class IgnoresEvents(DPSequenceGenerator):
        def sample(self, n_entities, conditions=None, seed=None):
            conditions = {k: v for k, v in (conditions or {}).items() if k != "events"}
            return super().sample(n_entities, conditions=conditions, seed=seed)

    from synthscape._testing_sequence import _Kit, check_event_condition

    params = {**DPSequenceGenerator._conformance_params(), "epsilon": 2.0, "seed": 3,
              "schema": SCHEMA}
    events, entities, schema = sequence_conformance_data()
    kit = _Kit(lambda: IgnoresEvents(**params), events, entities, schema, n=30)
    with pytest.raises(AssertionError, match="some entity has no such event"):
        check_event_condition(kit)


def test_kit_catches_sequences_of_the_wrong_length():
    """Without the released length histogram the barely trained network of the kit's
    parameters ends its sequences at the wrong place."""
    pytest.importorskip("torch")
    from synthscape._testing_sequence import _Kit, check_event_counts_follow_the_data
    from synthscape.generators.dp_sequence import DPSequenceGenerator

    params = {**DPSequenceGenerator._conformance_params(), "epsilon": 2.0, "seed": 3,
              "schema": SCHEMA, "length_share": None}
    events, entities, schema = sequence_conformance_data()
    kit = _Kit(lambda: DPSequenceGenerator(**params), events, entities, schema, n=30)
    with pytest.raises(AssertionError, match="events per entity: KS"):
        check_event_counts_follow_the_data(kit)


def test_kit_rejects_a_bad_argument():
    from synthscape.errors import ParameterError

    with pytest.raises(ParameterError):
        check_sequence_generator(42)
