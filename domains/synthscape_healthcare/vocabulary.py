"""The code vocabulary (declared, or released under DP by thresholded key release) and the
ontology path of each code as successive event columns.

Keys are ``"<table>:<code>"`` (the same code string may mean different things in two tables).
DP release: each patient contributes at most ``max_codes`` distinct keys (those with the
smallest hashes keyed by the public seed: a per-patient step), so the vector of per-key patient
counts has L2 sensitivity ``sqrt(max_codes)``; Gaussian noise is added and only keys whose
noisy count clears a threshold are released, the threshold set so that a key held by one
patient escapes with probability at most ``delta`` (Korolova et al. 2009; Gopi et al. 2020,
the Gaussian version), as the core releases category sets. Keys that are structure, not data
(``death:death``), are always in.

Ontology path: for each key, the names of its ancestors at the ontology's levels (ICD-10-CM:
chapter, block, category; SNOMED CT semantic tags: the tag). A code outside the ontology (a
RxNorm drug, a LOINC lab) carries its table name at every level. These become event columns
before ``code``, so the sequence model predicts chapter, then block, then category, then code,
and a rare code borrows strength from its parents.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.special import ndtri

from synthscape.errors import ParameterError
from synthscape.privacy import PrivacyLedger
from synthscape.privacy.events import ThresholdGaussianEvent
from synthscape.random import row_uniforms
from synthscape_healthcare.ontology import Ontology, code_of, level_of
from synthscape_healthcare.sequences import DEATH

ALWAYS = (f"{DEATH}:{DEATH}",)
ICD_PATH = ("chapter", "block", "category")
TAG_PATH = ("tag",)


def keys(events: pd.DataFrame) -> pd.Series:
    """``"<table>:<code>"`` of each event."""
    return events.table.astype(str) + ":" + events.code.astype(str)


def release_vocabulary(events: pd.DataFrame, *, ledger: PrivacyLedger, rho: float,
                       max_codes: int = 64, delta_share: float = 0.1,
                       seed: int | None = 0) -> list[str]:
    """Keys released under DP from ``rho`` of the ledger's zCDP budget and ``delta_share`` of
    its delta (see the module docstring). Sorted; never empty (the structural keys)."""
    if max_codes < 1:
        raise ParameterError(f"max_codes must be >= 1, got {max_codes}")
    k = keys(events)
    pairs = pd.DataFrame({"patient_id": events.patient_id.astype(str).to_numpy(),
                          "key": k.to_numpy()}).drop_duplicates()
    # a patient's max_codes keys with the smallest keyed hashes (a per-patient choice that
    # favours no period of life, unlike the first keys in time)
    pairs = pairs.assign(u=row_uniforms(pairs, seed, "vocabulary")).sort_values(
        ["patient_id", "u"], kind="stable")
    pairs = pairs[pairs.groupby("patient_id").cumcount() < max_codes]
    counts = pairs.key.value_counts()
    sigma = 1.0 / math.sqrt(2.0 * rho)  # noise multiplier (per unit of L2 sensitivity)
    delta = ledger.delta * delta_share
    ledger.spend(ThresholdGaussianEvent(noise_multiplier=sigma, delta=delta,
                                        label="vocabulary (thresholded code release)"))
    std = sigma * math.sqrt(max_codes)
    noisy = counts.to_numpy(float) + std * ledger.noise.standard_normal(len(counts))
    tau = 1.0 + std * float(ndtri(1.0 - delta / max_codes))
    released = set(counts.index[noisy > tau].astype(str)) | set(ALWAYS)
    return sorted(released)


def path_levels(ontology: Ontology | None) -> tuple[str, ...]:
    """The ancestor levels modelled as event columns for ``ontology`` (none without one)."""
    if ontology is None:
        return ()
    levels = {level_of(n) for n in ontology.graph.nodes}
    if "chapter" in levels:
        return ICD_PATH
    if "tag" in levels:
        return TAG_PATH
    return ("parent",)  # a user hierarchy: the nearest ancestor


def ancestor_path(key: str, ontology: Ontology | None, levels: tuple[str, ...]) -> list[str]:
    """Ancestor names of one key at ``levels`` (the table name where the code has none)."""
    table, code = key.split(":", 1)
    if ontology is None or code not in ontology:
        return [table] * len(levels)
    node = ontology.node(code)
    chain = [node, *ontology.ancestors(node)]
    out = []
    for level in levels:
        if level == "parent":
            hit = chain[1] if len(chain) > 1 else node
        else:
            hits = [n for n in chain if level_of(n) == level]
            hit = hits[0] if hits else node
        out.append(f"{level_of(hit)}:{code_of(hit)}")
    return out


def path_table(vocabulary: list[str], ontology: Ontology | None,
               levels: tuple[str, ...]) -> pd.DataFrame:
    """One row per key: its ancestor names at ``levels`` (indexed by key)."""
    rows = [ancestor_path(k, ontology, levels) for k in vocabulary]
    return pd.DataFrame(rows, index=pd.Index(vocabulary, name="key"), columns=list(levels))


def scale_values(events: pd.DataFrame, bounds: dict[str, tuple[float, float]]) -> np.ndarray:
    """Numeric values mapped to [0, 1] by the declared bounds of their key; keys without
    declared bounds use ``log1p`` over [0, 1e6] (signed). Values outside are clipped."""
    k = keys(events)
    v = events.value.to_numpy(float)
    lo = k.map(lambda x: bounds.get(x, (np.nan, np.nan))[0]).to_numpy(float)
    hi = k.map(lambda x: bounds.get(x, (np.nan, np.nan))[1]).to_numpy(float)
    declared = ~np.isnan(lo)
    logv = np.sign(v) * np.log1p(np.abs(v)) / np.log1p(1e6) * 0.5 + 0.5
    out = np.where(declared, (v - lo) / np.where(declared, hi - lo, 1.0), logv)
    return np.clip(out, 0.0, 1.0)


def unscale_values(keys_: pd.Series, scaled: np.ndarray,
                   bounds: dict[str, tuple[float, float]]) -> np.ndarray:
    """The inverse of :func:`scale_values`."""
    lo = keys_.map(lambda x: bounds.get(x, (np.nan, np.nan))[0]).to_numpy(float)
    hi = keys_.map(lambda x: bounds.get(x, (np.nan, np.nan))[1]).to_numpy(float)
    return unscale_bounded(scaled, lo, hi)


def unscale_bounded(scaled: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """:func:`unscale_values` with each value's declared bounds given (NaN: undeclared, the
    signed log)."""
    s = np.asarray(scaled, float)
    declared = ~np.isnan(lo)
    z = (s - 0.5) * 2 * np.log1p(1e6)
    logv = np.sign(z) * np.expm1(np.abs(z))
    return np.where(declared, lo + s * np.where(declared, hi - lo, 0.0), logv)
