"""Domain packs plug in through the entry-point group ``synthscape.domains``.

Each entry point names a ``register()`` callable that adds generators, scenario kinds and (for
autonomy) gymnasium ids to the core registries. The core never imports a pack by name.
"""
from __future__ import annotations

import warnings
from importlib.metadata import entry_points

GROUP = "synthscape.domains"
_loaded: dict[str, str] = {}


def load_plugins(*, strict: bool = False) -> dict[str, str]:
    """Call ``register()`` of every installed pack once; returns ``{name: status}``."""
    for ep in entry_points(group=GROUP):
        if ep.name in _loaded:
            continue
        try:
            register = ep.load()
            register()
            _loaded[ep.name] = "ok"
        except Exception as exc:  # a broken pack must not break the core
            _loaded[ep.name] = f"failed: {type(exc).__name__}: {exc}"
            if strict:
                raise
            warnings.warn(
                f"synthscape pack '{ep.name}' ({ep.value}) failed to load: {exc}",
                RuntimeWarning,
                stacklevel=2,
            )
    return dict(_loaded)
