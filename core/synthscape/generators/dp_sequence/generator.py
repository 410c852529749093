"""``dp_sequence``: a DP generator of entities and their event sequences (customers and their
transactions, patients and their encounters).

>>> from synthscape.generators import make
>>> gen = make("dp_sequence", epsilon=1.0, delta=1e-5, seed=0)
>>> gen.fit(events, entities, entity_key="customer_id", time_key="ts")  # doctest: +SKIP
>>> ents, evs = gen.sample(1000, conditions={"is_fraud": {"yes": 0.2}})  # doctest: +SKIP

One entity is the unit of privacy: its static row and its whole history (cut to the schema's
``max_events``) form one training record, clipped as one in DP-SGD (the shared loop of
``_training.py``, Poisson sampling over entities). Every data-dependent step is spent in one
ledger (``ledger_``): undeclared schema parts (``_infer.py``), the entity count that plans the
training (unless ``expected_entities`` is declared), the histogram of sequence lengths
(``_lengths.py``: each sampled entity draws its number of events from it; ``length_share=None``
leaves the length to the network's end-of-sequence head) and the training itself. Conditions are
post-processing of the released model (rejection over sampled entities), so they cost nothing.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthscape.errors import ModelFormatError, NotFittedError, ParameterError, SchemaError
from synthscape.generators._params import (
    BOOL,
    NONE,
    SEED,
    STR,
    Interval,
    Options,
    _Type,
    validate_params,
)
from synthscape.privacy import Budget, PrivacyLedger
from synthscape.random import derive_rng
from synthscape.schema import SequenceSchema

NAMES = _Type((list, tuple), "a list of event column names")

# 5: margin shifts per group; 4: margin shifts; 3: the time-of-day shift; 2: the length
# distribution
FORMAT_VERSION = 5
WEIGHTS = "weights.safetensors"
ARRAYS = "arrays.npz"
COUNT_SHARE = 0.01  # of the budget left after schema inference, for the DP entity count


def default_training(n_entities: int, max_events: int, epsilon: float | None) -> dict[str, Any]:
    """Data-independent defaults from the planned entity count, the bound L and epsilon.

    - batch: 2% of the entities (more at epsilon < 1: the noise on the mean gradient falls as
      1 / batch), between 64 and 4096; at most the entity count;
    - epochs: about 200 optimiser steps in all (at a fixed budget more steps need more noise
      per step, and the cost of a step grows with batch x L), between 1 and 20;
    - width 32 (the cost per event grows with width squared; at epsilon 1 a wider network
      buys little), lr 3e-3 (Adam)."""
    eps = 1.0 if epsilon is None else float(epsilon)
    q = 0.02 / math.sqrt(min(eps, 1.0))
    batch = int(min(max(64, round(n_entities * q)), 4096, max(n_entities, 1)))
    steps_per_epoch = max(1, math.ceil(n_entities / batch))
    epochs = int(min(max(1, round(200 / steps_per_epoch)), 20))
    return {"batch_size": batch, "epochs": epochs, "width": 32, "lr": 3e-3}


class DPSequenceGenerator:
    """Differentially private generator of (entities, events); see the module docstring.

    Parameters: ``epsilon``/``delta`` (the release's budget; ``epsilon=None`` trains without DP
    and the ledger says NOT PRIVATE), ``schema`` (a :class:`SequenceSchema`; undeclared parts
    are inferred under DP from ``schema_share`` of the budget), ``max_events`` (L when no schema
    is given), ``expected_entities`` (a declared, public entity count; otherwise a DP count),
    ``epochs``/``batch_size``/``lr``/``width`` (``None``: :func:`default_training`), ``bins``
    (classes per numerical column), ``max_grad_norm``, ``noise_multiplier`` (``None``: calibrated
    to the budget), ``accountant``, ``grad_sample_mode`` (opacus' per-sample gradients),
    ``device`` (``"auto"``: CUDA when present), ``length_share`` (of the budget left after the
    count, for the DP histogram of sequence lengths that sampling draws each entity's number of
    events from; ``None``: no histogram, the end-of-sequence head decides), ``length_by`` (an
    entity column with a length histogram per value, or per run of bins of a numerical or
    datetime column, e.g. birth year: histories whose length follows age), ``tod_share`` (for
    the DP time-of-day profile the time-of-day head starts from; ``None``: a flat start),
    ``margin_share`` (for the DP entity-column marginals and event-value presence shares that
    sampling is calibrated to, ``_margins.py``; ``None``: no release, the network's own
    frequencies), ``margin_events`` (what the release holds of each categorical event column:
    ``"shares"``, each entity's shares of its events, which event-level marginals follow, or
    ``"presence"``, whether an entity has an event with each value, which per-entity
    prevalence follows), ``margin_by`` (an entity column, grouped as for ``length_by``: the
    entity columns drawn after it are released and calibrated per group, e.g. a death flag
    per run of birth years; at the same sensitivity, each entity adds to its own group's
    cells), ``margin_by_events`` (the event part per group of ``margin_by`` too, so that the
    events follow it; each pooled share then carries the noise of all the groups' cells: for
    large data), ``gap_spread`` (the width, in log hours, of the fixed kernel around the
    expected gap that the gap head's logits start from when lengths are released,
    ``_model.SequenceNet.gap_offset``: 1 suits activity at a steady pace such as a card log;
    records whose next event comes days or years later, such as clinic visits, need about 2,
    or the short gaps sit too many nats below the kernel's peak for a short DP-SGD run to
    lift them; data-independent, so free), ``gap_share`` (for the DP profile of the gaps
    between events that sampling is calibrated to, ``_gaps.py``; ``None``: no release, the
    gap head and its kernel alone; needs ``length_share``), ``anchor_share`` (with a declared
    ``schema.anchor``: for the DP histogram of where in its history each entity reaches the
    anchor day, ``_anchor.py``, drawn with the length at sampling; ``None``: the gap head
    alone decides when; needs ``length_share``), ``followup_share`` (with the anchor's
    positions: for the DP histogram of how long each record runs after the anchor day,
    ``_followup.py``; after the anchor the events left are spread to that end instead of the
    range's; ``None``, the default: to the range's end), ``history_columns`` (categorical event
    columns whose values among an entity's earlier events, as a set, are an input of every
    step: the recurrence's fixed decays forget a diagnosis made years before, a set does not;
    ``None``: none),
    ``seed`` (public: initialisation and sampling).
    """

    name: ClassVar[str] = "dp_sequence"
    private: ClassVar[bool] = True
    _parameter_constraints: ClassVar[dict[str, list]] = {
        "epsilon": [Interval(float, 0, None, closed="neither"), NONE],
        "delta": [Interval(float, 0, 1, closed="left")],
        "max_events": [Interval(int, 1, 100_000)],
        "expected_entities": [Interval(int, 1, None), NONE],
        "epochs": [Interval(int, 1, None), NONE],
        "batch_size": [Interval(int, 2, None), NONE],
        "lr": [Interval(float, 0, 1, closed="right"), NONE],
        "width": [Interval(int, 4, 1024), NONE],
        "bins": [Interval(int, 2, 256)],
        "max_grad_norm": [Interval(float, 0, None, closed="neither")],
        "noise_multiplier": [Interval(float, 0, None, closed="neither"), NONE],
        "accountant": [Options(("rdp", "pld", "prv"))],
        "grad_sample_mode": [Options(("hooks", "functorch", "ghost"))],
        "schema_share": [Interval(float, 0, 1, closed="neither")],
        "device": [STR],
        "length_share": [Interval(float, 0, 1, closed="neither"), NONE],
        "length_by": [STR, NONE],
        "tod_share": [Interval(float, 0, 1, closed="neither"), NONE],
        "margin_share": [Interval(float, 0, 1, closed="neither"), NONE],
        "margin_events": [Options(("shares", "presence"))],
        "margin_by": [STR, NONE],
        "margin_by_events": [BOOL],
        "gap_spread": [Interval(float, 0.25, 8, closed="both")],
        "gap_share": [Interval(float, 0, 1, closed="neither"), NONE],
        "anchor_share": [Interval(float, 0, 1, closed="neither"), NONE],
        "history_columns": [NAMES, NONE],
        "followup_share": [Interval(float, 0, 1, closed="neither"), NONE],
        "seed": [SEED, NONE],
    }

    def __init__(self, epsilon: float | None = 1.0, delta: float = 1e-5, *,
                 schema: SequenceSchema | None = None, max_events: int = 64,
                 expected_entities: int | None = None, epochs: int | None = None,
                 batch_size: int | None = None, lr: float | None = None,
                 width: int | None = None, bins: int = 32, max_grad_norm: float = 1.0,
                 noise_multiplier: float | None = None, accountant: str = "prv",
                 grad_sample_mode: str = "hooks", schema_share: float = 0.1,
                 device: str = "auto", length_share: float | None = 0.05,
                 length_by: str | None = None, tod_share: float | None = 0.02,
                 margin_share: float | None = 0.1, margin_events: str = "shares",
                 margin_by: str | None = None, margin_by_events: bool = False,
                 gap_spread: float = 1.0, gap_share: float | None = None,
                 anchor_share: float | None = 0.02,
                 history_columns: list[str] | None = None,
                 followup_share: float | None = None, seed: int | None = None):
        self.epsilon, self.delta, self.schema, self.max_events = epsilon, delta, schema, max_events
        self.expected_entities, self.epochs, self.batch_size = expected_entities, epochs, batch_size
        self.lr, self.width, self.bins, self.max_grad_norm = lr, width, bins, max_grad_norm
        self.noise_multiplier, self.accountant = noise_multiplier, accountant
        self.grad_sample_mode, self.schema_share = grad_sample_mode, schema_share
        self.device, self.seed = device, seed
        self.length_share, self.length_by, self.tod_share = length_share, length_by, tod_share
        self.margin_share, self.margin_events = margin_share, margin_events
        self.margin_by, self.margin_by_events = margin_by, margin_by_events
        self.gap_spread, self.gap_share = gap_spread, gap_share
        self.anchor_share, self.history_columns = anchor_share, history_columns
        self.followup_share = followup_share

    def _history_fields(self, enc) -> list[int]:
        """The target field indices of ``history_columns`` (2 + the event column's index)."""
        names = [f.name for f in enc.column_fields]
        out = []
        for name in self.history_columns or ():
            if name not in names or enc.column_fields[names.index(name)].kind not in (
                    "categorical", "boolean"):
                cats = [f.name for f in enc.column_fields
                        if f.kind in ("categorical", "boolean")]
                raise ParameterError(f"history_columns: {name!r} is not a categorical event "
                                     f"column; categorical event columns: {cats}")
            out.append(2 + names.index(name))
        return out

    # ---- parameters ----------------------------------------------------------------------
    @classmethod
    def param_names(cls) -> list[str]:
        import inspect

        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        return {p: getattr(self, p) for p in self.param_names()}

    def set_params(self, **params: Any) -> DPSequenceGenerator:
        for k, v in params.items():
            if k not in self.param_names():
                raise ParameterError(f"{type(self).__name__} has no parameter {k!r}; valid: "
                                     f"{self.param_names()}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(" + ", ".join(
            f"{k}={v!r}" for k, v in self.get_params().items() if k != "schema") + ")"

    @classmethod
    def _conformance_params(cls) -> dict[str, Any]:
        return {"epochs": 1, "batch_size": 64, "width": 8, "bins": 8, "device": "cpu"}

    # ---- fitting -------------------------------------------------------------------------
    def fit(self, events: pd.DataFrame, entities: pd.DataFrame | None = None, *,
            entity_key: str, time_key: str) -> DPSequenceGenerator:
        """Learn from ``events`` (one row per event: ``entity_key``, ``time_key`` and the event
        columns) and ``entities`` (one row per entity: ``entity_key`` and static columns)."""
        import torch

        from synthscape.generators._nn import seeded
        from synthscape.generators._training import DPSGD
        from synthscape.generators.dp_sequence import (
            _anchor,
            _data,
            _followup,
            _gaps,
            _infer,
            _lengths,
            _margins,
        )
        from synthscape.generators.dp_sequence._encoding import SequenceEncoding
        from synthscape.generators.dp_sequence._model import (
            architecture,
            build,
            start_heads,
            train_epochs,
        )
        from synthscape.privacy.mechanisms import noisy_count
        from synthscape.privacy.noise import NoiseSource

        validate_params(type(self).__name__, self.get_params(), self._parameter_constraints)
        if self.schema is not None and not isinstance(self.schema, SequenceSchema):
            raise ParameterError(f"schema must be a SequenceSchema, got "
                                 f"{type(self.schema).__name__}")
        for what, df in (("events", events), ("entities", entities)):
            if df is not None and not isinstance(df, pd.DataFrame):
                raise SchemaError(f"fit expects the {what} as a pandas DataFrame, got "
                                  f"{type(df).__name__}")
        if len(events) == 0:
            raise SchemaError("the events table is empty (0 rows); a generator needs data")
        _data.check_columns(events, entities, entity_key, time_key)
        schema = self.schema or SequenceSchema(entity_key=entity_key, time_key=time_key,
                                               max_events=self.max_events)
        if (schema.entity_key, schema.time_key) != (entity_key, time_key):
            raise ParameterError(f"fit(entity_key={entity_key!r}, time_key={time_key!r}) does "
                                 f"not match the schema's ({schema.entity_key!r}, "
                                 f"{schema.time_key!r})")
        if entities is None and schema.entities is not None:
            raise SchemaError(f"the schema declares entity columns {schema.entities.names} but "
                              f"no entities table was given: pass fit(events, entities, ...)")
        noise = NoiseSource.for_data(events, purpose=self.name, seed=self.seed)
        budget = None if self.epsilon is None else Budget(epsilon=self.epsilon, delta=self.delta)
        ledger = PrivacyLedger(budget, accountant=self.accountant, noise=noise)
        rng = derive_rng(self.seed, "fit") if self.seed is not None else derive_rng(None)

        declared = schema.complete and (schema.entities is not None or entities is None
                                        or len(entities.columns) <= 1)
        schema = _infer.complete_schema(schema, events, entities, ledger, self.schema_share,
                                        self.seed)
        enc = SequenceEncoding(schema, bins=self.bins)
        if self.length_share is None and self.length_by is not None:
            raise ParameterError("length_by needs the length histogram: set length_share (e.g. "
                                 "0.05) or drop length_by")
        if self.gap_share is not None and self.length_share is None:
            raise ParameterError("gap_share calibrates gaps between events of released lengths: "
                                 "set length_share (e.g. 0.05) or drop gap_share")
        _lengths.group_field(enc, self.length_by)  # a bad column fails before any spending
        if self.margin_share is None and self.margin_by is not None:
            raise ParameterError("margin_by needs the margin release: set margin_share (e.g. "
                                 "0.1) or drop margin_by")
        margin_by = _lengths.group_field(enc, self.margin_by, "margin_by")
        history = self._history_fields(enc)  # a bad column fails before any spending
        records = _data.build_records(events, entities if enc.entity_fields else None, enc,
                                      policy="error" if declared else "clip")
        if self.expected_entities is not None:
            n_plan = int(self.expected_entities)
        elif budget is None:
            n_plan = len(records.lengths)
        else:
            n_plan = noisy_count(len(records.lengths), ledger=ledger, share=COUNT_SHARE,
                                 label="entity count (plans sampling rate and steps)")
        length_model = None if self.length_share is None else _lengths.release(
            records.lengths, records.entities, enc, self.length_by, ledger=ledger,
            share=self.length_share)
        tod = None if self.tod_share is None else _lengths.tod_release(
            records.events, records.lengths, enc.target_sizes[1], ledger=ledger,
            share=self.tod_share)
        gaps = None if self.gap_share is None else _gaps.release(
            records.events, records.lengths, enc.gap_size, ledger=ledger, share=self.gap_share)
        if length_model is not None and self.anchor_share is not None and \
                enc.anchor_class is not None:
            pos = _anchor.positions(records.events[:, :, 0], records.lengths, enc.anchor_class)
            length_model.anchors = _anchor.release(pos, records.lengths, schema.max_events,
                                                   ledger=ledger, share=self.anchor_share)
            if self.followup_share is not None:
                length_model.followup = _followup.release(
                    records.events, records.lengths, pos, enc.anchor_hours,
                    np.asarray(enc.days, float), schema.max_events, ledger=ledger,
                    share=self.followup_share)
        margins = None if self.margin_share is None else _margins.release(
            records.entities, records.lengths, records.events, enc, ledger=ledger,
            share=self.margin_share, mode=self.margin_events, by=margin_by,
            group_events=bool(self.margin_by_events and margin_by is not None))
        defaults = default_training(n_plan, schema.max_events, self.epsilon)
        chosen = {k: getattr(self, k) if getattr(self, k) is not None else v
                  for k, v in defaults.items()}
        arch = architecture(enc, int(chosen["width"]), length_model is not None,
                            gap_spread=float(self.gap_spread),
                            anchor_position=getattr(length_model, "anchors", None) is not None,
                            history_fields=history,
                            followup=getattr(length_model, "followup", None) is not None)
        with seeded(int(rng.integers(2**31))):
            net = build(arch)
        start_heads(net, enc, None if tod is None else
                    _lengths.tod_logp(_lengths.tod_profile(*tod), enc.target_sizes[1]))
        trainer = DPSGD(net, ledger=ledger, n_rows=n_plan, epochs=int(chosen["epochs"]),
                        batch_size=min(int(chosen["batch_size"]), n_plan),
                        lr=float(chosen["lr"]), max_grad_norm=self.max_grad_norm,
                        device=self.device, noise_multiplier=self.noise_multiplier,
                        grad_sample_mode=self.grad_sample_mode,
                        label=f"dp_sequence: per-entity DP-SGD; histories cut to their first "
                              f"{schema.max_events} events, events outside time_bounds dropped")
        train_epochs(trainer, records, schema.max_events)
        self.training_ = trainer.finish()
        self.loop_seconds_ = self.training_.pop("seconds")  # a timing: never saved
        self.training_.update({k: chosen[k] for k in ("epochs", "batch_size", "lr")},
                              planned_entities=n_plan)
        self.arch_ = arch
        self.model_ = trainer.base_module.to("cpu").eval()
        self.schema_, self.encoding_, self.ledger_ = schema, enc, ledger
        self.lengths_ = length_model
        if margins is not None:  # post-processing: sampled margins onto the released ones
            with torch.no_grad():
                self.training_["margins"] = _margins.calibrate(
                    self.model_, enc, margins, length_model,
                    derive_rng(self.seed, "margins") if self.seed is not None
                    else derive_rng(None))
        if gaps is not None:  # post-processing: sampled gaps onto the released profile
            with torch.no_grad():
                self.training_["gaps"] = _gaps.calibrate(
                    self.model_, enc, *gaps, length_model,
                    derive_rng(self.seed, "gaps") if self.seed is not None
                    else derive_rng(None))
        if tod is not None:  # post-processing: sampled hours onto the released profile
            from synthscape.generators.dp_sequence._tod import calibrate

            with torch.no_grad():
                self.training_["time_of_day"] = calibrate(
                    self.model_, enc, *tod, length_model,
                    derive_rng(self.seed, "time of day") if self.seed is not None
                    else derive_rng(None))
        self._sample_calls = 0
        return self

    # ---- sampling ------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit(events, "
                                 f"entities, entity_key=..., time_key=...) first")

    def _rng(self, seed: int | None) -> np.random.Generator:
        if seed is not None:
            return derive_rng(int(seed), "sample")
        if self.seed is None:
            return derive_rng(None)
        self._sample_calls = getattr(self, "_sample_calls", 0) + 1
        return derive_rng(int(self.seed), "sample", self._sample_calls)

    def sample(self, n_entities: int, conditions: Mapping[str, Any] | None = None,
               seed: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
        """``n_entities`` synthetic entities and their events: ``(entities, events)``.

        ``conditions``: ``{"col": value}`` fixes an entity column, ``{"col": {"a": 0.2, "b":
        0.8}}`` sets its shares, ``{"events": {"col": value}}`` keeps entities with at least
        one event with that value. Post-processing (rejection over sampled entities, at most
        a bounded number of rounds): no privacy cost; an unreachable condition raises
        ParameterError."""
        from synthscape.generators.dp_sequence._conditions import parse_conditions, sample_codes
        from synthscape.generators.dp_sequence._frames import to_frames

        self._check_fitted()
        if isinstance(n_entities, bool) or not isinstance(n_entities, (int, np.integer)) or \
                n_entities < 0:
            raise ParameterError(f"n_entities must be an int >= 0, got {n_entities!r}")
        plan = parse_conditions(self.encoding_, conditions)
        rng = self._rng(seed)
        import torch

        with torch.no_grad():
            drawn = sample_codes(self.model_, self.encoding_, int(n_entities), plan, rng,
                                 lengths=self.lengths_)
        return to_frames(self.encoding_, drawn, rng)

    # ---- persistence ---------------------------------------------------------------------
    def save(self, folder: str | Path, *, overwrite: bool = False) -> Path:
        """Write ``model.json`` (format version, params, schema, ledger, token fields, network
        shape), ``weights.safetensors``, ``arrays.npz`` (the length distribution, the time-of-day
        shift) and ``checksums.json``; atomic; no pickle."""
        from synthscape import __version__
        from synthscape.generators._nn import save_weights
        from synthscape.generators.dp_sequence._shifts import shift_arrays
        from synthscape.model_files import writing

        self._check_fitted()
        folder = Path(folder)
        if folder.exists() and not overwrite:
            from synthscape.errors import OutputExistsError

            raise OutputExistsError(f"{folder} exists; pass overwrite=True to replace it")
        params = self.get_params()
        params["schema"] = None if self.schema is None else self.schema.to_dict()
        meta = {"format_version": FORMAT_VERSION, "synthscape_version": __version__,
                "generator": self.name, "params": params, "schema": self.schema_.to_dict(),
                "ledger": self.ledger_.to_dict(),
                "state": {"encoding": self.encoding_.get_state(), "arch": self.arch_,
                          "training": self.training_,
                          "lengths_by": None if self.lengths_ is None else self.lengths_.by,
                          "margins_by": _margins_by(self.model_),
                          "margins_by_events":
                              getattr(self.model_, "column_group", None) is not None}}
        with writing(folder) as tmp:
            (tmp / "model.json").write_text(json.dumps(meta, indent=1, sort_keys=True))
            save_weights(self.model_, tmp / WEIGHTS)
            arrays = {} if self.lengths_ is None else {"lengths": self.lengths_.to_array()}
            anchors = getattr(self.lengths_, "anchors", None)
            if anchors is not None:
                arrays["anchor_positions"] = anchors.probs
            follow = getattr(self.lengths_, "followup", None)
            if follow is not None:
                arrays["followup"] = follow.probs
            for name in ("tod_shift", "gap_shift"):
                shift = getattr(self.model_, name, None)
                if shift is not None:
                    arrays[name] = shift.numpy()
            arrays.update(shift_arrays(self.model_))
            if arrays:
                np.savez(tmp / ARRAYS, **arrays)  # type: ignore[arg-type]
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> DPSequenceGenerator:
        """Read a folder written by ``save``: checksums first, then JSON and safetensors only;
        any defect raises ModelFormatError."""
        from synthscape.model_files import load_verified

        return load_verified(folder, cls._read)

    @classmethod
    def _read(cls, folder: Path) -> DPSequenceGenerator:
        from synthscape.generators._nn import load_weights
        from synthscape.generators.dp_sequence._encoding import SequenceEncoding, field_groups
        from synthscape.generators.dp_sequence._model import build

        try:
            meta = json.loads((folder / "model.json").read_text())
        except json.JSONDecodeError as exc:
            raise ModelFormatError(f"{folder / 'model.json'} is not valid JSON: {exc}") from None
        if meta.get("format_version") not in (1, 2, 3, 4, FORMAT_VERSION) or \
                meta.get("generator") != cls.name:
            raise ModelFormatError(f"{folder / 'model.json'} is not a {cls.name} model of format "
                                   f"version {FORMAT_VERSION}; fit and save it again")
        params = dict(meta["params"])
        if params.get("schema") is not None:
            params["schema"] = SequenceSchema.from_dict(params["schema"])
        gen = cls(**params)
        gen.schema_ = SequenceSchema.from_dict(meta["schema"])
        gen.ledger_ = PrivacyLedger.from_dict(meta["ledger"])
        state = meta["state"]
        gen.encoding_ = SequenceEncoding.from_state(gen.schema_, state["encoding"])
        gen.arch_, gen.training_ = state["arch"], state["training"]
        gen.model_ = load_weights(build(gen.arch_), folder / WEIGHTS).eval()
        gen.lengths_ = None
        if gen.arch_.get("length_input"):
            from synthscape.generators.dp_sequence._lengths import LengthModel

            if not (folder / ARRAYS).is_file():
                raise ModelFormatError(f"{folder / ARRAYS} is missing: the model draws sequence "
                                       f"lengths from it; copy the whole folder")
            with np.load(folder / ARRAYS, allow_pickle=False) as z:
                probs = z["lengths"]
            by = state.get("lengths_by")
            try:
                gen.lengths_ = LengthModel.from_array(
                    probs, by, gen.schema_.max_events,
                    None if by is None else field_groups(gen.encoding_.entity_fields[int(by)]))
            except (ValueError, IndexError) as exc:
                raise ModelFormatError(f"{folder / ARRAYS}: {exc}") from None
            if gen.arch_.get("anchor_position"):
                from synthscape.generators.dp_sequence._anchor import AnchorModel

                with np.load(folder / ARRAYS, allow_pickle=False) as z:
                    if "anchor_positions" not in z.files:
                        raise ModelFormatError(f"{folder / ARRAYS} lacks anchor_positions: the "
                                               f"model draws where the anchor day falls from "
                                               f"it; copy the whole folder")
                    try:
                        gen.lengths_.anchors = AnchorModel.from_array(
                            z["anchor_positions"], gen.schema_.max_events)
                        if gen.arch_.get("followup"):
                            from synthscape.generators.dp_sequence._followup import (
                                FollowupModel,
                            )

                            if "followup" not in z.files:
                                raise ValueError("followup is missing: the model draws each "
                                                 "record's follow-up after the anchor from it")
                            gen.lengths_.followup = FollowupModel.from_array(
                                z["followup"], np.asarray(gen.encoding_.days, float),
                                gen.schema_.max_events)
                    except ValueError as exc:
                        raise ModelFormatError(f"{folder / ARRAYS}: {exc}") from None
        if (folder / ARRAYS).is_file():
            import torch

            from synthscape.generators.dp_sequence._shifts import load_shifts

            with np.load(folder / ARRAYS, allow_pickle=False) as z:
                own = {name: z[name] for name in ("tod_shift", "gap_shift") if name in z.files}
                saved = {name: z[name] for name in z.files if name not in own}
            try:
                load_shifts(gen.model_, saved, gen.encoding_, state.get("margins_by"),
                            bool(state.get("margins_by_events", False)))
            except ValueError as exc:
                raise ModelFormatError(f"{folder / ARRAYS}: {exc}") from None
            for name, field, what in (("tod_shift", 1, "time-of-day"), ("gap_shift", 0, "gap")):
                if name not in own:
                    continue
                classes = int(gen.arch_["target_sizes"][field])
                if own[name].shape != (classes,) or not np.isfinite(own[name]).all():
                    raise ModelFormatError(f"{folder / ARRAYS}: {name} must hold one finite "
                                           f"value per {what} class")
                setattr(gen.model_, name, torch.as_tensor(own[name], dtype=torch.float32))
        gen._sample_calls = 0
        return gen


def _margins_by(net) -> int | None:
    group = getattr(net, "entity_group", None)
    return None if group is None else int(group[0])
