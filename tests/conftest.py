"""Shared pytest setup: import anl_seg first so mmseg's registries are full."""
import os

import pytest
import torch

import anl_seg  # noqa: F401  (installs the mmcv-lite fallback, registers)

# Two cores on CI: keep torch from oversubscribing them.
torch.set_num_threads(int(os.environ.get('ANL_SEG_TEST_THREADS', '2')))


@pytest.fixture(scope='session')
def repo_root():
    from pathlib import Path
    return Path(__file__).resolve().parent.parent
