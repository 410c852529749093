"""Neural federation: DP-FedAvg of ``dp_tvae`` (McMahan et al. 2018, "Learning differentially
private recurrent language models", with per-site DP-SGD as in Abadi et al. 2016); the same for
``dp_ctgan`` in :mod:`.gan`, which shares the helpers here.

Protocol, as for ``dp_ctgan`` (:mod:`.gan`): ``nn_setup`` makes each site release a DP row
count and the encoder's histograms (one Gaussian release of every column's histogram, central
dp_tvae's mechanism, from ``encoder_share`` of its budget) and calibrate one DP-SGD noise
multiplier that prices all its planned rounds at once (RDP adds over rounds). The coordinator
sums the histograms (one noisy measurement of the pooled histogram each): they give the quantile
encoding and the one-way calibration targets of sampling, as central dp_tvae's defaults use;
``nn_encode`` sends that encoder (public) to the sites. Each round (``nn_train``) the
coordinator sends the global VAE weights (public: post-processing of DP outputs); every site
trains ``local_epochs`` of DP-SGD on its records (the shared loop of
:mod:`synthscape.generators._training`, Poisson batches and noise from the site's secret
source) and returns its weights; averaging uses the DP row counts. A site's batch left unset
comes from central dp_tvae's rule for its DP row count (about 5% of its rows).

Two guarantees, each in its own ledger:

- record level (always): a site's records against the coordinator, the other sites and every
  recipient, from that site's ledger;
- site level (``site_budget``): the coordinator clips each site's update to ``site_clip`` and
  adds Gaussian noise to their sum, so the released model hides whether a whole site took
  part (against recipients of the model, not against the coordinator, which sees the updates).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from synthscape.errors import ParameterError
from synthscape.federated.coordinator import FederatedFit, guarantee_text
from synthscape.federated.transport import Transport, broadcast
from synthscape.privacy.budget import Budget
from synthscape.privacy.events import GaussianEvent, SubsampledGaussianEvent
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.schema import TableSchema


def _encoder(schema: TableSchema):
    from synthscape.transforms.tabular_encoder import TabularEncoder

    # central dp_tvae's defaults: quantile numericals, every column calibrated at sampling
    return TabularEncoder(schema, numerical="quantile", frequencies=False, all_columns=True)


def _vae(arch: dict[str, Any], seed: int):
    from synthscape.generators._nn import seeded
    from synthscape.generators.dp_tvae import _modules

    _, VAE = _modules()
    with seeded(seed):
        return VAE(arch["out"], arch["latent"], arch["hidden"], arch["depth"], arch["n_values"])


def weights_of(module) -> dict[str, np.ndarray]:
    return {k: v.detach().cpu().numpy().astype(np.float64) for k, v in
            module.state_dict().items()}


def load_weights(module, weights: dict[str, np.ndarray]) -> None:
    import torch

    module.load_state_dict({k: torch.as_tensor(np.asarray(v), dtype=torch.float32)
                            for k, v in weights.items()})


def average(parts: list[tuple[float, dict[str, np.ndarray]]]) -> dict[str, np.ndarray]:
    """The weighted average of the sites' weights (FedAvg); ``parts``: (weight, weights)."""
    return {k: np.sum([w * ws[k] for w, ws in parts], axis=0) for k in parts[0][1]}


def collect_ledgers(transport: Transport) -> dict[str, PrivacyLedger]:
    """Every site's ledger (public: part of the release)."""
    return {n: PrivacyLedger.from_dict(a["ledger"])
            for n, a in broadcast(transport, {"op": "ledger"}).items()}


def released_generator(transport: Transport, cls, schema: TableSchema, enc, arch: dict,
                       model, calibration, training: dict[str, Any], **params):
    """Collect every site's ledger; the fitted generator ``cls(**params)`` that samples from
    ``model``, its ledger the worst site's (parallel composition over disjoint sites)."""
    ledgers = collect_ledgers(transport)
    worst = max(ledgers.values(), key=lambda led: led.epsilon)
    gen = cls(epsilon=worst.budget.epsilon if worst.budget else None, delta=worst.delta,
              accountant=worst.accountant_name, **params)
    gen.schema_, gen.ledger_, gen.encoder_, gen.arch_ = schema, worst, enc, arch
    gen.model_, gen.calibration_ = model.eval(), calibration
    gen.training_ = training
    gen._sample_calls = 0
    return gen, ledgers


def site_state(site, attr: str, setup_op: str) -> dict[str, Any]:
    """What ``setup_op`` left on ``site`` (at ``attr``), or one error saying to send it first."""
    st = getattr(site, attr, None)
    if st is None:
        raise ParameterError(f"site {site.name!r}: send {setup_op!r} first")
    return st


def price_rounds(site, n: int, batch: int, steps: int) -> float:
    """The one DP-SGD noise multiplier that prices every planned round of ``site`` at once
    (``steps`` Poisson-subsampled steps at rate ``batch / n``) on what its ledger has left.
    RDP adds over rounds, so each round then pays its own steps within the budget."""
    from synthscape.generators._training import calibrate_noise

    led = site.ledger

    def rounds(x: float) -> SubsampledGaussianEvent:
        return SubsampledGaussianEvent(noise_multiplier=x, sample_rate=min(1.0, batch / n),
                                       steps=steps)

    sigma = calibrate_noise(led, rounds, min(1.0, batch / n), steps, label=f"site {site.name}")
    while led.would_exceed(rounds(sigma)):  # the proxy of an overspent ledger: raise it
        sigma *= 1.05
    return sigma


# ---- site side ----------------------------------------------------------------------------------
def setup_site(site, req: dict[str, Any], encoder) -> tuple[dict[str, Any], dict[str, Any]]:
    """The setup DP-FedAvg of dp_tvae and of dp_ctgan share: a DP row count, the encoder's noisy
    histograms (``encoder``: the protocol's unfitted encoder; one release from
    ``req["encoder_share"]``), and one DP-SGD noise multiplier for every planned round
    (calibrated on what the two releases left). Returns the site's state and its answer."""
    from synthscape.generators._defaults import training_plan
    from synthscape.generators._nn_generator import ROWS_SHARE
    from synthscape.privacy.mechanisms import noisy_count

    schema = encoder.schema
    missing = [c for c in schema.names if c not in site._data.columns]
    if missing:
        raise ParameterError(f"site {site.name!r} has no column(s) {missing} of the schema")
    data = schema.validate(site._data[schema.names], out_of_bounds="clip",
                           source=f"site {site.name}")
    led = site.ledger
    n = noisy_count(len(data), ledger=led, share=ROWS_SHARE,
                    label=f"site {site.name}: row count (plans DP-SGD)")
    encoder.fit(data, ledger=led,
                noise_multiplier=encoder.calibrate(led, float(req["encoder_share"])))
    bs = min(int(req["batch_size"] or training_plan(n)["batch_size"]), n)
    steps = int(req["rounds"]) * int(req["epochs"]) * max(1, math.ceil(n / bs))
    sigma = price_rounds(site, n, bs, steps)
    state = {"data": data, "rows": n, "batch": bs, "sigma": sigma, "req": req}
    return state, {"rows": float(n),
                   "hists": {c.name: encoder.hists_[c.name] for c in encoder.released()}}


def encode_records(state: dict[str, Any], req: dict[str, Any]):
    """The pooled encoder sent in ``req``; the site's records, encoded with it, replace its
    raw rows in ``state`` (public encoder: post-processing)."""
    from synthscape.transforms.tabular_encoder import TabularEncoder

    enc = TabularEncoder.from_state(TableSchema.from_dict(state["req"]["schema"]),
                                    req["encoder"])
    state["x"] = enc.transform(state.pop("data"))
    return enc


def pooled_encoder(encoder, answers: dict[str, dict[str, Any]]):
    """``encoder`` (unfitted) fitted on the sum of the sites' noisy histograms: the same
    histogram measured at K sites is one noisy measurement of the pooled one."""
    return encoder.fit_released({c.name: np.sum([a["hists"][c.name] for a in answers.values()],
                                                axis=0) for c in encoder.released()})


def site_setup(site, req: dict[str, Any]) -> dict[str, Any]:
    """:func:`setup_site` with dp_tvae's encoder."""
    schema = TableSchema.from_dict(req["schema"], source="federation schema")
    site._nn, answer = setup_site(site, req, _encoder(schema))
    return answer


def site_encode(site, req: dict[str, Any]) -> dict[str, Any]:
    """Encode the site's records with the pooled encoder."""
    st = site_state(site, "_nn", "nn_setup")
    enc = encode_records(st, req)
    st.update(spans=enc.spans, arch=req["arch"])
    return {"ok": True}


def site_train(site, req: dict[str, Any]) -> dict[str, Any]:
    """One round: DP-SGD for ``epochs`` from the global weights; returns the new weights."""
    import torch

    from synthscape.generators._nn import reconstruction_loss
    from synthscape.generators._training import DPSGD

    st = site_state(site, "_nn", "nn_setup")
    if "x" not in st:
        raise ParameterError(f"site {site.name!r}: send 'nn_encode' before 'nn_train'")
    p, arch = st["req"], st["arch"]
    vae = _vae(arch, 0)
    load_weights(vae, req["weights"])
    trainer = DPSGD(vae, ledger=site.ledger, n_rows=st["rows"], epochs=int(p["epochs"]),
                    batch_size=st["batch"], lr=float(p["lr"]),
                    max_grad_norm=float(p["max_grad_norm"]), device="cpu",
                    noise_multiplier=st["sigma"], grad_sample_mode="bookkeeping",
                    label=f"site {site.name}: DP-SGD round {req['round']}")
    gen = torch.Generator().manual_seed(int(req["round"]))  # the VAE's latent draws (public)
    for batch in trainer.batches(torch.as_tensor(st["x"], dtype=torch.float32)):
        eps = torch.randn(batch.shape[0], arch["latent"], generator=gen)
        raw, log_sigma, mu, logvar = trainer.module(batch, eps)
        rec = reconstruction_loss(raw, batch, st["spans"], log_sigma)
        kl = -0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)
        trainer.step(float(p["loss_factor"]) * rec + kl)
    trainer.finish()
    return {"weights": weights_of(trainer.base_module)}


# ---- coordinator --------------------------------------------------------------------------------
def fit_neural(transport: Transport, schema: TableSchema, *, rounds: int = 10,
               local_epochs: int = 2, batch_size: int | None = None, lr: float = 1e-2,
               max_grad_norm: float = 1.0, latent_dim: int = 16, hidden_dim: int = 64,
               depth: int = 2, loss_factor: float = 2.0, encoder_share: float = 0.3,
               site_budget: Budget | None = None, site_clip: float = 1.0,
               seed: int | None = None, **_: object) -> FederatedFit:
    """DP-FedAvg of a ``dp_tvae`` model over the sites behind ``transport``.

    ``batch_size`` left unset gives each site the batch of central dp_tvae's rule for its DP row
    count (about 5% of its rows): the defaults (10 rounds x 2 local epochs of ~20 batches) plan
    about 400 DP-SGD steps at every site."""
    from synthscape.generators._calibrate import MarginalCalibration
    from synthscape.generators.dp_tvae import DPTVAE

    if rounds < 1 or local_epochs < 1:
        raise ParameterError(f"rounds and local_epochs must be >= 1, got {rounds}, "
                             f"{local_epochs}")
    req = {"op": "nn_setup", "schema": schema.to_dict(), "rounds": rounds,
           "epochs": local_epochs, "batch_size": batch_size, "lr": lr,
           "max_grad_norm": max_grad_norm, "loss_factor": loss_factor,
           "encoder_share": encoder_share}
    answers = broadcast(transport, req)
    rows = {n: float(a["rows"]) for n, a in answers.items()}
    enc = pooled_encoder(_encoder(schema), answers)
    arch = {"latent": latent_dim, "hidden": hidden_dim, "depth": depth, "out": enc.output_dim,
            "n_values": sum(1 for s in enc.spans if not s.is_softmax)}
    broadcast(transport, {"op": "nn_encode", "encoder": enc.get_state(), "arch": arch})
    vae = _vae(arch, int(seed or 0))
    central: PrivacyLedger | None = None
    z = 0.0
    if site_budget is not None:  # one Gaussian release of the clipped sum per round
        central = PrivacyLedger(site_budget)
        z = central.calibrate(lambda x: GaussianEvent(noise_multiplier=x, count=rounds))
        central.spend(GaussianEvent(noise_multiplier=z, count=rounds,
                                    label=f"clipped site updates, {rounds} rounds (unit: site)"))
    glob = weights_of(vae)
    for r in range(1, rounds + 1):
        answers = broadcast(transport, {"op": "nn_train", "weights": glob, "round": r})
        if central is None:
            total = sum(rows[n] for n in answers)
            glob = average([(rows[n] / total, a["weights"]) for n, a in answers.items()])
            continue
        deltas = []
        for a in answers.values():  # clip each site's whole update to site_clip (L2)
            d = {k: a["weights"][k] - glob[k] for k in glob}
            norm = math.sqrt(sum(float(np.sum(v * v)) for v in d.values()))
            deltas.append({k: v * min(1.0, site_clip / max(norm, 1e-12)) for k, v in d.items()})
        glob = {k: glob[k] + (sum(d[k] for d in deltas) + z * site_clip *
                              central.noise.standard_normal(glob[k].shape)) / len(deltas)
                for k in glob}
    load_weights(vae, glob)
    gen, ledgers = released_generator(
        transport, DPTVAE, schema, enc, arch, vae.dec, MarginalCalibration.from_encoder(enc),
        {"rounds": rounds, "local_epochs": local_epochs, "sites": len(rows)},
        epochs=rounds * local_epochs, batch_size=batch_size, lr=lr,
        max_grad_norm=max_grad_norm, latent_dim=latent_dim, hidden_dim=hidden_dim,
        depth=depth, loss_factor=loss_factor, encoder_share=encoder_share, seed=seed)
    text = guarantee_text(ledgers)
    if central is not None:
        text += (f" Site level: the released model is {central.describe()} for the whole data "
                 f"of any one site (updates clipped to {site_clip:g}, Gaussian noise on their "
                 f"sum); this holds against recipients of the model, not against the "
                 f"coordinator, which sees each site's update.")
        ledgers = {**ledgers, "site-level": central}
    return FederatedFit(gen, ledgers, text, rounds, [])
