"""The age and sex of each ontology subgroup's patients, released under DP, so that patients
sampled with ``conditions={"condition": "I50"}`` follow the real carriers' demographics and not
the whole cohort's.

Why it is needed: ``dp_sequence`` meets an event condition by rejection over whole sequences
drawn from the model (nothing is injected), so conditioned patients are exactly the model's
carriers. At epsilon 1 the event stream depends little on the patient's birth year and sex, so
the model's carriers have nearly the cohort's ages (TVD 0.25-0.39 to the real subgroup on the
NAFLD cohort). The fix releases the missing dependence directly.

Subgroups: every vocabulary key of a clinical table (:data:`CLINICAL`) and every ontology
ancestor of one at the modelled levels (ICD-10-CM chapter, block, category; the SNOMED CT
semantic tag), each identified by the set of vocabulary keys under it (public: the vocabulary is
declared or already released); nodes with the same key set are one subgroup.

Release (Gaussian mechanism, one event in the ledger): each patient's vector
``x = (W0, W1 * a, W2 * a^2, W3 * m)``, with ``a`` the birth year scaled to [-1, 1] by the
declared ``birth_years`` and ``m`` 1 for sex "M", has L2 norm <= 1 (the squared weights sum to 1).
A patient is counted in at most ``bound`` subgroups (those with the smallest keyed hashes when
more: a per-patient step), so the (subgroups x 4) matrix of sums has L2 sensitivity
``sqrt(min(bound, subgroups))``; noise of std ``sigma * sqrt(min(bound, subgroups))`` is added
to every entry.

Sampling (post-processing): a pool of the model's carriers is drawn; the target mean and variance
of ``a`` and the male share start at the pool's and move toward each released subgroup above or
equal to the condition's, from the most general (a chapter) to the condition itself, by the
part of the difference that the release's noise does not explain (``max(0, 1 - 4 s^2 / d^2)``,
nothing under two noise stds: a rare code borrows its parents' demographics). Carriers are
then accepted with probability proportional to ``exp(theta . (a, a^2, m))``, ``theta``
solved so that the pool's tilted moments meet the target: the distribution closest in KL to
the model's carriers with those moments, so age and sex keep the model's shape and their joint
with the rest of the record.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from synthscape.errors import ParameterError
from synthscape.privacy import PrivacyLedger
from synthscape.privacy.events import GaussianEvent
from synthscape.random import row_uniforms
from synthscape_healthcare.ontology import Ontology
from synthscape_healthcare.sequences import EHRSequences
from synthscape_healthcare.vocabulary import ancestor_path, keys, path_levels

CLINICAL = ("condition", "procedure", "medication", "allergy", "careplan", "immunization")
# count, scaled birth year, its square, male
WEIGHTS = (math.sqrt(0.25), math.sqrt(0.35), math.sqrt(0.2), math.sqrt(0.2))
SHRINK = 4.0  # a step moves only where the difference passes 2 noise stds, and partly
MIN_VARIANCE = 0.1  # of the model's carriers' birth-year variance, the least a target keeps
TOP_SHARE = 0.01  # the largest tilted weights are capped at this upper quantile
MAX_ROUNDS = 20


@dataclass
class SubgroupRelease:
    """The released sums (``stats``: subgroups x 3, noisy) and what reading them needs."""

    keys: list[list[str]]  # vocabulary keys of each subgroup
    names: list[str]  # one ontology node naming each subgroup (for people)
    stats: np.ndarray
    std: float  # noise std of every entry of ``stats``
    center: float  # birth year mapped to a = 0
    half: float  # years mapped to a = 1

    def to_meta(self) -> dict:
        return {"keys": self.keys, "names": self.names, "std": self.std,
                "center": self.center, "half": self.half}

    @classmethod
    def from_meta(cls, meta: dict, stats: np.ndarray) -> SubgroupRelease:
        return cls(meta["keys"], meta["names"], np.asarray(stats, float), float(meta["std"]),
                   float(meta["center"]), float(meta["half"]))

    def estimates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per subgroup: the noisy count, the (mean of a, variance of a, male share) and their
        stds (delta method); a count below two noise stds gives infinite stds."""
        n = self.stats[:, 0] / WEIGHTS[0]
        ok = n > 2 * self.std / WEIGHTS[0]
        safe = np.where(ok, n, 1.0)
        raw = [self.stats[:, j] / WEIGHTS[j] / safe for j in (1, 2, 3)]
        a, a2, m = np.clip(raw[0], -1, 1), np.clip(raw[1], 0, 1), np.clip(raw[2], 0, 1)
        s = [self.std / safe * np.sqrt(1 / WEIGHTS[j] ** 2 + v ** 2 / WEIGHTS[0] ** 2)
             for j, v in ((1, a), (2, a2), (3, m))]
        var = np.clip(a2 - a ** 2, 1e-4, 1.0)
        s_var = np.sqrt(s[1] ** 2 + (2 * a * s[0]) ** 2)
        std = np.c_[s[0], s_var, s[2]]
        return n, np.c_[a, var, m], np.where(ok[:, None], std, np.inf)

    def features(self, patients: pd.DataFrame) -> np.ndarray:
        """(patients, 3): scaled birth year, its square, male indicator."""
        a = np.clip((patients.birth_year.to_numpy(float) - self.center) / self.half, -1, 1)
        return np.c_[a, a ** 2, (patients.sex.astype(str) == "M").to_numpy(float)]

    def moments(self, patients: pd.DataFrame) -> np.ndarray:
        """(mean of a, variance of a, male share) of ``patients``."""
        f = self.features(patients)
        return np.array([f[:, 0].mean(), f[:, 0].var(), f[:, 2].mean()])


def subgroups(vocabulary: list[str], ontology: Ontology | None
              ) -> tuple[list[list[str]], list[str]]:
    """The subgroups of a vocabulary: their key lists (sorted) and a node naming each."""
    levels = path_levels(ontology)
    under: dict[str, set[str]] = {}
    for k in vocabulary:
        table = k.split(":", 1)[0]
        if table not in CLINICAL:
            continue
        under.setdefault(k, set()).add(k)
        for node in ancestor_path(k, ontology, levels):
            if node.split(":", 1)[1] != table:  # codes outside the ontology have no ancestors
                under.setdefault(node, set()).add(k)
    # a subgroup is named by its deepest node: the code, else category, block, chapter
    depth = {level: i + 1 for i, level in enumerate(reversed(levels))}
    named: dict[tuple[str, ...], str] = {}
    for node in sorted(under, key=lambda x: (len(under[x]), depth.get(x.split(":", 1)[0], 0),
                                             x)):
        named.setdefault(tuple(sorted(under[node])), node)
    return [list(k) for k in named], list(named.values())


def subgroup_sums(data: EHRSequences, groups: list[list[str]], *, bound: int,
                  center: float, half: float, seed: int | None) -> np.ndarray:
    """The exact (subgroups x 4) sums of the weighted patient vectors (module docstring)."""
    member = pd.DataFrame([(k, g) for g, ks in enumerate(groups) for k in ks],
                          columns=["key", "g"])
    e = data.events
    held = pd.DataFrame({"patient_id": e.patient_id.astype(str).to_numpy(),
                         "key": keys(e).to_numpy()}).drop_duplicates()
    pairs = held.merge(member, on="key")[["patient_id", "g"]].drop_duplicates()
    pairs = pairs.assign(u=row_uniforms(pairs, seed, "subgroups")).sort_values(
        ["patient_id", "u"], kind="stable")
    pairs = pairs[pairs.groupby("patient_id").cumcount() < bound]
    p = data.patients.set_index(data.patients.patient_id.astype(str))
    p = p.loc[p.index.isin(set(pairs.patient_id))]
    a = np.clip((p.birth_year.to_numpy(float) - center) / half, -1.0, 1.0)
    x = pd.DataFrame(np.c_[np.full(len(p), WEIGHTS[0]), WEIGHTS[1] * a, WEIGHTS[2] * a ** 2,
                           WEIGHTS[3] * (p.sex.astype(str) == "M").to_numpy(float)],
                     index=p.index)
    rows = x.reindex(pairs.patient_id.to_numpy()).to_numpy()
    out = np.zeros((len(groups), 4))
    np.add.at(out, pairs.g.to_numpy(), rows)
    return out


def release_subgroups(data: EHRSequences, vocabulary: list[str], ontology: Ontology | None, *,
                      ledger: PrivacyLedger, share: float, bound: int,
                      birth_years: tuple[float, float], seed: int | None
                      ) -> SubgroupRelease | None:
    """The DP release of :func:`subgroup_sums` from ``share`` of the ledger's remaining zCDP
    budget (exact sums on a non-private ledger); ``None`` when the vocabulary has no clinical
    key."""
    if bound < 1:
        raise ParameterError(f"subgroup_bound must be >= 1, got {bound}")
    groups, names = subgroups(vocabulary, ontology)
    if not groups:
        return None
    lo, hi = (float(b) for b in birth_years)
    center, half = (lo + hi) / 2, (hi - lo) / 2
    sums = subgroup_sums(data, groups, bound=bound, center=center, half=half, seed=seed)
    std = 0.0
    if ledger.budget is not None:
        sens = math.sqrt(min(bound, len(groups)))
        sigma = 1.0 / math.sqrt(2.0 * ledger.remaining_rho(share))
        ledger.spend(GaussianEvent(
            noise_multiplier=sigma, label=f"subgroup age and sex ({len(groups)} subgroups, "
                                          f"L2 sensitivity sqrt({min(bound, len(groups))}))"))
        std = sigma * sens
        sums = sums + std * ledger.noise.standard_normal(sums.shape)
    return SubgroupRelease(groups, names, sums, std, center, half)


def target(release: SubgroupRelease, wanted: set[str], start: np.ndarray) -> np.ndarray | None:
    """The target (mean of a, mean of a^2, male share) of carriers of ``wanted``: ``start``
    (the model's carriers' mean of a, variance of a, male share) moved toward every released
    subgroup holding all of ``wanted``, general first; ``None`` when no subgroup holds them."""
    chain = [g for g, ks in enumerate(release.keys) if wanted <= set(ks)]
    if not chain:
        return None
    _, est, std = release.estimates()
    t = np.asarray(start, float).copy()
    for g in sorted(chain, key=lambda g: -len(release.keys[g])):
        for j in range(3):
            d = est[g, j] - t[j]
            if d != 0 and np.isfinite(std[g, j]):
                t[j] += max(0.0, 1.0 - SHRINK * (std[g, j] / d) ** 2) * d
    var = max(t[1], MIN_VARIANCE * float(start[1]))  # no collapse onto a few patients
    return np.array([t[0], var + t[0] ** 2, t[2]])


def tilt(features: np.ndarray, goal: np.ndarray) -> np.ndarray:
    """``theta`` with ``sum(w * features) / sum(w) = goal``, ``w = exp(features @ theta)``; a
    goal outside what the pool can reach is moved just inside; a constant feature gets 0."""
    from scipy.optimize import minimize
    from scipy.special import logsumexp

    theta = np.zeros(features.shape[1])
    live = features.max(axis=0) - features.min(axis=0) > 1e-9
    if not live.any():
        return theta
    f = features[:, live]
    lo, hi = f.min(axis=0), f.max(axis=0)
    g = np.clip(goal[live], lo + 0.02 * (hi - lo), hi - 0.02 * (hi - lo))

    def dual(th):
        z = f @ th
        w = np.exp(z - z.max())
        return logsumexp(z) - th @ g, (w @ f) / w.sum() - g

    theta[live] = minimize(dual, np.zeros(f.shape[1]), jac=True, method="BFGS").x
    return theta


def draw_following(draw: Callable[[int], EHRSequences], n: int, release: SubgroupRelease,
                   wanted: set[str], rng: np.random.Generator) -> list[EHRSequences]:
    """``n`` carriers of ``wanted`` whose age and sex follow the released subgroup: ``draw(k)``
    gives ``k`` of the model's carriers; they are accepted with the tilted weights."""
    pool = draw(max(n, 400))
    feats = release.features(pool.patients)
    goal = target(release, wanted, release.moments(pool.patients))
    if goal is None:
        return [pool.subset(pool.patients.patient_id.to_numpy()[:n])]
    theta = tilt(feats, goal)
    cap = float(np.quantile(feats @ theta, 1 - TOP_SHARE))
    parts, left, have = [], [], 0
    for _ in range(MAX_ROUNDS):
        w = np.exp(np.minimum(release.features(pool.patients) @ theta - cap, 0.0))
        keep = rng.random(len(w)) < w
        ids = pool.patients.patient_id.to_numpy()
        parts.append(pool.subset(ids[keep][:n - have]))
        left.append((pool, ids[~keep], w[~keep]))
        have += int(min(keep.sum(), n - have))
        if have >= n:
            return parts
        rate = max(keep.mean(), 0.01)
        pool = draw(int(min(max((n - have) / rate * 1.2, 64), 4 * n + 64)))
    # rarely accepted (a strong tilt): the rest by weight, without replacement, from the
    # carriers drawn and not accepted (close to the tilted distribution, not exact)
    w = np.concatenate([x[2] for x in left]) + 1e-12
    pick = rng.choice(len(w), n - have, replace=False, p=w / w.sum())
    at = np.cumsum([0] + [len(x[1]) for x in left])
    for r, (pool_r, ids_r, _) in enumerate(left):
        mine = pick[(pick >= at[r]) & (pick < at[r + 1])] - at[r]
        if len(mine):
            parts.append(pool_r.subset(ids_r[mine]))
    return parts
