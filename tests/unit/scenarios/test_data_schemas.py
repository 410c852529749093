from pathlib import Path

import pytest

from synthscape.scenarios.export_schemas import model_schemas, render

FOLDER = Path(__file__).resolve().parents[3] / "data_schemas"


@pytest.mark.parametrize("name", sorted(model_schemas()))
def test_committed_json_schema_matches_the_model(name):
    path = FOLDER / name
    assert path.exists(), f"{path} missing: run `make schemas`"
    assert path.read_text() == render(model_schemas()[name]), f"{path} is stale: run `make schemas`"
