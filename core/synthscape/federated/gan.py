"""Neural federation of ``dp_ctgan``: DP-FedAvg (McMahan et al. 2018) of a conditional GAN whose
discriminator trains under record-level DP-SGD at every site, as central ``dp_ctgan`` does.

Protocol (every message is a DP release or public):

1. ``gan_setup``: each site releases a DP row count and the encoder's histograms (one Gaussian
   release of every modelled column's histogram, the central encoder's mechanism, from
   ``encoder_share`` of its budget), then calibrates one DP-SGD noise multiplier that prices all
   its planned rounds at once (RDP adds over rounds; each round then pays its own steps).
2. The coordinator sums the sites' noisy histograms: the same histogram measured at K sites is
   one noisy measurement of the pooled one (as in the marginal federation). The pooled
   histograms give the quantile encoding, CTGAN's condition frequencies and the one-way
   calibration targets of sampling; ``gan_encode`` sends that encoder (public) to the sites.
3. ``gan_train`` (``rounds`` times): from the global generator and discriminator each site runs
   ``local_epochs`` of the GAN loop of :func:`synthscape.generators.dp_ctgan.train_gan` on its
   records: a DP-SGD step of the discriminator (Poisson batches and noise from the site's
   secret source), then a generator step against that privatised discriminator
   (post-processing). It returns the two networks' weights and the weight average of its
   generator over the round; the coordinator averages each with the sites' DP row counts.

The sampling model is the average of the sites' weight-averaged generators of the last round.
The coordinator sees only DP statistics and model weights; each site's records are protected by
its own ledger against the coordinator, the other sites and every recipient.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from synthscape.errors import ParameterError
from synthscape.federated.coordinator import FederatedFit, guarantee_text
from synthscape.federated.neural import (
    average,
    encode_records,
    load_weights,
    pooled_encoder,
    released_generator,
    setup_site,
    site_state,
    weights_of,
)
from synthscape.federated.transport import Transport, broadcast
from synthscape.schema import TableSchema

PARTS = ("generator", "discriminator", "sampler")


def _encoder(schema: TableSchema):
    from synthscape.transforms.tabular_encoder import TabularEncoder

    # central dp_ctgan's defaults: quantile numericals, DP frequencies, every column calibrated
    return TabularEncoder(schema, numerical="quantile", frequencies=True, all_columns=True)


def _state(site) -> dict[str, Any]:
    return site_state(site, "_gan", "gan_setup")


# ---- site side ----------------------------------------------------------------------------------
def site_setup(site, req: dict[str, Any]) -> dict[str, Any]:
    """:func:`~synthscape.federated.neural.setup_site` with dp_ctgan's encoder."""
    schema = TableSchema.from_dict(req["schema"], source="federation schema")
    site._gan, answer = setup_site(site, req, _encoder(schema))
    return answer


def site_encode(site, req: dict[str, Any]) -> dict[str, Any]:
    """Encode the site's records with the pooled encoder."""
    st = _state(site)
    st.update(enc=encode_records(st, req), pooled_rows=int(req["rows"]))
    return {"ok": True}


def site_train(site, req: dict[str, Any]) -> dict[str, Any]:
    """One round of the GAN loop from the global weights; returns the new weights."""
    import torch

    from synthscape.generators._training import DPSGD
    from synthscape.generators.dp_ctgan import networks, train_gan

    st = _state(site)
    if "x" not in st:
        raise ParameterError(f"site {site.name!r}: send 'gan_encode' before 'gan_train'")
    p, arch = st["req"], req["arch"]
    gen, disc = networks(arch, 1, int(p["discriminator_dim"]), 0)
    load_weights(gen, req["generator"])
    load_weights(disc, req["discriminator"])
    trainer = DPSGD(disc, ledger=site.ledger, n_rows=st["rows"], epochs=int(p["epochs"]),
                    batch_size=st["batch"], lr=float(p["lr"]),
                    max_grad_norm=float(p["max_grad_norm"]), device="cpu",
                    noise_multiplier=st["sigma"], grad_sample_mode="bookkeeping",
                    betas=(0.5, 0.9), label=f"site {site.name}: DP-SGD round {req['round']}")
    tg = torch.Generator().manual_seed(int(req["seed"]))  # the GAN's public draws
    gen, sampler = train_gan(trainer, gen, st["x"], st["enc"], st["pooled_rows"], tg,
                             noise_dim=int(arch["noise_dim"]), pac=1,
                             generator_lr=float(p["generator_lr"]),
                             generator_ema=float(p["generator_ema"]),
                             max_condition_weight=float(p["max_condition_weight"]))
    trainer.finish()
    return {"weights": {"generator": weights_of(gen), "sampler": weights_of(sampler),
                        "discriminator": weights_of(trainer.base_module)}}


# ---- coordinator --------------------------------------------------------------------------------
def fit_gan(transport: Transport, schema: TableSchema, *, rounds: int = 10,
            local_epochs: int = 2, batch_size: int | None = None, lr: float = 2e-3,
            generator_lr: float = 2e-3, max_grad_norm: float = 1.0, noise_dim: int = 64,
            generator_dim: int = 128, discriminator_dim: int = 128, depth: int = 2,
            encoder_share: float = 0.3, generator_ema: float = 0.9,
            max_condition_weight: float = 1.0, seed: int | None = None,
            **_: object) -> FederatedFit:
    """DP-FedAvg of a ``dp_ctgan`` model over the sites behind ``transport``.

    ``batch_size`` left unset gives each site the batch of central dp_ctgan's rule for its DP
    row count (about 5% of its rows), so ``rounds x local_epochs`` epochs are about 20 steps
    each: the defaults (10 x 2) plan about 400 steps at every site, half central dp_ctgan's
    800 (10 x 4 cost twice the compute for no clear gain: docs/benchmarks.md)."""
    from synthscape.generators._calibrate import MarginalCalibration
    from synthscape.generators.dp_ctgan import (
        DPCTGAN,
        _generator_class,
        condition_tables,
        networks,
    )

    if rounds < 1 or local_epochs < 1:
        raise ParameterError(f"rounds and local_epochs must be >= 1, got {rounds}, "
                             f"{local_epochs}")
    params = {"rounds": rounds, "epochs": local_epochs, "batch_size": batch_size, "lr": lr,
              "generator_lr": generator_lr, "max_grad_norm": max_grad_norm,
              "discriminator_dim": discriminator_dim, "encoder_share": encoder_share,
              "generator_ema": generator_ema, "max_condition_weight": max_condition_weight}
    answers = broadcast(transport, {"op": "gan_setup", "schema": schema.to_dict(), **params})
    rows = {name: float(a["rows"]) for name, a in answers.items()}
    enc = pooled_encoder(_encoder(schema), answers)
    n = max(1, int(round(sum(rows.values()))))
    broadcast(transport, {"op": "gan_encode", "encoder": enc.get_state(), "rows": n})
    arch = {"noise_dim": noise_dim, "cond_dim": condition_tables(enc)[1],
            "hidden": generator_dim, "depth": depth, "out": enc.output_dim}
    base = int(seed or 0)
    gen, disc = networks(arch, 1, discriminator_dim, base)
    glob = {"generator": weights_of(gen), "discriminator": weights_of(disc)}
    share = {name: r / sum(rows.values()) for name, r in rows.items()}
    sampler: dict[str, np.ndarray] = glob["generator"]
    for r in range(1, rounds + 1):
        answers = transport.exchange({
            name: {"op": "gan_train", "round": r, "arch": arch, **glob,
                   "seed": (base * 1000 + r) * 1000 + i}
            for i, name in enumerate(transport.names)})
        avg = {part: average([(share[name], a["weights"][part]) for name, a in answers.items()])
               for part in PARTS}
        glob = {"generator": avg["generator"], "discriminator": avg["discriminator"]}
        sampler = avg["sampler"]
    model = _generator_class()(noise_dim, arch["cond_dim"], generator_dim, depth, arch["out"])
    load_weights(model, sampler)
    out, ledgers = released_generator(
        transport, DPCTGAN, schema, enc, arch, model, MarginalCalibration.from_encoder(enc),
        {"rounds": rounds, "local_epochs": local_epochs, "sites": len(rows)},
        epochs=rounds * local_epochs, batch_size=batch_size, lr=lr, generator_lr=generator_lr,
        max_grad_norm=max_grad_norm, noise_dim=noise_dim, generator_dim=generator_dim,
        discriminator_dim=discriminator_dim, depth=depth, encoder_share=encoder_share,
        generator_ema=generator_ema, max_condition_weight=max_condition_weight, seed=seed)
    return FederatedFit(out, ledgers, guarantee_text(ledgers), rounds, [])
