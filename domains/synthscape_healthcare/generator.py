"""The longitudinal DP EHR generator: patients and their event timelines on the core
``dp_sequence`` generator, with codes modelled through their ontology ancestors.

>>> gen = EHRGenerator(epsilon=1.0, seed=0, ontology=icd)   # stores only
>>> gen.fit(nafld_sequences())                                          # vocabulary, shape, model
>>> hf = gen.sample(500, conditions={"condition": "I50"})                # all carry an I50 code

One patient is the unit of privacy (every event of a patient). ``fit``: the code vocabulary is
declared (``vocabulary=``) or released under DP (thresholded key release, vocabulary.py) and
the patient timelines are learned by ``dp_sequence`` under the same ledger. Each event is
``table``, the code's ontology ancestors (ICD-10-CM chapter, block, category; or the SNOMED CT
semantic tag), ``code``, a numeric ``value`` scaled by declared bounds, and a ``qualifier``
(unit or encounter class); within an event these are predicted in that order, so a rare code
borrows strength from its parents. ``hierarchy="flat"`` (the default) has no ancestor columns:
the ablation in docs/benchmarks/healthcare.md found no gain from them at epsilon 1, so the
simpler model is the default and ``hierarchy="ontology"`` is the option. Every sample goes
through the consistency post-processing (:func:`~synthscape_healthcare.sequences.make_consistent`).
Conditioned patients follow their subgroup's age and sex through a DP release of each ontology
subgroup's demographics (``subgroup_share`` of the budget; subgroups.py).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from synthscape.errors import ModelFormatError, NotFittedError, ParameterError
from synthscape.privacy import Budget, PrivacyLedger
from synthscape.random import derive_rng
from synthscape.schema import Column, TableSchema
from synthscape_healthcare import _sequence
from synthscape_healthcare._timelines import (
    _carriers,
    _close_with_death,
    _keep_within_bound,
    _renumber,
)
from synthscape_healthcare.ontology import Ontology
from synthscape_healthcare.sequences import (
    SEXES,
    TABLES,
    EHRSequences,
    make_consistent,
)
from synthscape_healthcare.subgroups import SubgroupRelease, draw_following, release_subgroups
from synthscape_healthcare.synthea_events import ETHNICITIES, RACES
from synthscape_healthcare.vocabulary import (
    keys,
    path_levels,
    path_table,
    release_vocabulary,
    scale_values,
    unscale_bounded,
)

FORMAT = 2  # 2: the subgroup release (subgroups.npz); 1 still loads, without it
PARAMS = ("epsilon", "delta", "seed", "hierarchy", "vocabulary", "vocabulary_share",
          "max_codes", "max_events", "time_bounds", "birth_years", "value_bounds", "qualifiers",
          "units", "expected_patients", "accountant", "sequence", "subgroup_share",
          "subgroup_bound", "anchor")
STATIC = {"race": RACES, "ethnicity": ETHNICITIES}
MAX_ROUNDS = 20
VALUED = ("observation", "lab")  # event tables whose events carry numeric values


class EHRGenerator:
    """``EHRGenerator(epsilon=..., seed=...)`` stores parameters; ``fit`` learns the rest.

    - ``ontology``: an :class:`Ontology` (recorded by name in the saved model; pass it again
      to ``load``); ``hierarchy``: ``"ontology"`` or ``"flat"``.
    - ``vocabulary``: declared ``"<table>:<code>"`` keys, or ``None`` to release them under DP
      from ``vocabulary_share`` of the budget (each patient counted for ``max_codes`` keys).
    - ``max_events``: events kept per patient (the first ones; the contribution bound);
      ``time_bounds``: the declared public range of event times; ``birth_years``: of births;
      ``anchor``: a declared date that most patients' timelines share (a cohort's index date:
      diagnosis or enrolment), modelled as its own gap class (``SequenceSchema.anchor``).
    - ``value_bounds``: declared ``{key: (lower, upper)}`` of numeric values; others are scaled
      by a signed log. ``qualifiers``: the declared units and encounter classes (``None``:
      released under DP); ``units``: a declared unit per key, written on every sampled event
      of that key.
    - ``sequence``: further keyword parameters of ``dp_sequence`` (epochs, width, ...).
    - ``subgroup_share``: of the budget left after the vocabulary, for the age and sex of each
      ontology subgroup's patients (``None``: no release; conditioned patients are the model's
      carriers as drawn); ``subgroup_bound``: subgroups a patient is counted in at most.
    """

    def __init__(self, *, epsilon: float | None = 1.0, delta: float = 1e-6,
                 seed: int | None = 0, ontology: Ontology | None = None,
                 hierarchy: str = "flat", vocabulary: list[str] | None = None,
                 vocabulary_share: float = 0.1, max_codes: int = 64, max_events: int = 64,
                 time_bounds: tuple[str, str] = ("1900-01-01", "2030-01-01"),
                 birth_years: tuple[float, float] = (1900.0, 2030.0),
                 value_bounds: dict[str, tuple[float, float]] | None = None,
                 qualifiers: list[str] | None = None, expected_patients: int | None = None,
                 units: dict[str, str] | None = None, accountant: str = "prv",
                 sequence: dict[str, Any] | None = None,
                 subgroup_share: float | None = 0.1, subgroup_bound: int = 16,
                 anchor: str | None = None):
        self.epsilon, self.delta, self.seed = epsilon, delta, seed
        self.ontology, self.hierarchy = ontology, hierarchy
        self.vocabulary, self.vocabulary_share, self.max_codes = vocabulary, vocabulary_share, \
            max_codes
        self.max_events, self.time_bounds, self.birth_years = max_events, time_bounds, \
            birth_years
        self.value_bounds, self.qualifiers = value_bounds, qualifiers
        self.expected_patients, self.sequence = expected_patients, sequence
        self.units, self.accountant = units, accountant
        self.subgroup_share, self.subgroup_bound = subgroup_share, subgroup_bound
        self.anchor = anchor

    def get_params(self) -> dict[str, Any]:
        """The constructor's parameters (the ontology by name)."""
        out = {k: getattr(self, k) for k in PARAMS}
        out["ontology"] = None if self.ontology is None else self.ontology.name
        return out

    # ---- fitting -------------------------------------------------------------------------
    def _check_params(self) -> None:
        if self.hierarchy not in ("ontology", "flat"):
            raise ParameterError(f"hierarchy must be 'ontology' or 'flat', got {self.hierarchy!r}")
        if self.hierarchy == "ontology" and self.ontology is None:
            raise ParameterError("hierarchy='ontology' needs an ontology (load_icd10cm() or "
                                 "semantic_tag_ontology(...)); or use hierarchy='flat'")
        if self.epsilon is not None and not self.epsilon > 0:
            raise ParameterError(f"epsilon must be > 0 or None, got {self.epsilon!r}")
        if not 0 < self.vocabulary_share < 1:
            raise ParameterError(f"vocabulary_share must be in (0, 1), got "
                                 f"{self.vocabulary_share!r}")
        if self.subgroup_share is not None and not 0 < self.subgroup_share < 1:
            raise ParameterError(f"subgroup_share must be in (0, 1) or None, got "
                                 f"{self.subgroup_share!r}")
        if self.max_events < 1:
            raise ParameterError(f"max_events must be >= 1, got {self.max_events!r}")

    def fit(self, data: EHRSequences, *, ledger: PrivacyLedger | None = None
            ) -> EHRGenerator:
        """Learn the vocabulary (declared or DP), the shape and the model from ``data``."""
        from synthscape.privacy.noise import NoiseSource

        self._check_params()
        if not isinstance(data, EHRSequences):
            raise ParameterError(f"fit expects EHRSequences (synthea_sequences, read_omop, "
                                 f"nafld_sequences), got {type(data).__name__}")
        if ledger is None:
            budget = None if self.epsilon is None else \
                Budget(epsilon=self.epsilon, delta=self.delta, unit="patient")
            ledger = PrivacyLedger(budget, accountant=self.accountant, noise=NoiseSource.for_data(
                data.events[["code"]], purpose="ehr", seed=self.seed))
        events = data.events
        if self.vocabulary is not None:
            vocab = sorted(set(self.vocabulary))
        elif ledger.budget is None:
            ledger.mark_non_private("the code vocabulary was read from the data")
            vocab = sorted(set(keys(events)))
        else:
            vocab = release_vocabulary(events, ledger=ledger,
                                       rho=ledger.remaining_rho(self.vocabulary_share / 2),
                                       max_codes=self.max_codes, seed=self.seed)
        quals = self._qualifiers(events, ledger)
        self.vocabulary_, self.qualifiers_ = vocab, quals
        levels = path_levels(self.ontology) if self.hierarchy == "ontology" else ()
        self.paths_ = path_table(vocab, self.ontology, levels)
        self.descriptions_ = {k: data.descriptions.get(k.split(":", 1)[1], "") for k in vocab}
        self.static_ = [c for c in STATIC if c in data.patients.columns]
        self.subgroups_: SubgroupRelease | None = None if self.subgroup_share is None else \
            release_subgroups(data, vocab, self.ontology, ledger=ledger,
                              share=self.subgroup_share, bound=self.subgroup_bound,
                              birth_years=tuple(self.birth_years),  # type: ignore[arg-type]
                              seed=self.seed)
        ents, evs = self._encode(data.patients, events)
        schema = _sequence.sequence_schema(
            self._entity_schema(), self._event_schema(), max_events=self.max_events,
            time_bounds=tuple(self.time_bounds),  # type: ignore[arg-type]
            anchor=self.anchor)
        self.model_ = _sequence.fit(schema, ents, evs, ledger=ledger, seed=self.seed,
                                    expected_entities=self.expected_patients,
                                    params=dict(self.sequence or {}))
        self.ledger_ = ledger
        return self

    def _qualifiers(self, events: pd.DataFrame, ledger: PrivacyLedger) -> list[str]:
        if self.qualifiers is not None:
            return sorted({"", *self.qualifiers})
        q = events.qualifier.astype(str)
        if ledger.budget is None:
            return sorted({"", *q})
        frame = pd.DataFrame({"patient_id": events.patient_id, "table": "qualifier", "code": q})
        got = release_vocabulary(frame[q != ""], ledger=ledger,
                                 rho=ledger.remaining_rho(self.vocabulary_share / 2),
                                 max_codes=8, seed=self.seed)
        return sorted({""} | {k.split(":", 1)[1] for k in got if k.startswith("qualifier:")})

    def _entity_schema(self) -> TableSchema:
        lo, hi = self.birth_years
        cols = [Column(name="birth_year", kind="numerical", lower=float(lo), upper=float(hi)),
                Column(name="sex", kind="categorical", categories=SEXES)]
        cols += [Column(name=c, kind="categorical", categories=STATIC[c]) for c in self.static_]
        cols.append(Column(name="death", kind="boolean"))
        return TableSchema(columns=cols, name="patients")

    def _event_schema(self) -> TableSchema:
        tables = tuple(t for t in TABLES if any(k.startswith(t + ":") for k in self.vocabulary_))
        cols = [Column(name="table", kind="categorical", categories=tables)]
        cols += [Column(name=level, kind="categorical",
                        categories=tuple(sorted(set(self.paths_[level]))))
                 for level in self.paths_.columns]
        cols += [Column(name="code", kind="categorical", categories=tuple(self.vocabulary_)),
                 Column(name="value", kind="numerical", lower=0.0, upper=1.0, nullable=True),
                 Column(name="qualifier", kind="categorical", categories=tuple(self.qualifiers_))]
        return TableSchema(columns=cols, name="events")

    def _encode(self, patients: pd.DataFrame, events: pd.DataFrame
                ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Model frames: codes outside the vocabulary and qualifiers outside the released set
        are dropped/blanked (per-event steps), ancestors joined, values scaled."""
        k = keys(events)
        ev = events[k.isin(set(self.vocabulary_)).to_numpy()].reset_index(drop=True)
        ev = _keep_within_bound(ev, self.max_events)
        k = keys(ev)
        out = pd.DataFrame({"patient_id": ev.patient_id.astype(str), "time": ev.time,
                            "table": ev.table.astype(str)})
        for level in self.paths_.columns:
            out[level] = self.paths_[level].reindex(k).to_numpy()
        out["code"] = k.to_numpy()
        out["value"] = np.where(ev.value.notna(), scale_values(ev, self._bounds()), np.nan)
        q = ev.qualifier.astype(str)
        out["qualifier"] = q.where(q.isin(set(self.qualifiers_)), "").to_numpy()
        ents = patients[["patient_id", "birth_year", "sex", *self.static_, "death"]].copy()
        ents["patient_id"] = ents.patient_id.astype(str)
        ents["death"] = ents.death.astype(bool)
        return ents.reset_index(drop=True), out

    def _bounds(self) -> dict[str, tuple[float, float]]:
        return {k: (float(a), float(b)) for k, (a, b) in (self.value_bounds or {}).items()}

    # ---- sampling ------------------------------------------------------------------------
    def _check(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("the EHR generator is not fitted yet; call fit(data) first")

    def subtree(self, condition: str) -> tuple[dict | None, set[str]]:
        """What a condition on a code, an ontology node (ICD-10-CM chapter, block, category,
        ...) or a semantic tag becomes: the event condition passed to ``dp_sequence`` (on the
        deepest modelled column that names it; ``None`` when none does) and the vocabulary
        keys in its subtree (which every conditioned patient must carry). A node with one code
        of the vocabulary under it is a condition on that code: a condition on its ancestor
        column is met by rejection over the model's ancestor draws, and a model that ties codes
        loosely to their ancestors (a short fit) gives few carriers of the code itself."""
        self._check()
        vocab = set(self.vocabulary_)
        if condition in vocab:
            return {"code": condition}, {condition}
        same = [k for k in self.vocabulary_ if k.split(":", 1)[1] == condition]
        if len(same) == 1:
            return {"code": same[0]}, set(same)
        for level in self.paths_.columns:
            name = f"{level}:{condition}"
            hit = self.paths_.index[self.paths_[level] == name]
            if len(hit) == 1:  # one code: the condition on it is exact, whatever the model
                return {"code": hit[0]}, set(hit)  # learned of its ancestors
            if len(hit):
                return {level: name}, set(hit)
        if self.ontology is not None and condition in self.ontology:
            node = self.ontology.node(condition)
            under = {k for k in self.vocabulary_ if k.split(":", 1)[1] in self.ontology
                     and self.ontology.is_descendant(k.split(":", 1)[1], node)}
            if under:
                return ({"code": next(iter(under))} if len(under) == 1 else None), under
            raise ParameterError(f"no code of the vocabulary lies under {condition!r} ({node})")
        raise ParameterError(f"unknown condition {condition!r}: not a code of the vocabulary "
                             f"({len(vocab)} codes) nor an ontology node above one")

    def sample(self, n: int, *, conditions: dict | None = None, seed: int | None = None
               ) -> EHRSequences:
        """``n`` synthetic patients, their timelines made consistent.

        ``conditions``: ``{"condition": "I50"}`` (a code, an ICD-10-CM chapter/block/category
        or a SNOMED CT semantic tag): every patient carries a code in that subtree (the model
        is conditioned on the deepest modelled ancestor column by ``dp_sequence``'s rejection
        sampling; patients whose timeline lost the code in the consistency step are drawn
        again), and carriers are accepted so that their age and sex follow the released
        subgroup (subgroups.py). ``{"condition": {"I46": 0.2}}``:
        that share carries one and the rest carry none. Entity columns (``{"sex": "F"}``) pass
        to ``dp_sequence`` as they are."""
        self._check()
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ParameterError(f"n must be an int >= 1, got {n!r}")
        conds = dict(conditions or {})
        cond = conds.pop("condition", None)
        if seed is not None:
            rng = derive_rng(int(seed), "ehr.sample")
        elif self.seed is None:
            rng = derive_rng(None)
        else:  # unseeded calls differ, reproducibly from the generator's seed
            self._calls = getattr(self, "_calls", 0) + 1
            rng = derive_rng(int(self.seed), "ehr.sample", self._calls)
        if cond is None:
            return _renumber(self._draw(n, conds, None, True, rng), self.descriptions_)
        if isinstance(cond, dict):
            if len(cond) != 1 or not 0 <= float(next(iter(cond.values()))) <= 1:
                raise ParameterError(f"a condition share is {{code: share in [0, 1]}}, got "
                                     f"{cond!r}")
            code, share = next(iter(cond.items()))
            k = int(round(n * float(share)))
        else:
            code, k = cond, n
        event_cond, wanted = self.subtree(str(code))
        with_code = {**conds, "events": event_cond} if event_cond is not None else conds
        parts = self._draw_carriers(k, with_code, wanted, rng) if k else []
        if n - k:
            parts += self._draw(n - k, conds, wanted, False, rng)
        out = _renumber(parts, self.descriptions_)
        order = rng.permutation(out.n_patients)  # carriers and others mixed
        return out.subset(out.patients.patient_id.to_numpy()[order]) if k < n else out

    def _draw_carriers(self, n: int, core: dict, wanted: set[str],
                       rng: np.random.Generator) -> list[EHRSequences]:
        """``n`` patients carrying ``wanted``: the model's carriers, accepted so that their age
        and sex follow the released subgroup (when there is one)."""
        def draw(k: int) -> EHRSequences:
            return _renumber(self._draw(k, core, wanted, True, rng), self.descriptions_)

        if getattr(self, "subgroups_", None) is None:
            return self._draw(n, core, wanted, True, rng)
        return draw_following(draw, n, self.subgroups_, wanted, rng)  # type: ignore[arg-type]

    def _draw(self, n: int, core: dict, wanted: set[str] | None, present: bool,
              rng: np.random.Generator) -> list[EHRSequences]:
        """``n`` patients in rounds; with ``wanted``, only those that carry (``present``) or
        lack a code among those keys."""
        parts, have, drawn = [], 0, 0
        for _ in range(MAX_ROUNDS):
            need = n - have
            rate = max(have, 1) / drawn if drawn else 1.0  # the share kept so far
            draw = need if not drawn else int(min(max(need / rate * 1.3, 16), 50 * n + 16))
            drawn += draw
            ents, evs = _sequence.sample(self.model_, draw, conditions=core or None,
                                         seed=int(rng.integers(2**31)))
            got = self._decode(ents, evs)
            if isinstance(core.get("death"), bool):  # the timeline decides, after consistency
                keep = got.patients.death.to_numpy(bool) == core["death"]
                got = got.subset(got.patients.patient_id[keep])
            if wanted is not None:
                hit = set(_carriers(got, wanted))
                ids = got.patients.patient_id.astype(str)
                got = got.subset(ids[ids.isin(hit) == present])
            take = got.patients.patient_id.to_numpy()[:need]
            parts.append(got.subset(take))
            have += len(take)
            if have >= n:
                return parts
        which = "with" if present else "without"
        raise ParameterError(f"the model rarely produces patients {which} the condition "
                             f"({have} of {n} after {MAX_ROUNDS} rounds); ask for fewer "
                             f"patients or fit with more budget")

    def _decode(self, ents: pd.DataFrame, evs: pd.DataFrame) -> EHRSequences:
        # per vocabulary key, then gathered by each event's key (a few dozen keys, many events)
        cat = pd.Categorical(evs["code"].astype(str))
        at, bounds, units = cat.codes, self._bounds(), self.units or {}
        per_key = pd.DataFrame([(*k.split(":", 1), *bounds.get(k, (np.nan, np.nan)),
                                 units.get(k)) for k in cat.categories],
                               columns=["table", "code", "lo", "hi", "unit"])
        table = per_key.table.to_numpy(object)[at]
        lo, hi = per_key.lo.to_numpy(float)[at], per_key.hi.to_numpy(float)[at]
        # values only where the source carries them; a declared unit follows its code
        value = np.where(evs["value"].notna().to_numpy() & np.isin(table, VALUED),
                         unscale_bounded(evs["value"].to_numpy(float), lo, hi), np.nan)
        unit = per_key.unit.to_numpy(object)[at]
        qual = evs["qualifier"].fillna("").astype(str).to_numpy(dtype=object)
        events = pd.DataFrame({
            "patient_id": evs["patient_id"].astype(str).to_numpy(),
            "time": pd.to_datetime(evs["time"]).to_numpy(),
            "table": table,
            "code": per_key.code.to_numpy(object)[at],
            "value": value,
            "qualifier": np.where(pd.isna(unit), qual, unit)})
        pats = ents[["patient_id", "birth_year", "sex", *self.static_]].copy()
        pats["patient_id"] = pats.patient_id.astype(str)
        pats["death"] = False
        events = _close_with_death(events, pats.patient_id[ents.death.to_numpy(bool)])
        pats, events, _ = make_consistent(pats, events)
        return EHRSequences(pats.reset_index(drop=True), events, source="synthetic")

    # ---- persistence ---------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """``ehr.json`` (parameters, vocabulary, paths, ledger) and the ``dp_sequence`` model
        in ``sequence/``; checksums over both, written atomically (an existing folder is
        replaced)."""
        from synthscape.model_files import writing

        self._check()
        folder = Path(folder)
        meta = {"format": FORMAT, "params": self.get_params(), "vocabulary": self.vocabulary_,
                "qualifiers": self.qualifiers_, "static": self.static_,
                "paths": {c: self.paths_[c].tolist() for c in self.paths_.columns},
                "descriptions": self.descriptions_, "ledger": self.ledger_.to_dict()}
        groups = getattr(self, "subgroups_", None)
        meta["subgroups"] = None if groups is None else groups.to_meta()
        with writing(folder) as tmp:
            (tmp / "ehr.json").write_text(json.dumps(meta, indent=1))
            if groups is not None:
                np.savez(tmp / "subgroups.npz", stats=groups.stats)
            _sequence.save(self.model_, tmp / "sequence")
        return folder

    @classmethod
    def load(cls, folder: str | Path, ontology: Ontology | None = None
             ) -> EHRGenerator:
        """Verify the checksums, then read (no pickle). Pass the ontology the model was fitted
        with (its name is recorded and checked)."""
        from synthscape.model_files import load_verified

        return load_verified(folder, lambda f: cls._read(f, ontology),
                             what="saved EHR generator")

    @classmethod
    def _read(cls, folder: Path, ontology: Ontology | None) -> EHRGenerator:
        meta = json.loads((folder / "ehr.json").read_text())
        if meta.get("format") not in (1, FORMAT):
            raise ModelFormatError(f"{folder}: format {meta.get('format')} is not {FORMAT}; fit "
                                   f"and save the model again with this version")
        params = dict(meta["params"])
        name = params.pop("ontology")
        if name is not None and (ontology is None or ontology.name != name):
            raise ParameterError(f"{folder} was fitted with the ontology {name!r}; pass it: "
                                 f"load(folder, ontology=...)")
        for k in ("time_bounds", "birth_years"):
            params[k] = tuple(params[k])
        gen = cls(ontology=ontology, **params)
        gen.vocabulary_, gen.qualifiers_ = meta["vocabulary"], meta["qualifiers"]
        gen.static_, gen.descriptions_ = meta["static"], meta["descriptions"]
        gen.paths_ = pd.DataFrame(meta["paths"], index=pd.Index(gen.vocabulary_, name="key"))
        gen.ledger_ = PrivacyLedger.from_dict(meta["ledger"])
        gen.model_ = _sequence.load(folder / "sequence")
        gen.subgroups_ = None
        if meta.get("subgroups") is not None:
            if not (folder / "subgroups.npz").is_file():
                raise ModelFormatError(f"{folder / 'subgroups.npz'} is missing: conditioned "
                                       f"sampling reads the subgroup release; copy the whole "
                                       f"folder")
            with np.load(folder / "subgroups.npz", allow_pickle=False) as z:
                gen.subgroups_ = SubgroupRelease.from_meta(meta["subgroups"], z["stats"])
        return gen
