"""Every registered pack has the same shape: the same modules for the same roles, with the
same names, and a ``register()`` that calls its kind module's ``register()``.

- ``spec.py``: the spec model of the pack's kind;
- ``kind.py``: the run function and ``register()`` (``register_kind``, idempotent: no guard);
- ``schemas.py``: the output tables' row schemas (``TABLES``, ``json_schema``, ``export``);
- ``figures.py``: the pack's figures (matplotlib imported only when one is drawn).

No pack module is named like a core module of another role (``run.py``, ``runner.py``).
"""
from __future__ import annotations

import importlib
import importlib.util
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from synthscape.tables import declared_columns

MODULES = ("spec", "kind", "schemas", "figures")


def _packs() -> list[tuple[str, str]]:
    return sorted((ep.name, ep.value.split(":")[0])
                  for ep in entry_points(group="synthscape.domains"))


def test_the_three_packs_are_registered():
    assert [name for name, _ in _packs()] == ["autonomy", "finance", "healthcare"]


@pytest.mark.parametrize("package", [p for _, p in _packs()])
def test_a_pack_has_the_same_modules_for_the_same_roles(package):
    for module in MODULES:
        assert importlib.util.find_spec(f"{package}.{module}") is not None, \
            f"{package} has no {module}.py"
    folder = Path(importlib.util.find_spec(package).origin).parent
    assert not {"run.py", "runner.py"} & {p.name for p in folder.glob("*.py")}
    entry = dict((p, n) for n, p in _packs())[package]
    assert next(ep for ep in entry_points(group="synthscape.domains")
                if ep.name == entry).value == f"{package}:register"

    schemas = importlib.import_module(f"{package}.schemas")
    assert schemas.TABLES and callable(schemas.export)
    for table in schemas.TABLES:
        assert [c.name for c in declared_columns(schemas.json_schema(table))] == \
            list(schemas.TABLES[table])


@pytest.mark.parametrize("package", [p for _, p in _packs()])
def test_register_goes_through_the_kind_module_and_is_idempotent(package):
    from synthscape.scenarios import KINDS

    importlib.import_module(package).register()
    mine = [KINDS.get(n) for n in KINDS.names()
            if KINDS.get(n).run.__module__.startswith(f"{package}.")]
    assert len(mine) == 1, [k.name for k in mine]
    kind = mine[0]
    assert kind.run.__module__ == f"{package}.kind"
    assert kind.model.__module__ == f"{package}.spec"
    importlib.import_module(f"{package}.kind").register()  # again: no guard, no error
    importlib.import_module(package).register()
    assert KINDS.get(kind.name) is kind


def test_the_pack_modules_import_no_heavy_module():
    code = ("import sys\n"
            f"for p in {[p for _, p in _packs()]!r}:\n"
            f"    for m in {MODULES!r}:\n"
            "        __import__(f'{p}.{m}')\n"
            "print(sorted(m for m in ('torch', 'matplotlib', 'sklearn', 'opacus')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split() == ["[]"]
