"""Neural federation: DP-FedAvg of ``dp_tvae`` (McMahan et al. 2018, "Learning differentially
private recurrent language models", with per-site DP-SGD as in Abadi et al. 2016); the same for
``dp_ctgan`` in :mod:`.gan`, which shares the helpers here.

Each round the coordinator sends the global VAE weights (public: post-processing of DP outputs);
every site trains ``local_epochs`` of DP-SGD on its records (the shared loop of
:mod:`synthscape.generators._training`, Poisson batches and noise from the site's secret source)
and returns its weights. The site calibrates one noise multiplier for all its planned rounds at
once, so the rounds together spend its budget (RDP composes additively over rounds), and plans from
a DP row count. Averaging uses those DP counts.

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
import pandas as pd

from synthscape.errors import ParameterError
from synthscape.federated.coordinator import FederatedFit, guarantee_text
from synthscape.federated.transport import Transport, broadcast
from synthscape.privacy.budget import Budget
from synthscape.privacy.events import GaussianEvent, SubsampledGaussianEvent
from synthscape.privacy.ledger import PrivacyLedger
from synthscape.schema import TableSchema


def _vae(schema: TableSchema, arch: dict[str, Any], seed: int):
    from synthscape.generators._nn import seeded
    from synthscape.generators.dp_tvae import _modules
    from synthscape.transforms.tabular_encoder import TabularEncoder

    enc = TabularEncoder(schema, numerical="minmax", frequencies=False, all_columns=False)
    enc.fit(pd.DataFrame(columns=schema.names), ledger=PrivacyLedger(None))  # schema only
    n_values = sum(1 for s in enc.spans if not s.is_softmax)
    _, VAE = _modules()
    with seeded(seed):
        vae = VAE(enc.output_dim, arch["latent"], arch["hidden"], arch["depth"], n_values)
    arch = {**arch, "out": enc.output_dim, "n_values": n_values}
    return enc, vae, arch


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
def site_setup(site, req: dict[str, Any]) -> dict[str, Any]:
    """Encode the records, release a DP row count, calibrate one noise multiplier that prices
    every planned round at once (RDP adds over rounds: the rounds then spend the budget that
    is left, each round paying its own steps as it runs)."""
    from synthscape.generators._nn_generator import ROWS_SHARE
    from synthscape.privacy.mechanisms import noisy_count

    schema = TableSchema.from_dict(req["schema"], source="federation schema")
    data = schema.validate(site._data[schema.names], out_of_bounds="clip",
                           source=f"site {site.name}")
    enc, _, arch = _vae(schema, req["arch"], 0)
    site._nn = {"x": enc.transform(data), "spans": enc.spans, "arch": arch, "req": req}
    n = noisy_count(len(data), ledger=site.ledger, share=ROWS_SHARE,
                    label=f"site {site.name}: row count (plans DP-SGD)")
    led = site.ledger
    bs = min(int(req["batch_size"]), n)
    steps = int(req["rounds"]) * int(req["epochs"]) * max(1, math.ceil(n / bs))
    assert led.budget is not None  # a Site always has a budget
    sigma = led.calibrate(lambda x: SubsampledGaussianEvent(  # every round, priced at once
        noise_multiplier=x, sample_rate=min(1.0, bs / n), steps=steps),
        epsilon=led.budget.epsilon * (1 - 1e-4))
    site._nn.update(rows=n, sigma=sigma)
    return {"rows": float(n)}


def site_train(site, req: dict[str, Any]) -> dict[str, Any]:
    """One round: DP-SGD for ``epochs`` from the global weights; returns the new weights."""
    import torch

    from synthscape.generators._nn import reconstruction_loss
    from synthscape.generators._training import DPSGD

    st = getattr(site, "_nn", None)
    if st is None:
        raise ParameterError(f"site {site.name!r}: send 'nn_setup' before 'nn_train'")
    p, arch = st["req"], st["arch"]
    _, vae, _ = _vae(TableSchema.from_dict(p["schema"]), p["arch"], 0)
    load_weights(vae, req["weights"])
    trainer = DPSGD(vae, ledger=site.ledger, n_rows=st["rows"], epochs=int(p["epochs"]),
                    batch_size=min(int(p["batch_size"]), st["rows"]), lr=float(p["lr"]),
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
def fit_neural(transport: Transport, schema: TableSchema, *, rounds: int = 5,
               local_epochs: int = 1, batch_size: int = 256, lr: float = 1e-2,
               max_grad_norm: float = 1.0, latent_dim: int = 8, hidden_dim: int = 64,
               depth: int = 2, loss_factor: float = 2.0, site_budget: Budget | None = None,
               site_clip: float = 1.0, seed: int | None = None, **_: object) -> FederatedFit:
    """DP-FedAvg of a ``dp_tvae`` model over the sites behind ``transport``."""
    from synthscape.generators.dp_tvae import DPTVAE

    arch = {"latent": latent_dim, "hidden": hidden_dim, "depth": depth}
    enc, vae, arch = _vae(schema, arch, int(seed or 0))
    req = {"op": "nn_setup", "schema": schema.to_dict(), "arch": arch, "rounds": rounds,
           "epochs": local_epochs, "batch_size": batch_size, "lr": lr,
           "max_grad_norm": max_grad_norm, "loss_factor": loss_factor}
    rows = {n: float(a["rows"]) for n, a in broadcast(transport, req).items()}
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
        transport, DPTVAE, schema, enc, arch, vae.dec, None,
        {"rounds": rounds, "local_epochs": local_epochs, "sites": len(rows)},
        epochs=rounds * local_epochs, batch_size=batch_size, lr=lr,
        max_grad_norm=max_grad_norm, latent_dim=latent_dim, hidden_dim=hidden_dim,
        depth=depth, loss_factor=loss_factor, numerical="minmax", calibrate=False, seed=seed)
    text = guarantee_text(ledgers)
    if central is not None:
        text += (f" Site level: the released model is {central.describe()} for the whole data "
                 f"of any one site (updates clipped to {site_clip:g}, Gaussian noise on their "
                 f"sum); this holds against recipients of the model, not against the "
                 f"coordinator, which sees each site's update.")
        ledgers = {**ledgers, "site-level": central}
    return FederatedFit(gen, ledgers, text, rounds, [])
