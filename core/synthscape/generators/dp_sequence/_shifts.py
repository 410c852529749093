"""The logit shifts of a calibrated ``dp_sequence`` sampler (``_margins.py``): what they are,
how the sampler takes them, and how a saved model keeps them (``arrays.npz``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from synthscape.generators.dp_sequence._encoding import SequenceEncoding


@dataclass
class Shifts:
    """``entity[j]`` of the entity fields drawn after field ``group[0]`` are (groups, classes),
    a row per group of that field (``group[1]``: its class -> group map); so is ``column[j]``
    with ``group_columns``; the others are (classes,)."""

    entity: list[np.ndarray]
    start: np.ndarray
    column: dict[int, np.ndarray]
    group: tuple[int, np.ndarray] | None = None
    group_columns: bool = False

    def copy(self) -> Shifts:
        return Shifts([s.copy() for s in self.entity], self.start.copy(),
                      {j: s.copy() for j, s in self.column.items()}, self.group,
                      self.group_columns)

    def apply(self, net) -> None:
        net.entity_shift = [torch.as_tensor(s, dtype=torch.float32) for s in self.entity]
        net.start_shift = torch.as_tensor(self.start, dtype=torch.float32)  # (gap classes,)
        net.column_shift = {j: torch.as_tensor(s, dtype=torch.float32)
                            for j, s in self.column.items()}
        net.entity_group = None if self.group is None else \
            (int(self.group[0]), torch.as_tensor(self.group[1], dtype=torch.long))
        net.column_group = net.entity_group if self.group_columns else None


def row_groups(net, entity_codes: np.ndarray) -> torch.Tensor | None:
    """(n,): the row of a grouped column shift for each entity (``None``: not grouped)."""
    group = getattr(net, "column_group", None)
    if group is None:
        return None
    return group_rows(group, torch.as_tensor(np.asarray(entity_codes).astype(np.int64)))


def group_rows(group: tuple[int, torch.Tensor], codes: torch.Tensor) -> torch.Tensor:
    """(n,): the group of each entity of ``codes`` (n, fields) under ``group`` = (the grouping
    field, its class -> group map)."""
    by, cells = group
    return cells[codes[:, by].long().clamp(0, len(cells) - 1)]


def shift_arrays(net) -> dict[str, np.ndarray]:
    out = {}
    for j, s in enumerate(getattr(net, "entity_shift", None) or []):
        out[f"entity_shift_{j}"] = s.numpy()
    if getattr(net, "start_shift", None) is not None:
        out["start_shift"] = net.start_shift.numpy()
    for j, s in (getattr(net, "column_shift", None) or {}).items():
        out[f"column_shift_{j}"] = s.numpy()
    return out


def load_shifts(net, arrays: dict[str, np.ndarray], enc: SequenceEncoding,
                by: int | None = None, group_columns: bool = False) -> None:
    """Set the shifts saved by :func:`shift_arrays` (``by``: the entity field of grouped
    shifts, ``group_columns``: whether the column shifts are grouped too; from model.json);
    raises ValueError on a bad shape."""
    from synthscape.generators.dp_sequence._encoding import field_cells, field_groups
    from synthscape.generators.dp_sequence._margins import calibrated_columns

    if not any(name == "start_shift" or name.startswith(("entity_shift_", "column_shift_"))
               for name in arrays):
        return
    if by is not None and not 0 <= int(by) < len(enc.entity_fields):
        raise ValueError(f"margins_by={by} is not an entity field")
    rows = () if by is None else (field_cells(enc.entity_fields[int(by)]),)
    want: dict[str, tuple[tuple[int, ...], str]] = {
        f"entity_shift_{j}": ((*(rows if by is not None and j > int(by) else ()), f.size),
                              f"entity field {f.name!r}")
        for j, f in enumerate(enc.entity_fields)}
    want["start_shift"] = ((enc.gap_size,), "the first event's gap")
    crows = rows if group_columns else ()
    want.update({f"column_shift_{j}": ((*crows, enc.column_fields[j].size),
                                       f"event column {enc.column_fields[j].name!r}" +
                                       (" per group" if crows else ""))
                 for j in calibrated_columns(enc)})
    for name, (shape, what) in want.items():
        s = arrays.get(name)
        if s is None or s.shape != shape or not np.isfinite(s).all():
            raise ValueError(f"{name} must hold one finite value per class of {what}")
    Shifts([arrays[f"entity_shift_{j}"] for j in range(len(enc.entity_fields))],
           arrays["start_shift"],
           {j: arrays[f"column_shift_{j}"] for j in calibrated_columns(enc)},
           None if by is None else (int(by), field_groups(enc.entity_fields[int(by)])),
           bool(crows)).apply(net)
