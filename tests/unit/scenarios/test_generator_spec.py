"""``generator:`` is typed per registered generator: parameters round-trip, errors carry file,
line and field, and the resolved spec shows every effective parameter."""
import inspect
from typing import ClassVar

import pytest
import yaml

from synthscape.errors import SpecError
from synthscape.generators import GENERATORS, Generator, make
from synthscape.generators._params import Interval
from synthscape.scenarios import parse_spec
from synthscape.scenarios.export_schemas import model_schemas
from synthscape.scenarios.generator_spec import SET_ELSEWHERE, params_model
from synthscape.scenarios.runner import resolved_spec
from synthscape.scenarios.tabular import TabularSpec

HEAD = """kind: tabular
name: t
seed: 4
data: {path: data.csv}
schema:
  columns: [{name: x, kind: numerical, lower: 0, upper: 1}]
privacy:
  epsilon: 2.0
  delta: 1.0e-7
generator:
"""  # the generator's keys start on line 11


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "data.csv").write_text("x\n0.5\n")
    return tmp_path


def parse(folder, generator_lines: str, head: str = HEAD):
    return parse_spec(head + generator_lines, source="s.yaml", base_dir=folder)


def error_of(folder, generator_lines: str, head: str = HEAD) -> str:
    with pytest.raises(SpecError) as info:
        parse(folder, generator_lines, head)
    return str(info.value)


def _own_params(cls) -> dict:
    """Non-default values for the generator's own parameters (small ones where it has them)."""
    return dict(getattr(cls, "_conformance_params", dict)())


@pytest.mark.parametrize("name", GENERATORS.names())
def test_valid_params_round_trip_for_every_registered_generator(folder, name):
    cls = GENERATORS.get(name)
    own = _own_params(cls)
    text = yaml.safe_dump({"type": name, **own}, sort_keys=False)
    spec = parse(folder, "".join(f"  {line}\n" for line in text.splitlines()))
    params = spec.generator.params
    assert spec.generator.type == name
    assert set(params) == set(cls.param_names() if hasattr(cls, "param_names")
                               else cls._param_names())
    for key, value in own.items():
        assert params[key] == value
    gen = make(name, **params)  # the constructor takes them as they are, and fit accepts them
    gen._validate_params()
    assert gen.seed == 4
    if cls.private:
        assert (params["epsilon"], params["delta"]) == (2.0, 1e-7)
    again = parse_spec(yaml.safe_dump(resolved_spec(spec), sort_keys=False), base_dir=folder)
    assert again.generator == spec.generator  # spec.resolved.yaml runs again as it is


def test_resolved_spec_shows_every_effective_parameter(folder):
    spec = parse(folder, "  type: dp_tvae\n  epochs: 3\n")
    shown = resolved_spec(spec)["generator"]
    sig = inspect.signature(GENERATORS.get("dp_tvae").__init__).parameters
    assert list(shown) == ["type", *[p for p in sig if p != "self"]]
    assert shown["epochs"] == 3
    assert shown["batch_size"] == sig["batch_size"].default  # a default, shown
    assert (shown["epsilon"], shown["delta"], shown["accountant"]) == (2.0, 1e-7, "rdp")
    assert shown["seed"] == 4 and shown["out_of_bounds"] == "error"
    keys = list(resolved_spec(spec))
    assert keys.index("privacy") < keys.index("generator")


def test_without_privacy_the_generators_own_epsilon_is_shown(folder):
    head = HEAD.replace("privacy:\n  epsilon: 2.0\n  delta: 1.0e-7\n", "")
    spec = parse(folder, "  type: independent\n", head)
    assert spec.generator.params["epsilon"] == inspect.signature(
        GENERATORS.get("independent").__init__).parameters["epsilon"].default


def test_out_of_bounds_follows_the_schema_unless_set(folder):
    head = HEAD.replace("  columns:", "  out_of_bounds: clip\n  columns:")
    assert parse(folder, "  type: mst\n", head).generator.params["out_of_bounds"] == "clip"
    assert parse(folder, "  type: mst\n  out_of_bounds: error\n",
                 head).generator.params["out_of_bounds"] == "error"


@pytest.mark.parametrize("lines,needles", [
    ("  type: dp_ctgan\n  epochs: ten\n",
     ["s.yaml, line 12, field 'generator.epochs'", "valid integer"]),
    ("  type: dp_ctgan\n  epochs: 2\n  batch_size: -3\n",
     ["line 13, field 'generator.batch_size'", "greater than or equal to 2"]),
    ("  type: mst\n  bins: true\n", ["line 12, field 'generator.bins'", "valid integer"]),
    ("  type: aim\n  degree: 4\n", ["line 12, field 'generator.degree'", "2 or 3"]),
    ("  type: dp_tvae\n  lr: 1.5\n", ["line 12, field 'generator.lr'", "less than or equal to 1"]),
    ("  type: mst\n  binning: quantiles\n", ["line 12, field 'generator.binning'", "'quantile'"]),
    ("  type: mst\n  bin: 8\n",
     ["line 12, field 'generator.bin'", "no parameter 'bin'", "did you mean 'bins'",
      "set in 'privacy:'"]),
    ("  type: msst\n", ["line 11, field 'generator.type'", "did you mean 'mst'"]),
    ("  bins: 8\n", ["line 10, field 'generator.type'", "missing 'type'"]),
    ("  type: mst\n  epsilon: 5.0\n",
     ["line 12, field 'generator.epsilon'", "set in privacy.epsilon", "privacy.epsilon gives 2.0"]),
    ("  type: mst\n  seed: 1\n", ["line 12, field 'generator.seed'", "top-level 'seed'"]),
    ("  type: dp_ctgan\n  accountant: prv\n",
     ["line 12, field 'generator.accountant'", "privacy.accountant"]),
])
def test_errors_name_file_line_and_field(folder, lines, needles):
    err = error_of(folder, lines)
    for needle in needles:
        assert needle in err, err


def test_several_errors_are_reported_together(folder):
    err = error_of(folder, "  type: dp_tvae\n  epochs: 0\n  depth: 99\n")
    assert "line 12, field 'generator.epochs'" in err and "line 13, field 'generator.depth'" in err


def test_a_privacy_value_the_generator_refuses_is_blamed_on_privacy(folder):
    head = HEAD.replace("  delta: 1.0e-7\n", "  delta: 1.0e-7\n  accountant: pld\n")
    err = error_of(folder, "  type: mst\n", head)
    assert "field 'generator.accountant'" in err and "comes from privacy.accountant" in err


def test_the_same_value_as_privacy_is_accepted(folder):
    spec = parse(folder, "  type: mst\n  epsilon: 2.0\n  seed: 4\n")
    assert spec.generator.params["epsilon"] == 2.0


def test_every_interval_bound_is_enforced_at_load_time():
    """The model refuses what the generator's own fit-time check refuses, at each bound."""
    for name in GENERATORS.names():
        cls = GENERATORS.get(name)
        model = params_model(name)
        rules = {**cls._common_constraints, **cls._parameter_constraints}
        for pname in model.model_fields:
            for rule in rules.get(pname, []):
                if not isinstance(rule, Interval) or pname in SET_ELSEWHERE:
                    continue
                step = 1 if rule.type is int else 1e-9
                outside = [v for v in (
                    None if rule.lo is None else rule.lo - (step if rule.closed in
                                                            ("both", "left") else 0),
                    None if rule.hi is None else rule.hi + (step if rule.closed in
                                                            ("both", "right") else 0))
                    if v is not None and not any(r.ok(v) for r in rules[pname])]
                for v in outside:
                    with pytest.raises(Exception, match=pname):
                        model.model_validate({"type": name, pname: v})


def test_the_spec_declares_privacy_before_generator():
    fields = list(TabularSpec.model_fields)
    assert fields.index("seed") < fields.index("generator")
    assert fields.index("schema_") < fields.index("privacy") < fields.index("generator")


def test_json_schema_lists_every_generators_parameters():
    schema = model_schemas()["spec_tabular.schema.json"]
    union = schema["properties"]["generator"]
    assert union["discriminator"]["propertyName"] == "type"
    assert set(union["discriminator"]["mapping"]) == set(GENERATORS.names())
    for name, ref in union["discriminator"]["mapping"].items():
        props = schema["$defs"][ref.split("/")[-1]]["properties"]
        assert set(props) == set(params_model(name).model_fields)
        assert props["type"]["const"] == name
        if "epsilon" in props:
            assert props["epsilon"]["readOnly"] is True
    mst = schema["$defs"]["MstParams"]["properties"]
    assert (mst["bins"]["minimum"], mst["bins"]["maximum"]) == (2, 1024)
    assert set(mst["binning"]["enum"]) == {"uniform", "quantile"}


class _Toy(Generator):
    """A generator registered after import, as a pack or a user would."""

    name: ClassVar[str] = "toy"
    private: ClassVar[bool] = False
    _parameter_constraints: ClassVar[dict] = {"width": [Interval(int, 1, 9)]}

    def __init__(self, *, width: int = 3, mode: str = "fast", seed: int | None = None):
        self.width, self.mode, self.seed = width, mode, seed


def test_a_generator_registered_later_gets_its_model_and_schema(folder, monkeypatch):
    monkeypatch.setitem(GENERATORS._items, "toy", _Toy)
    spec = parse(folder, "  type: toy\n  width: 5\n")
    assert spec.generator.params == {"width": 5, "mode": "fast", "seed": 4}
    assert "line 12, field 'generator.width'" in error_of(folder, "  type: toy\n  width: 10\n")
    err = error_of(folder, "  type: toy\n  mode: 2\n")
    assert "field 'generator.mode'" in err and "valid string" in err
    schema = model_schemas()["spec_tabular.schema.json"]
    assert "toy" in schema["properties"]["generator"]["discriminator"]["mapping"]
