"""Neural federation of ``dp_sequence``: DP-FedAvg (McMahan et al. 2018) of the event-sequence
model, each site training under entity-level DP-SGD (one entity's whole history is the unit,
as in central ``dp_sequence``).

Every site holds an events table and, when the schema declares entity columns, an entities
table (``Site(..., entities=...)``). The schema must be declared in full (vocabularies, bounds,
time bounds): inferring it would need each site's data, and a vocabulary united from DP key
releases is the marginal federation's job (:mod:`.site`).

Protocol (every message is a DP release or public):

1. ``seq_setup``: each site encodes its histories with the declared schema, releases a DP
   entity count, the histogram of its sequence lengths and its hour-of-day profile (the
   mechanisms of :mod:`synthscape.generators.dp_sequence._lengths`, from ``length_share`` and
   ``tod_share`` of its budget), then calibrates one DP-SGD noise multiplier that prices every
   planned round at once.
2. The coordinator sums the sites' noisy histograms (one noisy measurement of the pooled
   histogram with variance ``sum sigma_k^2``), turns them into the length distribution and the
   time-of-day prior (post-processing), and builds the network from the pooled DP count.
3. ``seq_train`` (``rounds`` times): from the global weights each site runs ``local_epochs`` of
   DP-SGD on its entities (Poisson batches, noise from its secret source) and returns the
   weights; the coordinator averages them with the sites' DP entity counts.

The coordinator sees only DP statistics and model weights; each site's entities are protected
by its own ledger against the coordinator, the other sites and every recipient.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from synthscape.errors import ParameterError, SchemaError
from synthscape.federated.coordinator import FederatedFit, guarantee_text
from synthscape.federated.neural import (
    average,
    collect_ledgers,
    load_weights,
    price_rounds,
    site_state,
    weights_of,
)
from synthscape.federated.transport import Transport, broadcast
from synthscape.schema.sequence import SequenceSchema


def _schema(req: dict[str, Any]) -> SequenceSchema:
    return SequenceSchema.from_dict(req["schema"], source="federation sequence schema")


def _encoding(req: dict[str, Any]):
    from synthscape.generators.dp_sequence._encoding import SequenceEncoding

    return SequenceEncoding(_schema(req), bins=int(req["bins"]))


def _state(site) -> dict[str, Any]:
    return site_state(site, "_seq", "seq_setup")


# ---- site side ----------------------------------------------------------------------------------
def site_setup(site, req: dict[str, Any]) -> dict[str, Any]:
    """DP entity count, noisy length histogram and hour profile, and one DP-SGD noise
    multiplier for every planned round (calibrated on what the releases left)."""
    from synthscape.generators.dp_sequence import _data, _lengths, _margins
    from synthscape.generators.dp_sequence.generator import COUNT_SHARE, default_training
    from synthscape.privacy.mechanisms import noisy_count

    enc = _encoding(req)
    schema = enc.schema
    entities = site.entities if enc.entity_fields else None
    if enc.entity_fields and entities is None:
        raise ParameterError(f"site {site.name!r} has no entities table; the schema declares "
                             f"entity columns {[f.name for f in enc.entity_fields]}")
    _data.check_columns(site._data, entities, schema.entity_key, schema.time_key)
    records = _data.build_records(site._data, entities, enc, policy="clip")
    led = site.ledger
    n = noisy_count(len(records.lengths), ledger=led, share=COUNT_SHARE,
                    label=f"site {site.name}: entity count (plans DP-SGD)")
    out: dict[str, Any] = {"rows": float(n)}
    if req["length_share"] is not None:
        j = _lengths.group_field(enc, req["length_by"])
        hist = _lengths.length_hist(records.lengths, records.entities, enc, j)
        out["lengths"], out["lengths_sigma"] = _lengths.noisy_length_hist(
            hist, enc, req["length_by"], ledger=led, share=float(req["length_share"]))
    if req["tod_share"] is not None:
        hist = _lengths.tod_hist(records.events, records.lengths, enc.target_sizes[1])
        out["tod"], out["tod_sigma"] = _lengths.noisy_tod(hist, ledger=led,
                                                          share=float(req["tod_share"]))
    if req.get("margin_share") is not None:
        rel = _margins.release(records.entities, records.lengths, records.events, enc,
                               ledger=led, share=float(req["margin_share"]))
        out["margins"], out["margins_std"] = rel.vector, rel.std
    own = default_training(n, schema.max_events, led.budget.epsilon if led.budget else None)
    bs = min(int(req["batch_size"] or own["batch_size"]), n)
    rounds_n = int(req["rounds"])
    epochs = int(req["epochs"] or max(1, math.ceil(
        own["epochs"] * own["batch_size"] / bs / rounds_n)))  # the site's own ~200 steps
    sigma = price_rounds(site, n, bs, rounds_n * epochs * max(1, math.ceil(n / bs)))
    site._seq = {"records": records, "rows": n, "batch": bs, "epochs": epochs, "sigma": sigma,
                 "req": req}
    out["epochs"] = epochs
    return out


def site_train(site, req: dict[str, Any]) -> dict[str, Any]:
    """One round of per-entity DP-SGD from the global weights; returns the new weights."""

    from synthscape.generators._training import DPSGD
    from synthscape.generators.dp_sequence._model import build, train_epochs

    st = _state(site)
    p, records = st["req"], st["records"]
    net = build(req["arch"])
    load_weights(net, req["weights"])
    L = int(req["arch"]["max_events"])
    trainer = DPSGD(net, ledger=site.ledger, n_rows=st["rows"], epochs=st["epochs"],
                    batch_size=st["batch"], lr=float(req["lr"]),
                    max_grad_norm=float(p["max_grad_norm"]), device="cpu",
                    noise_multiplier=st["sigma"], grad_sample_mode="hooks",
                    label=f"site {site.name}: per-entity DP-SGD round {req['round']}; "
                          f"histories cut to their first {L} events")
    train_epochs(trainer, records, L)
    trainer.finish()
    return {"weights": weights_of(trainer.base_module)}


# ---- coordinator --------------------------------------------------------------------------------
def _pooled(answers: dict[str, dict[str, Any]], key: str) -> tuple[np.ndarray, float]:
    """The sum of the sites' noisy histograms and its noise sd."""
    total = np.sum([np.asarray(a[key], dtype=float) for a in answers.values()], axis=0)
    return total, math.sqrt(sum(float(a[f"{key}_sigma"]) ** 2 for a in answers.values()))


def _pooled_margins(answers: dict[str, dict[str, Any]]):
    """The sum of the sites' margin releases: one release whose cells carry the summed noise
    variances."""
    from synthscape.generators.dp_sequence._margins import MarginRelease

    total = np.sum([np.asarray(a["margins"], dtype=float) for a in answers.values()], axis=0)
    stds = [a["margins_std"] for a in answers.values()]
    if any(s is None for s in stds):
        return MarginRelease(total, None)
    return MarginRelease(total, (math.sqrt(sum(float(s[0]) ** 2 for s in stds)),
                                 math.sqrt(sum(float(s[1]) ** 2 for s in stds))))


def fit_sequence(transport: Transport, schema: SequenceSchema, *, rounds: int = 5,
                 local_epochs: int | None = None, batch_size: int | None = None,
                 lr: float | None = None, width: int | None = None, bins: int = 32,
                 max_grad_norm: float = 1.0, length_share: float | None = 0.05,
                 length_by: str | None = None, tod_share: float | None = 0.02,
                 margin_share: float | None = 0.1, seed: int | None = None) -> FederatedFit:
    """DP-FedAvg of a ``dp_sequence`` model over the sites behind ``transport``.

    Left unset, each site takes the batch of central dp_sequence's rule for its own DP entity
    count and spreads that rule's ~200 DP-SGD steps over the rounds (``local_epochs`` fixes the
    epochs per round at every site instead); ``lr`` and ``width`` are the rule's. The released
    generator samples as a central one does."""
    import torch

    from synthscape.generators._nn import seeded
    from synthscape.generators.dp_sequence import _lengths
    from synthscape.generators.dp_sequence._model import architecture, build, start_heads
    from synthscape.generators.dp_sequence.generator import DPSequenceGenerator, default_training

    if not schema.complete:
        raise SchemaError("federated dp_sequence needs a fully declared SequenceSchema "
                          "(vocabularies, bounds and time bounds): the coordinator has no data "
                          "to infer them from; declare them or unite vocabularies first")
    if rounds < 1 or (local_epochs is not None and local_epochs < 1):
        raise ParameterError(f"rounds and local_epochs must be >= 1, got {rounds}, "
                             f"{local_epochs}")
    plan = default_training(1000, schema.max_events, None)  # lr and width do not use the count
    req = {"op": "seq_setup", "schema": schema.to_dict(), "bins": bins, "rounds": rounds,
           "epochs": local_epochs, "batch_size": batch_size, "max_grad_norm": max_grad_norm,
           "length_share": length_share, "length_by": length_by, "tod_share": tod_share,
           "margin_share": margin_share}
    answers = broadcast(transport, req)
    enc = _encoding(req)
    rows = {name: float(a["rows"]) for name, a in answers.items()}
    n = max(1, int(round(sum(rows.values()))))
    lengths = None
    if length_share is not None:
        j = _lengths.group_field(enc, length_by)
        lengths = _lengths.length_model(*_pooled(answers, "lengths"), enc, j)
    tod = None if tod_share is None else _pooled(answers, "tod")
    arch = architecture(enc, int(width or plan["width"]), lengths is not None)
    with seeded(int(seed or 0)):
        net = build(arch)
    start_heads(net, enc, None if tod is None else
                _lengths.tod_logp(_lengths.tod_profile(*tod), enc.target_sizes[1]))
    glob = weights_of(net)
    share = {name: r / sum(rows.values()) for name, r in rows.items()}
    for r in range(1, rounds + 1):
        out = broadcast(transport, {"op": "seq_train", "round": r, "arch": arch,
                                    "weights": glob, "lr": float(lr or plan["lr"])})
        glob = average([(share[name], a["weights"]) for name, a in out.items()])
    load_weights(net, glob)
    margin_fit = None
    if margin_share is not None:  # post-processing: margins onto the pooled release
        from synthscape.generators.dp_sequence._margins import calibrate as calibrate_margins
        from synthscape.random import derive_rng

        with torch.no_grad():
            margin_fit = calibrate_margins(
                net.eval(), enc, _pooled_margins(answers), lengths,
                derive_rng(seed, "margins") if seed is not None else derive_rng(None))
    if tod is not None:  # post-processing: sampled hours onto the pooled released profile
        from synthscape.generators.dp_sequence._tod import calibrate
        from synthscape.random import derive_rng

        with torch.no_grad():
            tod_fit = calibrate(net.eval(), enc, *tod, lengths, derive_rng(seed, "time of day")
                                if seed is not None else derive_rng(None))
    ledgers = collect_ledgers(transport)
    worst = max(ledgers.values(), key=lambda led: led.epsilon)
    gen = DPSequenceGenerator(
        epsilon=worst.budget.epsilon if worst.budget else None, delta=worst.delta,
        schema=schema, max_events=schema.max_events, expected_entities=None,
        epochs=local_epochs, batch_size=batch_size, lr=lr, width=arch["width"],
        bins=bins, max_grad_norm=max_grad_norm, accountant=worst.accountant_name,
        length_share=length_share, length_by=length_by, tod_share=tod_share,
        margin_share=margin_share, device="cpu", seed=seed)
    gen.schema_, gen.encoding_, gen.ledger_, gen.arch_ = schema, enc, worst, arch
    gen.model_, gen.lengths_ = net.eval(), lengths
    gen.training_ = {"rounds": rounds, "sites": len(rows), "planned_entities": n,
                     "local_epochs": {name: int(a["epochs"]) for name, a in answers.items()}}
    if tod is not None:
        gen.training_["time_of_day"] = tod_fit
    if margin_fit is not None:
        gen.training_["margins"] = margin_fit
    gen._sample_calls = 0
    return FederatedFit(gen, ledgers, guarantee_text(ledgers), rounds, [])
