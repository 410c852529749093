import numpy as np
from PIL import Image

from synthscape.evaluation import figures


def _size(path):
    with Image.open(path) as im:
        return im.size


def test_each_figure_is_a_png(tmp_path, train, fresh, schema):
    rels = [figures.marginals(train, fresh, schema, tmp_path),
            figures.correlations(train, fresh, schema, tmp_path),
            figures.dcr_histogram(np.linspace(0, 1, 50), np.linspace(0, 0.5, 50), tmp_path),
            figures.roc_curves({"distance": (np.array([0, 0.5, 1]), np.array([0, 0.7, 1]), 0.6)},
                               tmp_path)]
    assert rels == ["figures/marginals.png", "figures/correlations.png", "figures/dcr.png",
                    "figures/mia_roc.png"]
    for rel in rels:
        w, h = _size(tmp_path / rel)
        assert w > 300 and h > 200


def test_same_input_same_bytes(tmp_path, train, fresh, schema):
    a = (tmp_path / "a")
    b = (tmp_path / "b")
    figures.marginals(train, fresh, schema, a)
    figures.marginals(train, fresh, schema, b)
    assert (a / "figures/marginals.png").read_bytes() == (b / "figures/marginals.png").read_bytes()


def test_associations(train, schema):
    names, r, s = figures.associations(train, train, schema)
    assert names == ["age", "income", "sex", "region", "smoker", "y"]
    assert np.allclose(r, s) and np.allclose(np.diag(r), 1.0)
    assert r[0, 1] > 0.5  # age and income are correlated by construction
