"""Configs and presets found through the package, not the repository.

The wheel's copy itself is checked by tests/wheel_smoke.sh (``make
test-wheel``): it installs the wheel into a fresh virtualenv and uses it
from an empty directory.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

import anl_seg
from anl_seg.benchmark import losses, preset
from anl_seg.utils import package_data
from anl_seg.utils.package_data import (
    available_configs,
    config_path,
    resolve_path,
)

TINY = 'tiny/unet-tiny_ce_synthetic-voc.py'


def run_module(*args, cwd):
    return subprocess.run([sys.executable, '-m', 'anl_seg.configs', *args],
                          capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_config_path_is_absolute_and_the_repositorys_file(repo_root):
    path = Path(config_path(TINY))
    assert path.is_absolute()
    assert path.read_bytes() == (repo_root / 'configs' / TINY).read_bytes()
    assert anl_seg.config_path(TINY) == str(path)
    assert Path(config_path()) == path.parents[1]
    assert TINY in available_configs()
    assert not any('_base_' in name for name in available_configs())


def test_unknown_config_is_a_one_line_error():
    with pytest.raises(FileNotFoundError, match="no config 'tiny/nope.py'"):
        config_path('tiny/nope.py')


def test_a_built_copy_wins_over_the_checkout(tmp_path, monkeypatch,
                                             repo_root):
    built = tmp_path / '.mim'
    shutil.copytree(repo_root / 'configs' / 'tiny', built / 'configs' /
                    'tiny')
    monkeypatch.setattr(package_data, 'BUILT_DIR', built)
    assert config_path(TINY) == str(built / 'configs' / TINY)
    # a wheel without its copy names the missing folder
    monkeypatch.setattr(package_data, 'BUILT_DIR', tmp_path / 'missing')
    monkeypatch.setattr(package_data, 'PACKAGE_DIR', tmp_path / 'anl_seg')
    with pytest.raises(FileNotFoundError, match='missing'):
        config_path(TINY)


def test_user_paths_resolve_against_the_cwd_first(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    repo_style = f'configs/{TINY}'
    # not in the cwd: the shipped copy
    assert resolve_path(repo_style) == config_path(TINY)
    # the user's own file of the same relative name wins
    own = tmp_path / repo_style
    own.parent.mkdir(parents=True)
    own.write_text('x = 1\n')
    assert resolve_path(repo_style) == repo_style
    # neither: unchanged, for the caller's error message
    assert resolve_path('configs/nope.py') == 'configs/nope.py'


def test_benchmark_reads_presets_and_losses_from_the_package():
    root = package_data.data_root()
    assert preset.PRESET_DIR == root / 'benchmarks' / 'presets'
    assert losses.LOSS_DIR == root / 'configs' / '_base_' / 'losses'
    assert 'micro' in preset.available_presets()
    assert preset.preset_path('micro').is_file()


def test_a_user_config_inherits_a_shipped_one(tmp_path, monkeypatch):
    monkeypatch.setenv('ANL_SEG_VOC_ROOT', '/data/voc')
    user = tmp_path / 'my_config.py'
    user.write_text(
        f'_base_ = {config_path(TINY)!r}\n'
        'model = dict(decode_head=dict(loss_decode=dict(\n'
        "    _delete_=True, type='ANLCELoss', alpha=5.0, beta=1.0)))\n")
    cfg = Config.fromfile(str(user))
    assert cfg.model.decode_head.loss_decode == dict(
        type='ANLCELoss', alpha=5.0, beta=1.0)
    # the shipped config's own relative _base_ files were found
    assert cfg.model.backbone.type == 'UNet'
    assert cfg.train_dataloader.dataset.data_root == '/data/voc'


def test_module_prints_paths_from_any_directory(tmp_path):
    done = run_module(TINY, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == config_path(TINY)
    bad = run_module('nope.py', cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().startswith("error: no config 'nope.py'")
    assert len(bad.stderr.strip().splitlines()) == 1
