"""Bad scenario files are rejected with file, line and field; good ones resolve."""
import pytest

from synthscape.errors import SpecError

GOOD = """kind: driving
family: demo
parameters:
  v: {uniform: [5, 10]}
entities:
  - name: ego
    controller: ego
    position: {lane: 0, s: 0}
    speed: $v
  - name: lead
    controller: scripted
    position: {lane: 0, s: 30}
    speed: 5
story:
  acts:
    - maneuvers:
        - actor: lead
          events:
            - name: brake
              trigger: {condition_groups: [[{simulation_time: {value: 1.0}}]]}
              action: {speed: {target: 0, rate: 4}}
"""


def _error(driving, text):
    with pytest.raises(SpecError) as exc:
        driving.spec_from(text, source="scenarios/bad.yaml")
    return str(exc.value)


def test_good_file_parses(driving):
    spec = driving.spec_from(GOOD)
    assert spec.family == "demo" and spec.entities[1].name == "lead"


def test_unknown_field_names_file_line_and_field(driving):
    msg = _error(driving, GOOD.replace("    speed: 5\n", "    sped: 5\n"))
    assert "scenarios/bad.yaml" in msg and "line 13" in msg and "entities.1" in msg
    assert "sped" in msg and "unknown field" in msg


def test_undeclared_parameter_reference(driving):
    msg = _error(driving, GOOD.replace("speed: $v", "speed: $w"))
    assert "line 9" in msg and "entities.0" in msg and "$w is not declared" in msg


def test_unknown_entity_in_story(driving):
    msg = _error(driving, GOOD.replace("actor: lead", "actor: leed"))
    assert "line 17" in msg and "actor" in msg and "unknown entity 'leed'" in msg


def test_bad_distribution_and_type(driving):
    msg = _error(driving, GOOD.replace("{uniform: [5, 10]}", "{uniform: [10, 5]}"))
    assert "line 4" in msg and "parameters.v" in msg
    msg = _error(driving, GOOD.replace("lane: 0, s: 30", "lane: 0, s: thirty"))
    assert "line 12" in msg and "'$parameter' reference" in msg


def test_lane_outside_the_road(driving):
    msg = _error(driving, GOOD.replace("lane: 0, s: 30", "lane: 4, s: 30"))
    assert "lane 4" in msg and "scenarios/bad.yaml" in msg


def test_unknown_condition_type_is_named(driving):
    msg = _error(driving, GOOD.replace("simulation_time:", "simulation_tim:"))
    assert "line 20" in msg and "condition_groups" in msg and "simulation_time" in msg


def test_packaged_catalogue_parses():
    from pathlib import Path

    from synthscape.scenarios import load_spec

    files = sorted((Path(__file__).parents[3] / "scenarios" / "autonomy").glob("*.yaml"))
    assert len(files) >= 8
    for f in files:
        spec = load_spec(f)
        assert spec.kind == "driving" and spec.family == f.stem
