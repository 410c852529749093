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
