import ast
import subprocess
import sys
from pathlib import Path

import pytest

from synthscape.errors import DuplicateNameError, UnknownNameError
from synthscape.registry import Registry

CORE = Path(__file__).resolve().parents[2] / "core" / "synthscape"
PACKS = ("synthscape_healthcare", "synthscape_finance", "synthscape_autonomy")


def test_did_you_mean_and_duplicates():
    r = Registry("widget")
    r.register("marginal", object)
    with pytest.raises(UnknownNameError, match="did you mean 'marginal'"):
        r.get("marginl")
    with pytest.raises(DuplicateNameError):
        r.register("marginal", dict)


def test_core_source_never_imports_a_pack():
    offenders = []
    for path in CORE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{path}: {n}" for n in names if n.split(".")[0] in PACKS]
    assert offenders == []


def test_core_runs_without_any_pack_loaded():
    code = ("import sys, synthscape.plugins as p; p.load_plugins = lambda **k: {}; "
            "import synthscape.registry as r; r._plugins_loaded = True; "
            "from synthscape.generators import list_generators; "
            "from synthscape.scenarios import KINDS; "
            "assert 'mst' in list_generators(), list_generators(); "
            "assert KINDS.names() == ['federated', 'tabular'], KINDS.names(); "
            f"assert not any(m in sys.modules for m in {PACKS!r})")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_packs_register_through_entry_points():
    from synthscape.plugins import load_plugins
    from synthscape.scenarios import KINDS

    status = load_plugins()
    assert {k: v for k, v in status.items() if v != "ok"} == {}
    assert {"ehr", "transactions", "driving"} <= set(KINDS.names())


def test_import_and_help_stay_light():
    code = ("import sys, synthscape, synthscape.cli; "
            "heavy = [m for m in ('torch', 'matplotlib', 'sklearn', 'jax') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
