"""The replay audit's maths and plumbing: bound, comparisons, attacker tiers, game, folders, CLI.

The suite's SYNTHSCAPE_NOISE_KEY makes DP fits reproducible, as the owner's key would: tests
that need real generators to replay exactly set it themselves; tests/privacy/ attacks the
default (no key).
"""
import json
import math

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from synthscape.errors import ParameterError, UnknownNameError
from synthscape.evaluation import Report
from synthscape.evaluation import audit_release as ar
from synthscape.evaluation.audit import bound_from_counts, clopper_pearson, epsilon_lower_bound
from synthscape.evaluation.cli import app
from synthscape.generators import make

from .conftest import SCHEMA, draw

KEY = "ab" * 32
LEDGER = {"private": True, "epsilon": 1.0, "delta": 1e-6}


def test_bound_from_counts_is_the_threshold_search_at_one_threshold():
    tpr_lo = clopper_pearson(20, 20, 0.05)[0]
    assert bound_from_counts(20, 20, 0, 20, 0.0, 0.05) == pytest.approx(
        math.log(tpr_lo / (1 - tpr_lo)))
    w, wo = np.ones(20), np.r_[np.ones(3), np.zeros(17)]  # one distinct "with" score
    assert epsilon_lower_bound(w, wo, 1e-6)[0] == pytest.approx(
        bound_from_counts(20, 20, 3, 20, 1e-6, 0.05))
    assert bound_from_counts(10, 20, 10, 20, 0.0, 0.05) == 0.0
    assert bound_from_counts(0, 0, 0, 5, 0.0, 0.05) == 0.0  # a side without trials shows nothing


def _release(arrays=None, meta=None, tables=None, files=None, public=None) -> ar.Release:
    return ar.Release(public or {"k": 1}, meta or {}, arrays or {}, tables or {}, files or {},
                      SCHEMA, dict(LEDGER))


def test_same_and_distance():
    syn = draw(200, 3)
    a = _release({"w": np.array([0.25, 0.75])}, tables={"synthetic": syn}, files={"f": "00"})
    assert ar.same(a, _release({"w": np.array([0.25, 0.75])}, tables={"synthetic": syn.copy()},
                               files={"f": "00"}))
    assert ar.distance(a, a) == 0.0
    b = _release({"w": np.array([0.25, 0.70])}, tables={"synthetic": syn}, files={"f": "00"})
    assert not ar.same(a, b) and ar.distance(a, b) == pytest.approx(0.05)
    assert not ar.same(a, _release({"w": np.array([0.25, 0.75])}, tables={"synthetic": syn},
                                   files={"f": "11"}))
    no_table = _release({"w": np.array([0.25, 0.75])})
    assert ar.distance(a, no_table) == len(SCHEMA.modelled())  # each column's TVD counts 1
    other = _release({"w": np.array([0.25, 0.75])}, tables={"synthetic": draw(200, 4)})
    assert 0 < ar.distance(a, other) < len(SCHEMA.modelled())
    assert ar._leaves({"a": {"b": [1, {"c": None}]}}) == {"/a/b/0": "1", "/a/b/1/c": "null"}


def _replayer(kind: str):
    """Replays whose release depends on len(table): in the arrays ("arrays"), only in the
    JSON beside a timing and noisy arrays ("json"), or nowhere ("noise")."""
    calls = iter(range(10**6))

    def replay(public, table, where):
        rng = np.random.default_rng(next(calls))
        n = float(len(table))
        arrays = {"n": np.array([n])} if kind == "arrays" else {"x": rng.normal(size=3)}
        meta = {"seconds": float(rng.random()), **({"rows": n} if kind == "json" else {})}
        return ar.Release(dict(public), meta, arrays, {}, {}, SCHEMA, dict(LEDGER))

    return replay


def test_attacker_tiers(tmp_path):
    d, dp = draw(10, 1), draw(11, 1)
    for kind, how in (("arrays", "exact"), ("json", "json")):
        replay = _replayer(kind)
        attacker = ar.ReplayAttacker(d, dp, replay, tmp_path)
        assert attacker.score(replay({"k": 1}, dp, tmp_path)) == (math.inf, how)
        assert attacker.score(replay({"k": 1}, d, tmp_path)) == (-math.inf, how)
    replay = _replayer("json")  # one replay cannot tell the row count from the timing
    score, how = ar.ReplayAttacker(d, dp, replay, tmp_path, replays=1).score(
        replay({"k": 1}, dp, tmp_path))
    assert how is None and math.isfinite(score)


def test_game_flags_a_reproducible_release_and_not_a_noisy_one(tmp_path):
    d, dp = draw(10, 1), draw(11, 1)
    res = ar._game("model", "fake", {"k": 1}, _replayer("arrays"), (d, dp), 40, 0.95, 0, 2)
    assert res.flagged and res.exact_replays == 40 and res.accuracy == 1.0
    assert res.epsilon_lower_bound == res.max_lower_bound > 1.0
    assert res.verdict.startswith("VIOLATION") and res.claimed_epsilon == 1.0
    assert set(res.scores) == {"inf", "-inf"} and (res.tpr, res.fpr) == (1.0, 0.0)
    json.dumps(res.to_dict())
    res = ar._game("model", "fake", {"k": 1}, _replayer("noise"), (d, dp), 40, 0.95, 0, 2)
    assert not res.flagged and res.exact_replays == res.json_matches == 0
    assert res.epsilon_lower_bound < 1.0 and res.verdict.startswith("consistent")
    res = ar._game("model", "fake", {"k": 1}, _replayer("arrays"), (d, dp), 6, 0.95, 0, 2)
    assert not res.flagged and res.verdict.startswith("INCONCLUSIVE")
    assert res.summary().startswith("INCONCLUSIVE")


def test_game_flags_a_release_without_epsilon(tmp_path):
    def replay(public, table, where):
        return ar.Release(dict(public), {}, {"x": np.zeros(1)}, {}, {}, SCHEMA,
                          {"private": False, "epsilon": None})

    res = ar._game("model", "baseline", {"k": 1}, replay, (draw(5, 1), draw(6, 1)), 2, 0.95, 0,
                   1)
    assert res.flagged and not res.private and res.claimed_epsilon is None
    assert "NOT PRIVATE" in res.verdict and res.summary().startswith("FLAGGED")


def test_the_owner_key_makes_real_fits_replayable(monkeypatch):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", KEY)
    res = ar.audit_release("independent", draw(200, 1), SCHEMA,
                           params={"epsilon": 1.0, "seed": 3})
    assert res.trials == ar.DEFAULT_TRIALS and res.exact_replays == res.trials
    assert res.flagged and "holds the owner's key" in res.verdict
    report = Report()
    res.add_to(report)
    assert report.score("release_audit/flagged") == 1.0


def test_model_folder_the_release_matches_its_table(monkeypatch, tmp_path):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", KEY)
    d = draw(150, 1)
    dp = pd.concat([d, draw(1, 9)], ignore_index=True)
    gen = make("independent", epsilon=1.0, seed=4).fit(dp, SCHEMA)
    gen.save(tmp_path / "model")
    syn = gen.sample(100, seed=4)
    res = ar.audit_model_folder(tmp_path / "model", d, dp, trials=2, synthetic=syn)
    assert res.mode == "model" and res.generator == "independent"
    assert res.release_match == "D_prime" and res.claimed_epsilon == pytest.approx(1.0, rel=1e-3)
    monkeypatch.delenv("SYNTHSCAPE_NOISE_KEY")
    res = ar.audit_model_folder(tmp_path / "model", d, dp, trials=2, synthetic=syn)
    assert res.release_match is None and res.exact_replays == 0


def _run_folder(tmp_path, generator="independent", test_fraction=0.0):
    from synthscape.scenarios.loader import load_spec
    from synthscape.scenarios.runner import run

    d = draw(150, 1)
    d.to_csv(tmp_path / "data.csv", index=False)
    SCHEMA.to_json(tmp_path / "schema.json")
    spec = {"kind": "tabular", "name": "r", "seed": 2,
            "data": {"path": "data.csv", "test_fraction": test_fraction},
            "schema": {"file": "schema.json"}, "generator": {"type": generator},
            "privacy": {"epsilon": 1.0}, "rows": 120, "evaluation": {"full": False},
            "output": str(tmp_path / "out")}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    return run(load_spec(tmp_path / "s.yaml")), d


def test_run_folder_replays_its_published_spec(monkeypatch, tmp_path):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", KEY)
    folder, d = _run_folder(tmp_path)
    (tmp_path / "schema.json").unlink()  # the recipient holds only the release
    res = ar.audit_run_folder(folder, d, trials=2)
    assert res.mode == "run" and res.generator == "independent" and res.release_match == "D"
    assert res.exact_replays == 2 and not res.flagged  # 2 trials cannot show epsilon > 1


def test_release_folder_layouts(tmp_path):
    (tmp_path / "new" / "release").mkdir(parents=True)
    (tmp_path / "new" / "release" / "spec.resolved.yaml").write_text("kind: tabular\n")
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "spec.resolved.yaml").write_text("kind: tabular\n")
    assert ar.release_folder(tmp_path / "new") == tmp_path / "new" / "release"
    assert ar.release_folder(tmp_path / "new" / "release") == tmp_path / "new" / "release"
    assert ar.release_folder(tmp_path / "old") == tmp_path / "old"
    with pytest.raises(ParameterError, match="not a run folder"):
        ar.release_folder(tmp_path)
    with pytest.raises(ParameterError, match="no model.json"):
        ar.read_model_release(tmp_path)


def test_bad_input(tmp_path):
    d = draw(30, 1)
    for kw, match in (({"trials": 1}, "trials"), ({"replays": 0}, "replays"),
                      ({"confidence": 1.0}, "confidence")):
        with pytest.raises(ParameterError, match=match):
            ar.audit_release("independent", d, SCHEMA, **kw)
    with pytest.raises(UnknownNameError, match="did you mean 'independent'"):
        ar.audit_release("independant", d, SCHEMA, trials=2)
    with pytest.raises(ParameterError, match="tabular"):
        ar._run_spec({"spec": {"kind": "finance"}}, d, tmp_path / "x")


def test_cli(monkeypatch, tmp_path):
    monkeypatch.setenv("SYNTHSCAPE_NOISE_KEY", KEY)
    d = draw(120, 1)
    d.to_csv(tmp_path / "d.csv", index=False)
    make("gaussian_copula", seed=1).fit(d, SCHEMA).save(tmp_path / "baseline")
    r = CliRunner().invoke(app, ["audit-release", str(tmp_path / "baseline"),
                                 str(tmp_path / "d.csv"), "--trials", "2", "-o",
                                 str(tmp_path / "rep"), "--canary", "age=90"])
    assert r.exit_code == 1, r.output
    assert r.output.strip().splitlines()[-1].startswith("FLAGGED: model release")
    saved = json.loads((tmp_path / "rep" / "audit.json").read_text())
    assert saved["flagged"] and (tmp_path / "rep" / "report.html").exists()
    folder, _ = _run_folder(tmp_path)
    r = CliRunner().invoke(app, ["audit-release", str(folder), str(tmp_path / "d.csv"),
                                 "--trials", "2"])
    assert r.exit_code == 0, r.output
    assert r.output.strip().startswith("INCONCLUSIVE: run release of independent")
    assert len(r.output.strip().splitlines()) == 1
    r = CliRunner().invoke(app, ["audit-release", str(folder), str(tmp_path / "d.csv"),
                                 "--synthetic", str(tmp_path / "d.csv")])
    assert r.exit_code == 2 and "goes with a saved model folder" in r.output
    r = CliRunner().invoke(app, ["audit-release", str(tmp_path), str(tmp_path / "d.csv"),
                                 "--canary", "age"])
    assert r.exit_code == 2 and "--canary expects key=value" in r.output
    assert ar.DEFAULT_TRIALS == 40  # the CLI's --trials default
