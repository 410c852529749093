"""Domain packs reach the core only through public names, exactly as an outside pack would.

A pack may not import a private core module (``synthscape.generators._training``), import a
private name from the core (``from synthscape.x import _helper``), or use a private attribute that
only the core defines (``KINDS._items``, ``cls._param_names()``). Private names a pack defines
itself (its own helpers, or the template hooks such as ``_fit`` / ``_sample`` it overrides) are
its own business. When this test fails, make what the pack needs public in the core instead.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "core" / "synthscape"
DOMAINS = ROOT / "domains"


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_core_module(module: str) -> bool:
    return module == "synthscape" or module.startswith("synthscape.")


def _defined_private_names(files) -> set[str]:
    """Private names a set of files defines: functions, classes, assignments, attributes set."""
    names: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return {n for n in names if _is_private(n)}


def private_core_uses(pack: Path, core_private: set[str], root: Path = ROOT) -> list[str]:
    """``file:line: what`` for every use of a private core name in one pack's sources."""
    files = sorted(pack.rglob("*.py"))
    own = _defined_private_names(files)
    found = []
    for path in files:
        rel = path.relative_to(root)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if _is_core_module(alias.name) and any(
                            _is_private(p) for p in alias.name.split(".")):
                        found.append(f"{rel}:{node.lineno}: import {alias.name}")
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if not _is_core_module(node.module):
                    continue
                if any(_is_private(p) for p in node.module.split(".")):
                    found.append(f"{rel}:{node.lineno}: from {node.module} import ...")
                for alias in node.names:
                    if _is_private(alias.name):
                        found.append(f"{rel}:{node.lineno}: from {node.module} import "
                                     f"{alias.name}")
            elif isinstance(node, ast.Attribute) and _is_private(node.attr):
                if node.attr in core_private and node.attr not in own:
                    found.append(f"{rel}:{node.lineno}: .{node.attr}")
    return found


def test_scanner_catches_each_kind_of_private_use(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "a.py").write_text(
        "import synthscape.generators._training\n"
        "from synthscape.generators._training import DPSGD\n"
        "from synthscape.scenarios import _helper\n"
        "from synthscape.scenarios import KINDS\n"
        "KINDS._items\n"
        "class G:\n"
        "    def _fit(self):\n"
        "        return self._own\n"
        "    _own = 1\n")
    found = private_core_uses(pack, {"_items", "_fit", "_own"}, root=tmp_path)
    assert len(found) == 4, found
    assert any("_training" in f for f in found) and any("_helper" in f for f in found)
    assert any(f.endswith(": ._items") for f in found)
    assert not any("_fit" in f or "_own" in f for f in found)  # the pack defines those


def test_packs_use_only_public_core_names():
    core_private = _defined_private_names(CORE.rglob("*.py"))
    packs = sorted(p for p in DOMAINS.iterdir() if (p / "__init__.py").exists())
    assert packs, f"no packs under {DOMAINS}"
    found = [use for pack in packs for use in private_core_uses(pack, core_private)]
    assert found == [], ("packs use private core names; make what they need public in the "
                         "core:\n  " + "\n  ".join(found))
