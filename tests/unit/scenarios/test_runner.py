"""The runner's part of the run contract: checks before the kind runs, gates after it, atomic
folders that leave nothing on failure or interrupt."""
import json
import os
from typing import Literal

import pytest

from synthscape.errors import OutputExistsError, ParameterError, SpecError
from synthscape.io import atomic_folder
from synthscape.scenarios import SpecBase, StrictModel, register_kind, run
from synthscape.scenarios.kinds import KINDS
from synthscape.scenarios.spec import GateSpec, Problem


class Evaluation(StrictModel):
    gates: dict[str, GateSpec] = {}


class GatedSpec(SpecBase):
    """A simulator whose evaluation has one section with one score."""

    kind: Literal["scratch_gated"] = "scratch_gated"
    score: float = 0.5
    evaluation: Evaluation = Evaluation()

    def declared_metrics(self):
        return {"toy/score": None, "toy/later": "computed only on Tuesdays"}

    def problems(self):
        if self.score < 0:
            yield Problem(("score",), "score must be >= 0")


CALLS: list[str] = []


def run_gated(spec, ctx) -> None:
    CALLS.append(spec.name)
    ctx.internal_report.add_section("toy", scores={"score": spec.score})


@pytest.fixture(autouse=True)
def gated_kind():
    register_kind("scratch_gated", GatedSpec, run_gated, reads_real_data=False)
    CALLS.clear()
    yield
    KINDS._items.pop("scratch_gated", None)


def test_the_runner_applies_the_spec_gates_for_any_kind(tmp_path):
    spec = GatedSpec(name="a", evaluation={"gates": {"toy/score": {"min": 0.4, "max": 0.6}}})
    folder = run(spec, output=tmp_path)
    assert json.loads((folder / "manifest.json").read_text())["gates"] == {"toy/score": True}
    spec = GatedSpec(name="b", evaluation={"gates": {"toy/score": {"min": 0.9}}})
    from synthscape.scenarios.runner import failed_gates

    assert failed_gates(run(spec, output=tmp_path)) == ["toy/score"]


@pytest.mark.parametrize("spec,needle", [
    (GatedSpec(name="c", evaluation={"gates": {"toy/scor": {"min": 0}}}),
     "unknown metric 'toy/scor'; did you mean 'toy/score'?"),
    (GatedSpec(name="c", evaluation={"gates": {"toy/later": {"min": 0}}}),
     "is not computed by this run: computed only on Tuesdays"),
    (GatedSpec(name="c", score=-1), "field 'score': score must be >= 0"),
])
def test_checks_run_before_the_kind(tmp_path, spec, needle):
    with pytest.raises(SpecError, match="invalid scenario") as err:
        run(spec, output=tmp_path)
    assert needle in str(err.value)
    assert CALLS == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("exc", [RuntimeError, KeyboardInterrupt, SystemExit])
def test_atomic_folder_leaves_nothing_on_failure_or_interrupt(tmp_path, exc):
    with pytest.raises(exc):
        with atomic_folder(tmp_path / "run") as tmp:
            (tmp / "half.txt").write_text("x")
            raise exc
    assert list(tmp_path.iterdir()) == []


def test_atomic_folder_keeps_the_old_folder_until_the_new_one_is_complete(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "old.txt").write_text("old")
    with pytest.raises(OutputExistsError, match="--overwrite"):
        with atomic_folder(tmp_path / "run"):
            pass
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(tmp_path / "run", overwrite=True) as tmp:
            (tmp / "new.txt").write_text("new")
            raise KeyboardInterrupt
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["old.txt"]
    with atomic_folder(tmp_path / "run", overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert [p.name for p in tmp_path.iterdir()] == ["run"]
    assert [p.name for p in (tmp_path / "run").iterdir()] == ["new.txt"]


def test_atomic_folder_follows_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        with atomic_folder(tmp_path / "run"):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / "run").stat().st_mode & 0o777 == 0o750


def test_an_output_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(ParameterError, match="is a file"):
        run(GatedSpec(name="d"), output=tmp_path / "out")
    with pytest.raises(ParameterError, match="is a file"):
        run(GatedSpec(name="d"), output=tmp_path / "out" / "deeper")
    assert CALLS == []


def test_no_folder_is_committed_after_an_interrupt_was_requested(tmp_path, monkeypatch):
    """A KeyboardInterrupt raised by a signal handler inside a finalizer is only printed; the
    request it leaves still stops the rename into place."""
    import synthscape.io as io

    monkeypatch.setitem(io._INTERRUPT, "requested", False)
    io.request_interrupt()
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(tmp_path / "run") as tmp:
            (tmp / "done.txt").write_text("complete, but interrupted")
    assert list(tmp_path.iterdir()) == []
