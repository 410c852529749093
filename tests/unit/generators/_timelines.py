"""Event logs for the dp_sequence tests: the conformance kit's card events put on a timeline a
test writes."""
from __future__ import annotations

import pandas as pd


def on_timeline(evs: pd.DataFrame, rows: list[tuple], columns: list[str]) -> pd.DataFrame:
    """``rows`` (tuples of ``columns``, e.g. customer and time) as events: those columns from
    the rows, the other columns resampled from ``evs``."""
    t = pd.DataFrame(rows, columns=columns)
    base = evs.sample(len(t), replace=True, random_state=0).reset_index(drop=True)
    return base.assign(**{c: t[c] for c in columns})
