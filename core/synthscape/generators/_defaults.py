"""The data-independent rule that sets dp_ctgan's and dp_tvae's training length and batch size.

Inputs are public or paid for: the planned row count ``n`` (declared ``expected_rows``, or the DP
count ``_planned_rows`` pays 1% of the budget for), nothing else of the data. The rule never looks
at a fit's outcome, so no hyper-parameter is selected on the real data.

Reasoning. In DP-SGD with Poisson rate ``q = B / n`` and ``T`` steps, the noise multiplier that
fits a budget grows about like ``q sqrt(T)``, so the noise in each averaged gradient,
``sigma C / B``, is about ``c sqrt(T) / (epsilon n)`` whatever the batch: a larger batch buys no
signal, it only costs compute, until ``sigma`` falls near 1, where amplification by subsampling
weakens. The rule therefore fixes

- the sample rate near 5% (``batch = n / 20``, a multiple of 64 in [64, 1024]), which keeps
  ``sigma`` well above 1 at the epsilons we target on tables of 1k-100k rows;
- the number of steps from a compute budget, ``STEPS_COMPUTE / batch`` rows of gradients
  (300k: a 50k x 20 table fits in under a minute on 2 cores), kept in [300, 800]: Adam needs a
  few hundred updates to fit the small networks at all, and each step has a fixed cost (tens of
  milliseconds on a CPU) that small tables would otherwise pay many times over;
- epochs = ceil(steps x batch / n).

Examples: 1,000 rows: batch 64, 800 steps (52 epochs); 8,000 rows: batch 384, 781 steps
(38 epochs); 50,000 rows: batch 1024, 300 steps (7 epochs).

Learning rates (Adam: scale-free in the gradient, so one value serves every table), widths (128
for the GAN, 64 for the VAE; wider nets add noise dimensions and compute) and the share of the
budget for the encoder's histograms (30%: they give the quantile encoding, CTGAN's conditions and
the one-way calibration targets, ``_calibrate.py``) are constants of the generators.
"""
from __future__ import annotations

import math

STEPS_COMPUTE = 300_000  # rows of per-sample gradients per fit
MIN_STEPS, MAX_STEPS = 300, 800
SAMPLE_RATE = 0.05
MIN_BATCH, MAX_BATCH = 64, 1024


def training_plan(n_rows: int) -> dict[str, int]:
    """``{"batch_size", "epochs", "steps"}`` for a table of ``n_rows`` planned rows."""
    n = max(int(n_rows), 1)
    batch = int(min(max(round(SAMPLE_RATE * n / 64) * 64, MIN_BATCH), MAX_BATCH, n))
    steps = int(min(max(STEPS_COMPUTE // batch, MIN_STEPS), MAX_STEPS))
    epochs = max(1, math.ceil(steps * batch / n))
    return {"batch_size": batch, "epochs": epochs, "steps": steps}


def neural_defaults(name: str, n_rows: int, n_columns: int, epsilon: float | None
                    ) -> dict[str, int]:
    """What a generator ``name`` at its defaults trains with on such a table (used by the
    benchmarks to give a peer the same plan); ``n_columns`` and ``epsilon`` do not change the
    plan (see the module docstring)."""
    del name, n_columns, epsilon
    return training_plan(n_rows)
