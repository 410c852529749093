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
- the number of steps fixed at ``STEPS = 800`` whatever the table. Adam needs a few hundred
  updates to fit the small networks at all; on large tables, where 5% is a batch of 1,024 and
  the noise multiplier stays low (about 2 at 43k rows and epsilon 1 after 344 steps), more
  steps buy more than they cost in noise (dp_ctgan on ggplot2/diamonds: TSTR/TRTR 0.43 -> 0.55
  from 344 to 1,290 steps; AER/CPS1988: 0.71 -> 0.89 from 308 to about 675 steps), while on
  tables of 1k-8k rows 800 steps at a noise multiplier of 7-8 did as well as 300 or 1,200 (the
  public suite of benchmarks/suite.py, two seeds each). The compute is at most 800 x 1,024
  per-sample gradients: a 50k x 20 table fits in well under a minute on 2 cores;
- epochs = ceil(steps x batch / n).

Examples: 1,000 rows: batch 64, 800 steps (52 epochs); 8,000 rows: batch 384, 800 steps
(39 epochs); 50,000 rows: batch 1024, 800 steps (17 epochs).

Learning rates (Adam: scale-free in the gradient, so one value serves every table), widths (128
for the GAN, 64 for the VAE; wider nets add noise dimensions and compute) and the share of the
budget for the encoder's histograms (30%: they give the quantile encoding, CTGAN's conditions and
the one-way calibration targets, ``_calibrate.py``) are constants of the generators.
"""
from __future__ import annotations

import math

STEPS = 800  # DP-SGD steps per fit, whatever the table
MAX_STEPS = STEPS
SAMPLE_RATE = 0.05
MIN_BATCH, MAX_BATCH = 64, 1024


def training_plan(n_rows: int) -> dict[str, int]:
    """``{"batch_size", "epochs", "steps"}`` for a table of ``n_rows`` planned rows."""
    n = max(int(n_rows), 1)
    batch = int(min(max(round(SAMPLE_RATE * n / 64) * 64, MIN_BATCH), MAX_BATCH, n))
    steps = STEPS
    epochs = max(1, math.ceil(steps * batch / n))
    return {"batch_size": batch, "epochs": epochs, "steps": steps}


def neural_defaults(name: str, n_rows: int, n_columns: int, epsilon: float | None
                    ) -> dict[str, int]:
    """What a generator ``name`` at its defaults trains with on such a table (used by the
    benchmarks to give a peer the same plan); ``n_columns`` and ``epsilon`` do not change the
    plan (see the module docstring)."""
    del name, n_columns, epsilon
    return training_plan(n_rows)
