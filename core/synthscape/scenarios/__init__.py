"""Scenarios: typed YAML specs, the registry of spec kinds, and the runner."""
# The core's own kind registers on import.
from synthscape.scenarios import tabular as _tabular  # noqa: F401,E402
from synthscape.federated.kind import register as _register_federated  # noqa: E402
from synthscape.scenarios.context import RunContext
from synthscape.scenarios.kinds import KINDS, register_kind
from synthscape.scenarios.loader import load_spec, parse_spec
from synthscape.scenarios.runner import run
from synthscape.scenarios.spec import SpecBase, StrictModel

__all__ = ["KINDS", "RunContext", "SpecBase", "StrictModel", "load_spec", "parse_spec",
           "register_kind", "run"]

_register_federated()
