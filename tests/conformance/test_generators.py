"""Every registered generator (built-in and from packs) passes the public conformance kit."""
import pytest

from synthscape.generators import list_generators
from synthscape.testing import CHECKS, check_generator


@pytest.mark.parametrize("name", list_generators())
def test_generator_conforms(name):
    from synthscape.errors import OptionalDependencyError

    try:
        passed = check_generator(name)
    except OptionalDependencyError as exc:  # e.g. aim without its extra
        pytest.skip(str(exc))
    assert passed == [c.__name__ for c in CHECKS]


def test_kit_rejects_a_bad_argument():
    from synthscape.errors import ParameterError

    with pytest.raises(ParameterError):
        check_generator(42)


def test_kit_catches_a_generator_that_ignores_conditions():
    from synthscape.generators.independent import IndependentGenerator

    class IgnoresConditions(IndependentGenerator):
        def _sample(self, n, rng, conditions):
            return super()._sample(n, rng, {})

    with pytest.raises(AssertionError, match="check_conditions"):
        check_generator(IgnoresConditions(epsilon=2.0, seed=0))


def test_kit_catches_a_constructor_that_fits():
    from synthscape.generators.independent import IndependentGenerator

    class EagerConstructor(IndependentGenerator):
        def __init__(self, epsilon=1.0, seed=None):
            super().__init__(epsilon=epsilon, seed=seed)
            self.marginals_ = []

    with pytest.raises(AssertionError, match="check_constructor_stores_only"):
        check_generator(EagerConstructor(epsilon=2.0, seed=0))
