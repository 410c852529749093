"""Scenarios: typed YAML specs, the registry of spec kinds, and the runner."""
# The core's own kinds (tabular, federated) register on import.
import sys as _sys

from synthscape.scenarios import tabular as _tabular  # noqa: F401,E402

if "synthscape.federated.spec" not in _sys.modules:  # else that module imports kind when done
    from synthscape.federated import kind as _federated  # noqa: F401
from synthscape.scenarios.context import RunContext
from synthscape.scenarios.kinds import KINDS, register_kind
from synthscape.scenarios.loader import load_spec, parse_spec
from synthscape.scenarios.runner import run
from synthscape.scenarios.spec import SpecBase, StrictModel

__all__ = ["KINDS", "RunContext", "SpecBase", "StrictModel", "load_spec", "parse_spec",
           "register_kind", "run"]
