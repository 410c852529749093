"""Import the built-in generators so they register. Heavy dependencies stay lazy inside each."""
import importlib

for _mod in ("independent", "gaussian_copula", "mst", "aim", "dp_ctgan", "dp_tvae", "dp_sequence"):
    importlib.import_module(f"synthscape.generators.{_mod}")
