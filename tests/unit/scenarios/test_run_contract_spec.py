"""The run contract's models: PrivacySpec, GateSpec, and where a field of a loaded spec is."""
import math

import pytest
from pydantic import ValidationError

from synthscape.scenarios import parse_spec
from synthscape.scenarios.spec import GateSpec, PrivacySpec, privacy_specs


@pytest.mark.parametrize("kw,needle", [
    ({"epsilon": 0}, "greater than 0"),
    ({"epsilon": -1}, "greater than 0"),
    ({"epsilon": math.inf}, "epsilon must be finite"),
    ({"epsilon": math.nan}, "greater than 0"),
    ({"epsilon": 1e-9}, "too small to calibrate"),
    ({"epsilon": 1, "delta": 0}, "only supported by ledgers of Laplace and exponential events"),
    ({"epsilon": 1, "delta": -1e-6}, "delta must be a number in (0, 0.001)"),
    ({"epsilon": 1, "delta": 1e-3}, "meaningless"),
    ({"epsilon": 1, "delta": 0.5}, "meaningless"),
    ({"epsilon": 1, "delta": 1.0}, "meaningless"),
    ({"epsilon": 1, "accountant": "gdp"}, "'rdp', 'pld' or 'prv'"),
])
def test_privacy_spec_refuses(kw, needle):
    with pytest.raises(ValidationError, match=None) as err:
        PrivacySpec(**kw)
    assert needle in str(err.value)


@pytest.mark.parametrize("epsilon,warns", [(1e-4, "< 0.01"), (0.01, None), (10, None),
                                           (10.5, "> 10"), (1e9, "> 10")])
def test_privacy_spec_warns_outside_the_usual_range(epsilon, warns):
    problems = list(PrivacySpec(epsilon=epsilon).problems(("privacy",)))
    if warns is None:
        assert problems == []
    else:
        (p,) = problems
        assert p.warning and p.loc == ("privacy", "epsilon") and warns in p.message


def test_privacy_spec_accepts_a_usual_budget():
    p = PrivacySpec(epsilon=1.0, delta=1e-7, accountant="prv")
    assert (p.epsilon, p.delta, p.accountant) == (1.0, 1e-7, "prv")
    assert PrivacySpec(epsilon=2).delta == 1e-6


@pytest.mark.parametrize("kw,needle", [({}, "needs 'min', 'max' or both"),
                                       ({"min": 0.9, "max": 0.1}, "above its max")])
def test_gate_spec_refuses(kw, needle):
    with pytest.raises(ValidationError) as err:
        GateSpec(**kw)
    assert needle in str(err.value)


SPEC = """\
kind: tabular
name: t
data: {path: data.csv}
schema:
  infer: free
generator: {type: independent}
privacy:
  epsilon: 1.0
evaluation:
  target: y
  gates:
    marginals/one_way_tvd_mean: {max: 0.2}
"""


def test_a_loaded_spec_knows_its_file_and_lines():
    spec = parse_spec(SPEC, source="s.yaml")
    assert spec.source == "s.yaml"
    assert spec.where(("privacy", "epsilon")) == "s.yaml, line 8, field 'privacy.epsilon'"
    assert spec.where(("evaluation", "gates", "marginals/one_way_tvd_mean")) == \
        "s.yaml, line 12, field 'evaluation.gates.marginals/one_way_tvd_mean'"
    assert spec.where(("evaluation", "sensitive")).startswith("s.yaml, line 9")  # a default
    assert spec.gate_specs() == {"marginals/one_way_tvd_mean": GateSpec(max=0.2)}
    built = type(spec).model_validate(spec.model_dump(by_alias=True))  # not from a file
    assert built.source is None and built.where(("rows",)) == "field 'rows'"
    assert built == spec


def test_privacy_specs_finds_every_budget_with_its_path():
    spec = parse_spec(SPEC)
    assert [(loc, p.epsilon) for loc, p in privacy_specs(spec)] == [(("privacy",), 1.0)]
    fin = parse_spec("kind: transactions\nlearned: {epsilon: 2, generator: {epochs: 1}}\n")
    assert [(loc, p.epsilon) for loc, p in privacy_specs(fin)] == [(("learned", "privacy"), 2.0)]
