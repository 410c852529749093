"""The packaged scenario catalogue: ``synthscape_autonomy/scenarios/*.yaml``, installed with the
package (the source tree's ``scenarios/autonomy`` links to the same folder).

Set ``SYNTHSCAPE_AUTONOMY_SCENARIOS`` to a folder to use another catalogue.
"""
from __future__ import annotations

import os
from pathlib import Path


def folder() -> Path:
    env = os.environ.get("SYNTHSCAPE_AUTONOMY_SCENARIOS")
    return Path(env) if env else Path(__file__).resolve().parent / "scenarios"


def path_of(scenario: str) -> Path:
    """A catalogue name (``cut_in``) or a path to a scenario file."""
    from synthscape.errors import SpecError

    p = Path(scenario)
    if p.suffix in (".yaml", ".yml"):
        if not p.exists():
            raise SpecError(f"scenario file {p} does not exist")
        return p
    q = folder() / f"{scenario}.yaml"
    if not q.exists():
        names = sorted(f.stem for f in folder().glob("*.yaml"))
        raise SpecError(f"no packaged driving scenario {scenario!r} in {folder()}; "
                        f"choose one of {names} or pass a .yaml path")
    return q


def load(scenario: str, **updates):
    from synthscape.scenarios import load_spec

    spec = load_spec(path_of(scenario))
    return spec.model_copy(update=updates) if updates else spec
