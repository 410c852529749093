"""What dp_ctgan and dp_tvae share: parameters, the encoder fit, the DP-SGD trainer, saving.

No torch import at module level (the generators package imports this to register them).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from synthscape.generators._params import BOOL, NONE, Interval, Options
from synthscape.generators.base import Generator
from synthscape.privacy import PrivacyLedger
from synthscape.schema import TableSchema
from synthscape.transforms.tabular_encoder import NUMERICAL

WEIGHTS = "weights.safetensors"

NEURAL_CONSTRAINTS: dict[str, list] = {
    "epochs": [Interval(int, 1, None), NONE],
    "batch_size": [Interval(int, 2, None), NONE],
    "lr": [Interval(float, 0, 1, closed="right")],
    "max_grad_norm": [Interval(float, 0, None, closed="neither")],
    "noise_multiplier": [Interval(float, 0, None, closed="neither"), NONE],
    "numerical": [Options(NUMERICAL)],
    "n_modes": [Interval(int, 1, 20)],
    "encoder_share": [Interval(float, 0, 1, closed="neither")],
    "grad_sample_mode": [Options(("bookkeeping", "ghost", "hooks", "functorch"))],
    "calibrate": [BOOL],
}


ROWS_SHARE = 0.01  # of the zCDP budget left after schema inference, for the DP row count


class NeuralGenerator(Generator):
    """Template for DP-SGD generators. Defaults: epochs and batch size from the planned row
    count (``_defaults.py``), numerical columns through the quantile encoding of a DP histogram,
    samples calibrated to DP one-way marginals (``_calibrate.py``). ``epsilon=None`` trains the
    same model without DP (the ledger records it as not private); useful only to measure the
    cost of privacy.

    The size of the private table plans the training (sampling rate, steps, condition
    frequencies). It is ``expected_rows`` when the caller declares it (public knowledge, e.g. a
    registry's published size: never computed from the data), otherwise a DP count paid with
    ``ROWS_SHARE`` (1%) of the remaining budget. The exact count is never used."""

    private: ClassVar[bool] = True
    needs_frequencies: ClassVar[bool] = False

    # constructor parameters that every subclass takes (stored by its __init__)
    epochs: int | None
    batch_size: int | None
    lr: float
    max_grad_norm: float
    noise_multiplier: float | None
    numerical: str
    n_modes: int
    encoder_share: float
    grad_sample_mode: str
    expected_rows: int | None
    device: str
    calibrate: bool

    # ---- fitting helpers -----------------------------------------------------------------
    def _planned_rows(self, data: pd.DataFrame, ledger: PrivacyLedger) -> int:
        from synthscape.privacy.mechanisms import noisy_count

        if self.expected_rows is not None:
            return int(self.expected_rows)
        if ledger.budget is None:  # not private: the ledger already says so
            return len(data)
        return noisy_count(len(data), ledger=ledger, share=ROWS_SHARE,
                           label="row count (plans sampling rate and steps)")

    def _encode(self, data: pd.DataFrame, schema: TableSchema, ledger: PrivacyLedger):
        from synthscape.transforms.tabular_encoder import TabularEncoder

        enc = TabularEncoder(schema, numerical=self.numerical, n_modes=self.n_modes,
                             frequencies=self.needs_frequencies, all_columns=self.calibrate)
        sigma = None
        if enc.needs_budget and ledger.budget is not None:
            sigma = enc.calibrate(ledger, self.encoder_share)
        enc.fit(data, ledger=ledger, noise_multiplier=sigma)
        self.encoder_ = enc
        self.calibration_ = None
        if self.calibrate:  # the one-way targets of sampling, from the same release
            from synthscape.generators._calibrate import MarginalCalibration

            self.calibration_ = MarginalCalibration.from_encoder(enc)
        return enc, enc.transform(data)

    def _calibrated(self, draw):
        """``draw(k, rng)`` wrapped: ``OVERSAMPLE x k`` rows raked to the DP one-way targets,
        then ``k`` of them resampled (post-processing)."""
        from synthscape.generators._calibrate import OVERSAMPLE

        calib = getattr(self, "calibration_", None)
        if calib is None:
            return draw

        def calibrated(k: int, rng: np.random.Generator) -> pd.DataFrame:
            return calib.resample(draw(OVERSAMPLE * k, rng), k, rng)

        return calibrated

    def _trainer(self, module, ledger: PrivacyLedger, n_rows: int, **kw):
        """The DP-SGD loop planned for ``n_rows`` (from ``_planned_rows``); epochs and batch size
        left unset (None) come from the defaults rule (``_defaults.training_plan``)."""
        from synthscape.generators._defaults import training_plan
        from synthscape.generators._training import DPSGD

        plan = training_plan(n_rows)
        epochs = plan["epochs"] if self.epochs is None else self.epochs
        batch = plan["batch_size"] if self.batch_size is None else self.batch_size
        return DPSGD(module, ledger=ledger, n_rows=n_rows, epochs=epochs,
                     batch_size=min(batch, n_rows), lr=self.lr,
                     max_grad_norm=self.max_grad_norm, device=self.device,
                     noise_multiplier=self.noise_multiplier, label=self.name,
                     grad_sample_mode=self.grad_sample_mode, **kw)

    def _to_frame(self, x: np.ndarray) -> pd.DataFrame:
        """Decoded rows in encoded-native form, plus id columns for ``_finish``."""
        out = self.encoder_.inverse(x)
        for c in self.schema_.columns:
            if c.kind == "id":
                out[c.name] = ""
        return out

    # ---- persistence ---------------------------------------------------------------------
    def _build_sampler(self):
        """The torch module that sampling needs, built from ``self.arch_``."""
        raise NotImplementedError

    def _get_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        state = {"encoder": self.encoder_.get_state(), "arch": self.arch_,
                 "training": self.training_}
        arrays: dict[str, np.ndarray] = {}
        calib = getattr(self, "calibration_", None)
        if calib is not None:
            state["calibration"], arrays = calib.get_state()
        return state, arrays

    def _set_state(self, state: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        from synthscape.generators._calibrate import MarginalCalibration
        from synthscape.transforms.tabular_encoder import TabularEncoder

        self.encoder_ = TabularEncoder.from_state(self.schema_, state["encoder"])
        self.arch_ = state["arch"]
        self.training_ = state["training"]
        self.calibration_ = (MarginalCalibration.from_state(state["calibration"], arrays)
                             if "calibration" in state else None)

    def _save_extra(self, folder: Path) -> None:
        from synthscape.generators._nn import save_weights

        save_weights(self.model_, folder / WEIGHTS)

    def _load_extra(self, folder: Path) -> None:
        from synthscape.generators._nn import load_weights

        self.model_ = load_weights(self._build_sampler(), folder / WEIGHTS).eval()
