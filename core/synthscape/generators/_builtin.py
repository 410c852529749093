"""Import the built-in generators so they register. Heavy dependencies stay lazy inside each."""
import importlib

for _mod in ("independent", "gaussian_copula", "mst", "aim", "dp_ctgan", "dp_tvae"):
    try:
        importlib.import_module(f"synthscape.generators.{_mod}")
    except ModuleNotFoundError as exc:  # a module not written yet must not break the package
        if exc.name != f"synthscape.generators.{_mod}":
            raise
