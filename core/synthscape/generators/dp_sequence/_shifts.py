"""The logit shifts of a calibrated ``dp_sequence`` sampler (``_margins.py``): what they are,
how the sampler takes them, and how a saved model keeps them (``arrays.npz``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from synthscape.generators.dp_sequence._encoding import SequenceEncoding


@dataclass
class Shifts:
    entity: list[np.ndarray]
    start: np.ndarray
    column: dict[int, np.ndarray]

    def copy(self) -> Shifts:
        return Shifts([s.copy() for s in self.entity], self.start.copy(),
                      {j: s.copy() for j, s in self.column.items()})

    def apply(self, net) -> None:
        net.entity_shift = [torch.as_tensor(s, dtype=torch.float32) for s in self.entity]
        net.start_shift = torch.as_tensor(self.start, dtype=torch.float32)  # (gap classes,)
        net.column_shift = {j: torch.as_tensor(s, dtype=torch.float32)
                            for j, s in self.column.items()}


def shift_arrays(net) -> dict[str, np.ndarray]:
    out = {}
    for j, s in enumerate(getattr(net, "entity_shift", None) or []):
        out[f"entity_shift_{j}"] = s.numpy()
    if getattr(net, "start_shift", None) is not None:
        out["start_shift"] = net.start_shift.numpy()
    for j, s in (getattr(net, "column_shift", None) or {}).items():
        out[f"column_shift_{j}"] = s.numpy()
    return out


def load_shifts(net, arrays: dict[str, np.ndarray], enc: SequenceEncoding) -> None:
    """Set the shifts saved by :func:`shift_arrays`; raises ValueError on a bad shape."""
    from synthscape.generators.dp_sequence._margins import calibrated_columns

    if not any(name == "start_shift" or name.startswith(("entity_shift_", "column_shift_"))
               for name in arrays):
        return
    want = {f"entity_shift_{j}": (f.size, f"entity field {f.name!r}")
            for j, f in enumerate(enc.entity_fields)}
    want["start_shift"] = (enc.gap_size, "the first event's gap")
    want.update({f"column_shift_{j}": (enc.column_fields[j].size,
                                       f"event column {enc.column_fields[j].name!r}")
                 for j in calibrated_columns(enc)})
    for name, (size, what) in want.items():
        s = arrays.get(name)
        if s is None or s.shape != (size,) or not np.isfinite(s).all():
            raise ValueError(f"{name} must hold one finite value per class of {what}")
    Shifts([arrays[f"entity_shift_{j}"] for j in range(len(enc.entity_fields))],
           arrays["start_shift"],
           {j: arrays[f"column_shift_{j}"] for j in calibrated_columns(enc)}).apply(net)
