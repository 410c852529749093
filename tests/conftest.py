"""Shared pytest hooks.

- A fixed secret noise key (``SYNTHSCAPE_NOISE_KEY``) makes DP fits reproducible for the
  suite, as a data owner's key would (CLI subprocesses inherit it). The adversarial tests in
  tests/privacy/ remove it and attack the default: noise from the OS's CSPRNG.
- Tests marked ``gpu`` are skipped when no CUDA device is present.
"""
import os

import pytest

TEST_NOISE_KEY = "5eed" * 16
os.environ.setdefault("SYNTHSCAPE_NOISE_KEY", TEST_NOISE_KEY)


def pytest_collection_modifyitems(config, items):
    gpu_items = [item for item in items if "gpu" in item.keywords]
    if not gpu_items:
        return
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        has_cuda = False
    if not has_cuda:
        skip = pytest.mark.skip(reason="needs a CUDA device")
        for item in gpu_items:
            item.add_marker(skip)
