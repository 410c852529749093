"""Fixtures for the generator tests; the data lives in _planted.py."""
import pytest
from _planted import make_planted


@pytest.fixture(scope="session")
def planted():
    return make_planted()
