from __future__ import annotations

from pathlib import Path

import pytest

from synthscape.errors import SpecError
from synthscape.scenarios import KINDS, load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[3]
SCENARIOS = sorted((ROOT / "scenarios" / "healthcare").glob("*.yaml"))

MINIMAL = """kind: ehr
name: t
cohort:
  max_events: 16
privacy:
  epsilon: 1.0
"""


def test_register_is_cheap_idempotent_and_adds_the_kind():
    import sys

    import synthscape_healthcare

    synthscape_healthcare.register()
    synthscape_healthcare.register()
    assert "ehr" in KINDS
    import subprocess

    code = ("import sys, synthscape_healthcare as h; h.register(); "
            "print('torch' in sys.modules, 'simple_icd_10_cm' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]


def test_packaged_scenarios_parse():
    assert len(SCENARIOS) == 3
    for path in SCENARIOS:
        spec = load_spec(path)
        assert spec.kind == "ehr" and spec.privacy.epsilon > 0


def test_minimal_spec_and_defaults():
    spec = parse_spec(MINIMAL)
    assert spec.data.source == "nafld" and spec.generator.hierarchy == "flat"
    assert spec.cohort.label.type == "death" and spec.rows == 5000
    from synthscape_healthcare.spec import generator_params

    params = generator_params(spec)  # the NAFLD declaration fills what is left null
    assert "condition:I50.9" in params["vocabulary"] and params["max_events"] == 16
    assert params["units"]["lab:sbp"] == "mmHg" and params["hierarchy"] == "flat"
    assert params["anchor"] == spec.data.index_date == "2005-01-01"  # NAFLD's day 0


@pytest.mark.parametrize("extra, where", [
    ("rows: 10\ngenerater: {}\n", "line 8, field 'generater'"),
    ("data: {source: synthea}\n", "field 'data'"),
    ("augment: {condition: I21, prevalence: 1.5}\n", "field 'augment.prevalence'"),
])
def test_spec_errors_name_line_and_field(extra, where):
    with pytest.raises(SpecError, match=where.replace(".", r"\.")):
        parse_spec(MINIMAL + extra, source="t.yaml")


def test_label_and_source_checks():
    with pytest.raises(SpecError, match="label.code is required"):
        parse_spec(MINIMAL.replace("max_events: 16", "max_events: 16\n  label: "
                                                      "{type: progression}"))
    with pytest.raises(SpecError, match="'path'"):
        parse_spec(MINIMAL + "data: {source: omop}\n")


def test_the_anchor_is_checked_against_the_time_bounds():
    bounds = "max_events: 16\n  time_bounds: ['2000-01-01', '2010-01-01']\n"
    spec = parse_spec(MINIMAL.replace("max_events: 16\n", bounds + "  anchor: '2004-06-01'\n"))
    assert spec.cohort.anchor == "2004-06-01"
    with pytest.raises(SpecError, match="cohort.*anchor: 2012-01-01 lies outside time_bounds"):
        parse_spec(MINIMAL.replace("max_events: 16\n", bounds + "  anchor: '2012-01-01'\n"),
                   source="t.yaml")
