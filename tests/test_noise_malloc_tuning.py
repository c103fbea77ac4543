"""The CLI's processes reuse freed memory instead of faulting it in anew."""
import subprocess
import sys

import pytest

import anl_seg.noise.cli as cli

# Page faults while a fresh process allocates and fills four 4 MB arrays
# at once and frees them, 20 times (4096 pages each time), after a
# warm-up, with or without the tuning. (Alone, a block would be reused by
# glibc's adaptive thresholds: together they exceed its trim threshold.)
_FAULTS = '''
import resource, sys
import numpy as np
from anl_seg.noise.malloc_tuning import keep_freed_memory
tuned = sys.argv[1] == "tuned" and keep_freed_memory()
def cycle():
    blocks = [np.empty(1 << 22, np.uint8) for _ in range(4)]
    for block in blocks:
        block.fill(1)
cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    cycle()
print(int(tuned), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
'''


def _faults(mode):
    out = subprocess.run([sys.executable, '-c', _FAULTS, mode],
                         capture_output=True, text=True, check=True).stdout
    tuned, faults = out.split()
    return tuned == '1', int(faults)


@pytest.mark.skipif(not sys.platform.startswith('linux'),
                    reason='glibc tuning')
def test_freed_blocks_are_reused_without_page_faults():
    tuned, faults = _faults('tuned')
    if not tuned:
        pytest.skip('not glibc')
    assert faults < 200  # a few for Python's own objects
    assert _faults('plain')[1] > 20 * 1024  # a good part of the pages


def test_the_cli_tunes_its_process(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(cli, 'keep_freed_memory', lambda: calls.append(1))
    cli.main([str(tmp_path / 'missing'), str(tmp_path / 'out'), '--dataset',
              'voc', '--noise', 'pixel-flip', '--quiet'])
    assert calls == [1]
