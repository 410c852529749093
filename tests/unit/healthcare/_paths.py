"""Where the real Synthea sample exports live (shared, read-only)."""
from __future__ import annotations

from pathlib import Path

import pytest

# ../shared beside the checkout (as on the developers' machines and in CI)
SYNTHEA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "synthea"
V3 = SYNTHEA / "v3.0.0_27_patients"
CURRENT = SYNTHEA / "current_116_patients"


def need_synthea_samples() -> None:
    if not (V3.is_dir() and CURRENT.is_dir()):
        pytest.skip(f"the Synthea sample exports are not at {SYNTHEA}")
