"""A site of a federation: it holds its records, its own secret noise and its own ledger, and
answers the coordinator's requests with DP statistics only.

Requests (one dict each, see :mod:`synthscape.federated.messages`):

- ``keys``: thresholded Gaussian key release of the listed categorical columns (Gopi et al.
  2020; the same mechanism as DP schema inference), from ``share`` of the site's budget;
- ``setup``: the united schema and the bin count; the site discretises its records (rows with a
  category the union does not hold are dropped, a record-level step) and fixes the zCDP rho that
  the rest of the protocol divides in shares;
- ``measure``: noisy counts of the listed marginals, each from ``share`` of that rho
  (Gaussian, L2 sensitivity 1 under add/remove one record: Bun and Steinke 2016, Prop. 1.6);
- ``recode``: merge bins of numerical columns (the coordinator's coarsening, public lookups);
- ``score``: AIM-style selection scores ``||M_r(D_site) - total * p_r||_1`` of candidate
  marginals against public model marginals ``p_r`` and the site's public noisy total, released
  as one Gaussian vector (each score moves by at most 1 per record: L2 sensitivity sqrt(#cands));
- ``ldp``: k-ary randomised response of every record (local DP, :mod:`.local`);
- ``nn_setup`` / ``nn_encode`` / ``nn_train``: DP-FedAvg rounds of ``dp_tvae`` (:mod:`.neural`);
- ``gan_setup`` / ``gan_encode`` / ``gan_train``: DP-FedAvg rounds of ``dp_ctgan`` (:mod:`.gan`);
- ``seq_setup`` / ``seq_train``: DP-FedAvg rounds of ``dp_sequence`` (:mod:`.sequence`; the site
  holds an events table and an entities table);
- ``secagg_keys``: the site's X25519 public key for secure aggregation (:mod:`.secagg`); with
  it configured, ``setup`` carries every site's key and ``measure`` / ``score`` answer masked
  integers with the site's share of Skellam noise;
- ``ledger``: the site's ledger as JSON (public: it is part of the release).

The site never sends a record, an exact count or an exact total.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from synthscape.errors import ParameterError
from synthscape.federated.secagg import Masker, SecureAggregation, skellam_mu
from synthscape.privacy.budget import Budget
from synthscape.privacy.events import LaplaceEvent, SkellamEvent, ThresholdGaussianEvent
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.privacy.mechanisms import gaussian_mechanism
from synthscape.privacy.noise import NoiseSource
from synthscape.schema import TableSchema
from synthscape.transforms.discretizer import Discretizer


def marginal_counts(codes: np.ndarray, sizes: list[int], clique: tuple[int, ...]) -> np.ndarray:
    """Flattened contingency table of the columns ``clique`` of integer ``codes``."""
    shape = [sizes[a] for a in clique]
    idx = np.ravel_multi_index([codes[:, a] for a in clique], shape)
    return np.bincount(idx, minlength=int(np.prod(shape))).astype(float)


class Site:
    """One data holder. ``budget`` is the per-record budget of this site's records; the ledger
    and its secret :class:`NoiseSource` never leave the site (only the ledger's JSON does).

    >>> import pandas as pd
    >>> site = Site("a", pd.DataFrame({"x": [1, 2]}), budget=Budget(epsilon=1.0))
    >>> site.ledger.epsilon
    0.0
    """

    def __init__(self, name: str, data: pd.DataFrame, *, budget: Budget,
                 accountant: str = "rdp", noise: NoiseSource | None = None,
                 entities: pd.DataFrame | None = None,
                 secure_aggregation: SecureAggregation | None = None):
        if len(data) == 0:
            raise ParameterError(f"site {name!r} has no rows; every site needs data")
        self.name = name
        self._data = data  # the records (for dp_sequence: the events table)
        self.entities = entities  # dp_sequence only: one row per entity, static columns
        noise = noise or NoiseSource.for_data(data, purpose=f"federated site {name}")
        self.ledger = PrivacyLedger(budget, accountant=accountant, noise=noise)
        self._codes: np.ndarray | None = None
        self._sizes: list[int] = []
        self._rho = 0.0
        self.secure_aggregation = secure_aggregation
        self._masker = Masker(name, secure_aggregation) if secure_aggregation else None

    # ---- dispatch ----------------------------------------------------------------------
    def handle(self, request: dict[str, Any]) -> dict[str, Any]:
        """Answer one request (a decoded message); unknown operations are refused."""
        op = request.get("op")
        handlers = {"keys": self._keys, "setup": self._setup, "measure": self._measure,
                    "score": self._score, "ledger": self._ledger, "ldp": self._ldp,
                    "nn_setup": self._neural, "nn_encode": self._neural,
                    "nn_train": self._neural,
                    "gan_setup": self._neural, "gan_encode": self._neural,
                    "gan_train": self._neural, "seq_setup": self._neural,
                    "seq_train": self._neural, "secagg_keys": self._secagg_keys,
                    "recode": self._recode}
        if op not in handlers:
            raise ParameterError(f"site {self.name!r}: unknown request {op!r}; expected one of "
                                 f"{sorted(handlers)}")
        return handlers[op](request)

    # ---- operations --------------------------------------------------------------------
    def _keys(self, req: dict[str, Any]) -> dict[str, Any]:
        columns = list(req["columns"])
        missing = [c for c in columns if c not in self._data.columns]
        if missing:
            raise ParameterError(f"site {self.name!r} has no column(s) {missing}")
        rho = self.ledger.remaining_rho(float(req["share"])) / max(len(columns), 1)
        sigma = 1.0 / math.sqrt(2 * rho)
        delta_each = self.ledger.delta * float(req.get("delta_share", 0.01)) / max(len(columns), 1)
        out: dict[str, list[str]] = {}
        for c in columns:
            self.ledger.spend(ThresholdGaussianEvent(noise_multiplier=sigma, delta=delta_each,
                                                     label=f"site {self.name}: keys of {c}"))
            counts = self._data[c].dropna().astype(str).value_counts()
            noisy = counts.to_numpy(float) + sigma * self.ledger.noise.standard_normal(len(counts))
            tau = 1.0 + sigma * float(ndtri(1 - delta_each))
            out[c] = sorted(counts.index[noisy > tau].tolist())
        return {"keys": out}

    def _secagg_keys(self, req: dict[str, Any]) -> dict[str, Any]:
        if self._masker is None:
            raise ParameterError(f"site {self.name!r} is not set up for secure aggregation")
        return {"public_key": self._masker.public_key()}

    def _setup(self, req: dict[str, Any]) -> dict[str, Any]:
        peers = req.get("peers")
        if self._masker is None and peers is not None:
            raise ParameterError(f"site {self.name!r} is not set up for secure aggregation")
        if self._masker is not None:
            if peers is None:  # this site's noise share is only safe inside a masked sum
                raise ParameterError(f"site {self.name!r} answers only under secure "
                                     f"aggregation; the coordinator must run it")
            self._masker.connect(peers)
        schema = TableSchema.from_dict(req["schema"], source="federation schema")
        missing = [n for n in schema.names if n not in self._data.columns]
        if missing:
            raise ParameterError(f"site {self.name!r} has no column(s) {missing} of the schema")
        df = self._data[schema.names]
        mask = np.ones(len(df), bool)
        for c in schema.columns:  # rows holding a category the union lacks stay at home
            if c.kind == "categorical":
                allowed = {str(v) for v in c.categories or ()}
                s = df[c.name]
                mask &= (s.astype(str).isin(allowed) | s.isna()).to_numpy()
        df = df[mask]
        for c in schema.columns:
            if c.kind == "categorical" and all(isinstance(v, str) for v in c.categories or ()):
                df = df.assign(**{c.name: df[c.name].map(lambda v: v if pd.isna(v) else str(v))})
        data = schema.validate(df, out_of_bounds="clip", source=f"site {self.name}")
        disc = Discretizer.fit(data, schema, bins=int(req["bins"]), method="uniform")
        self._codes, self._sizes = disc.encode(data), disc.sizes
        self._rho = self.ledger.remaining_rho() * (1 - 1e-6)
        return {"ok": True}

    def _recode(self, req: dict[str, Any]) -> dict[str, Any]:
        """Merge bins (public lookups from the coordinator's coarsening: post-processing of
        released marginals); nothing is released."""
        codes = self._need_setup()
        for j, lk in enumerate(req["lookup"]):
            if lk is not None:
                table = np.asarray(lk, np.int64)
                codes[:, j] = table[codes[:, j]]
                self._sizes[j] = int(table.max()) + 1
        return {"ok": True}

    def _need_setup(self) -> np.ndarray:
        if self._codes is None:
            raise ParameterError(f"site {self.name!r}: send 'setup' before measuring")
        return self._codes

    def _measure(self, req: dict[str, Any]) -> dict[str, Any]:
        codes = self._need_setup()
        sigma = 1.0 / math.sqrt(2 * float(req["share"]) * self._rho)
        if self._masker is not None and not req.get("plain"):
            cls = [tuple(int(a) for a in cl) for cl in req["cliques"]]
            return self._masked([marginal_counts(codes, self._sizes, cl) for cl in cls], sigma,
                                1.0, 1.0, str(req["message"]),
                                [f"marginal {list(cl)}" for cl in cls])
        ys = []
        for cl in req["cliques"]:
            cl = tuple(int(a) for a in cl)
            ys.append(gaussian_mechanism(
                marginal_counts(codes, self._sizes, cl), noise_multiplier=sigma,
                sensitivity=1.0, ledger=self.ledger,
                label=f"site {self.name}: marginal {list(cl)}"))
        return {"y": ys, "sigma": sigma}

    def _masked(self, values: list[np.ndarray], nm: float, l1: float, l2: float, message: str,
                labels: list[str]) -> dict[str, Any]:
        """Integer answers with this site's share of Skellam noise, masked: the site spends the
        Skellam mechanism of the whole honest noise (mu), the trust assumption of :mod:`.secagg`."""
        assert self._masker is not None and self.secure_aggregation is not None
        honest = self.secure_aggregation.honest
        mu = skellam_mu(nm, l1, l2)
        out = []
        for i, (v, label) in enumerate(zip(values, labels)):
            self.ledger.spend(SkellamEvent(mu=mu, l1=l1, l2=l2, label=(
                f"site {self.name}: {label} under secure aggregation (Skellam noise shared by "
                f"{honest} non-colluding sites)")))
            y = np.floor(np.asarray(v, float)).astype(np.int64) + \
                self.ledger.noise.skellam(mu / honest, np.shape(v))
            out.append(self._masker.mask(y, f"{message}/{i}"))
        return {"masked": out, "sd": math.sqrt(2 * mu / honest)}

    def _score(self, req: dict[str, Any]) -> dict[str, Any]:
        codes = self._need_setup()
        cliques = [tuple(int(a) for a in cl) for cl in req["cliques"]]
        total = float(req["total"])
        raw = np.array([np.abs(marginal_counts(codes, self._sizes, cl) - total * np.ravel(p)).sum()
                        for cl, p in zip(cliques, req["targets"])])
        if self._masker is not None:  # flooring keeps each score's sensitivity at 1
            nm = 1.0 / math.sqrt(2 * float(req["share"]) * self._rho)
            k = len(cliques)
            ans = self._masked([raw], nm, float(k), math.sqrt(k), str(req["message"]),
                               [f"selection scores of {k} candidates"])
            return {"masked": ans["masked"][0], "sd": ans["sd"]}
        sens = math.sqrt(len(cliques))
        nm = 1.0 / math.sqrt(2 * float(req["share"]) * self._rho)
        noisy = gaussian_mechanism(raw, noise_multiplier=nm, sensitivity=sens, ledger=self.ledger,
                                   label=f"site {self.name}: selection scores of "
                                         f"{len(cliques)} candidates")
        return {"scores": noisy, "sigma": nm * sens}

    def _ldp(self, req: dict[str, Any]) -> dict[str, Any]:
        """Local DP: each record answers every listed marginal by k-ary randomised response
        (Warner 1965; Kairouz et al. 2016) at ``epsilon / len(cliques)``, so each record's
        reports together are pure ``epsilon``-LDP by basic composition. The ledger holds that
        composition as one pure-DP event (its epsilon is then exactly the pure epsilon; the
        RDP curve of several Laplace events would not bound randomised response). The histogram
        of the randomised reports is what leaves."""
        codes = self._need_setup()
        cliques = [tuple(int(a) for a in cl) for cl in req["cliques"]]
        budget = self.ledger.budget
        if budget is None:
            raise ParameterError(f"site {self.name!r}: local DP needs a budget")
        total = budget.epsilon * (1 - 1e-9)
        eps = total / len(cliques)
        event = LaplaceEvent(epsilon=total, label=(
            f"site {self.name}: k-ary randomised response of every record on {len(cliques)} "
            f"marginals at pure epsilon {eps:.4g} each (basic composition: pure {total:.4g})"))
        if self.ledger.cost_with(event) < self.ledger.epsilon + total * (1 - 1e-9):
            raise ParameterError(f"site {self.name!r}: local DP needs the whole budget unspent")
        self.ledger.spend(event)
        out = []
        for cl in cliques:
            k = int(np.prod([self._sizes[a] for a in cl]))
            cell = np.ravel_multi_index([codes[:, a] for a in cl], [self._sizes[a] for a in cl])
            keep = self.ledger.noise.uniform(len(cell)) < math.expm1(eps) / (math.exp(eps) + k - 1)
            other = np.minimum((self.ledger.noise.uniform(len(cell)) * k).astype(np.int64), k - 1)
            out.append(np.bincount(np.where(keep, cell, other), minlength=k).astype(float))
        return {"reports": out, "epsilon": eps}

    def _neural(self, req: dict[str, Any]) -> dict[str, Any]:
        """DP-FedAvg rounds (:mod:`synthscape.federated.neural` for dp_tvae,
        :mod:`synthscape.federated.gan` for dp_ctgan: torch only when asked)."""
        from synthscape.federated import gan, neural, sequence

        return {"nn_setup": neural.site_setup, "nn_encode": neural.site_encode,
                "nn_train": neural.site_train,
                "gan_setup": gan.site_setup, "gan_encode": gan.site_encode,
                "gan_train": gan.site_train, "seq_setup": sequence.site_setup,
                "seq_train": sequence.site_train}[req["op"]](self, req)

    def _ledger(self, req: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"ledger": self.ledger.to_dict()}
        if self.secure_aggregation is not None:
            out["secure_aggregation"] = {"sites": self.secure_aggregation.sites,
                                         "colluding": self.secure_aggregation.colluding}
        return out
