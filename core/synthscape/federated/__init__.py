"""Federated synthesis: sites that never pool their records fit one DP generator together.

Each :class:`Site` measures on its own records with its own secret noise and its own ledger;
the coordinator (:func:`fit_federated`) receives only noisy statistics, sums the sites' answers
to the same marginal and fits one graphical model. A :class:`Transport` carries the encoded
messages: :class:`InProcessTransport` here, Flower in :mod:`synthscape.federated.flower`.
"""
from synthscape.federated.coordinator import FederatedFit, fit_federated, guarantee_text
from synthscape.federated.site import Site
from synthscape.federated.transport import InProcessTransport, Transport

__all__ = ["FederatedFit", "InProcessTransport", "Site", "Transport", "fit_federated",
           "guarantee_text"]
