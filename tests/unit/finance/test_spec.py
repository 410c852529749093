import textwrap
from pathlib import Path

import pytest

import synthscape_finance
from synthscape.errors import SpecError
from synthscape.scenarios import load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True, scope="module")
def _registered():
    synthscape_finance.register()


def _parse(body: str):
    return parse_spec(textwrap.dedent(body), source="bad.yaml")


def test_negative_rate_is_rejected_with_file_line_and_field():
    with pytest.raises(SpecError) as e:
        _parse("""\
            kind: transactions
            typologies:
              card_testing: {rate: 0.01}
              fan_in:
                rate: -0.2
            """)
    msg = str(e.value)
    assert "bad.yaml, line 5, field 'typologies.fan_in.rate'" in msg
    assert "greater than or equal to 0" in msg


def test_unknown_typology_is_rejected_on_its_line():
    with pytest.raises(SpecError) as e:
        _parse("""\
            kind: transactions
            typologies:
              card_testing: {rate: 0.01}
              fan_inn: {rate: 0.01}
            """)
    assert "bad.yaml, line 4, field 'typologies.fan_inn': unknown field" in str(e.value)


def test_rates_summing_past_one_are_rejected():
    with pytest.raises(SpecError) as e:
        _parse("""\
            kind: transactions
            typologies:
              card_testing: {rate: 0.6}
              cycle: {rate: 0.5}
            """)
    msg = str(e.value)
    assert "bad.yaml, line 2, field 'typologies'" in msg
    assert "sum to 1.1" in msg and "card_testing=0.6" in msg and "cycle=0.5" in msg


def test_inverted_range_and_late_shock_are_rejected():
    with pytest.raises(SpecError, match=r"line 3, field 'typologies.cnp_burst'.*low <= high"):
        _parse("""\
            kind: transactions
            typologies:
              cnp_burst: {rate: 0.01, size: [9, 3]}
            """)
    with pytest.raises(SpecError, match="past the last day"):
        _parse("""\
            kind: transactions
            population: {days: 10}
            shocks: [{start_day: 12, end_day: 20}]
            """)


@pytest.mark.parametrize("name", ["retail_card_fraud", "aml_network", "card_fraud_learned"])
def test_packaged_scenarios_validate(name):
    spec = load_spec(ROOT / "scenarios" / "finance" / f"{name}.yaml")
    assert spec.kind == "transactions" and spec.name == name


def test_unknown_learned_generator_parameter_is_rejected_on_its_line():
    with pytest.raises(SpecError, match=r"line 3, field 'learned.generator'.*did you mean "
                                        r"'epochs'"):
        _parse("""\
            kind: transactions
            learned:
              generator: {epoch: 2}
            """)


def test_learned_budget_and_real_source():
    spec = _parse("""\
        kind: transactions
        learned: {epsilon: 2.0, delta: 1.0e-7}
        """)
    assert spec.learned.epsilon == 2.0 and spec.learned.delta == 1e-7
    assert spec.reads_real_data() is False
    real = _parse("""\
        kind: transactions
        learned:
          data: {transactions: tx.csv, customers: c.csv}
          time_bounds: ["2025-01-01", "2025-02-01"]
        """)
    assert real.reads_real_data() is True
    with pytest.raises(SpecError, match=r"line 4, field 'learned.time_bounds'.*before end"):
        _parse("""\
            kind: transactions
            learned:
              data: {transactions: tx.csv, customers: c.csv}
              time_bounds: ["2025-02-01", "2025-01-01"]
            """)


def test_a_real_source_is_checked_before_anything_runs():
    from synthscape.scenarios.validate import check_spec

    spec = _parse("""\
        kind: transactions
        learned:
          data: {transactions: missing.csv, customers: c.csv}
        """)
    with pytest.raises(SpecError) as e:
        check_spec(spec)
    msg = str(e.value)
    assert "field 'learned.data.transactions': transactions file missing.csv does not exist" \
        in msg
    assert "field 'learned.time_bounds': a real log needs its public time range" in msg


def test_bad_start_date_is_rejected():
    with pytest.raises(SpecError, match=r"line 2, field 'population.start'.*2025-01-06"):
        _parse("""\
            kind: transactions
            population: {start: "March 3rd"}
            """)
