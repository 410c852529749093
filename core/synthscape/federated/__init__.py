"""Federated synthesis: sites that never pool their records fit one DP generator together.

Each :class:`Site` measures on its own records with its own secret noise and its own ledger;
the coordinator (:func:`fit_federated`) receives only noisy statistics, sums the sites' answers
to the same marginal and fits one graphical model. A :class:`Transport` carries the encoded
messages: :class:`InProcessTransport` here, Flower in :mod:`synthscape.federated.flower`.
``kind: federated`` (:mod:`synthscape.federated.spec`) runs it from YAML.

Names load lazily, so registering the scenario kind imports no generator.
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_NAMES = {
    "FederatedFit": "coordinator", "fit_federated": "coordinator",
    "guarantee_text": "coordinator", "Site": "site", "InProcessTransport": "transport",
    "Transport": "transport", "fit_local_dp": "local", "fit_neural": "neural",
    "fit_gan": "gan", "fit_sequence": "sequence",
}

__all__ = sorted(_NAMES)


def __getattr__(name: str) -> Any:
    if name not in _NAMES:
        raise AttributeError(f"module 'synthscape.federated' has no attribute {name!r}")
    return getattr(import_module(f"synthscape.federated.{_NAMES[name]}"), name)
