"""The adversarial suite attacks the default behaviour: no secret noise key is set."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def no_noise_key(monkeypatch):
    monkeypatch.delenv("SYNTHSCAPE_NOISE_KEY", raising=False)
    monkeypatch.delenv("SYNTHSCAPE_NOISE_KEY_FILE", raising=False)
