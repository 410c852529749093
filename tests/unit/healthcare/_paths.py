"""Where the real Synthea sample exports live (shared, read-only)."""
from __future__ import annotations

from pathlib import Path

import pytest

SYNTHEA = Path("/work/shared/data/synthea")
V3 = SYNTHEA / "v3.0.0_27_patients"
CURRENT = SYNTHEA / "current_116_patients"


def need_synthea_samples() -> None:
    if not (V3.is_dir() and CURRENT.is_dir()):
        pytest.skip(f"the Synthea sample exports are not at {SYNTHEA}")
