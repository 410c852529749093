import json
import math

import numpy as np
import pandas as pd
import pytest

from synthscape.evaluation import Report


def _report() -> Report:
    r = Report("t")
    r.add_section("fidelity", title="Fidelity", scores={"q": np.float64(0.9), "nan": math.nan,
                                                       "inf": math.inf, "col": "age"},
                  tables={"t": pd.DataFrame({"a": [1, 2]})}, notes=["a note"])
    r.meta["privacy"] = "NOT PRIVATE: epsilon = inf (baseline)"
    r.meta["rows"] = {"synthetic": 2}
    return r


def test_gates_pass_fail_and_missing():
    r = _report()
    assert r.add_gate("fidelity/q", 0.8, "min").passed
    assert not r.add_gate("fidelity/q", 0.5, "max").passed
    missing = r.add_gate("utility/tstr", 0.5)
    assert missing.value is None and not missing.passed
    assert r.add_gate("fidelity/col", 0.5).value is None  # text scores cannot pass a gate
    assert not r.passed
    with pytest.raises(ValueError, match="direction"):
        r.add_gate("fidelity/q", 1, "above")


def test_json_is_clean_and_complete(tmp_path):
    r = _report()
    r.add_gate("fidelity/q", 0.95)
    r.write(tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["sections"]["fidelity"]["scores"] == {"q": 0.9, "nan": None, "inf": "inf",
                                                      "col": "age"}
    assert data["gates"][0]["passed"] is False and data["passed"] is False
    assert data["sections"]["fidelity"]["tables"]["t"] == [{"a": 1}, {"a": 2}]


def test_html_shows_failures_and_privacy(tmp_path):
    r = _report()
    r.add_gate("fidelity/q", 0.95)
    r.section("fidelity").figures.append("figures/absent.png")
    html = r.to_html(tmp_path)
    assert "FAILED" in html and "class='privacy bad'" in html
    assert "NOT PRIVATE" in html and "a note" in html
    assert "(figure figures/absent.png missing)" in html
    assert "<a href='#fidelity'>Fidelity</a>" in html


def test_notice_comes_first_and_shows_as_a_banner(tmp_path):
    r = _report()
    r.notice = "NOT COVERED BY THE PRIVACY GUARANTEE: statistics of the real data"
    r.add_gate("fidelity/q", 0.5)
    r.write(tmp_path)
    text = (tmp_path / "report.json").read_text()
    assert list(json.loads(text))[0] == "notice"
    html = (tmp_path / "report.html").read_text()
    assert html.index("class='notice'") < html.index("<h1>")


def test_gates_can_be_kept_out_of_the_files(tmp_path):
    r = Report("release", show_gates=False)
    r.add_section("s", scores={"x": 1.0})
    g = r.add_gate("s/x", 2.0)
    assert not g.passed and r.gates == [g]  # evaluated and kept in memory
    r.write(tmp_path)
    data = json.loads((tmp_path / "report.json").read_text())
    assert "gates" not in data and "passed" not in data
    html = (tmp_path / "report.html").read_text()
    assert "Gates" not in html and "FAILED" not in html
