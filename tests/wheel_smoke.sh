#!/usr/bin/env bash
# Wheel smoke test (`make test-wheel`, run by CI after `make test`): build
# the wheel, install it (not editable) into a fresh virtualenv and use it
# from an empty directory as a user without a clone would: synthetic data,
# noisy masks, mmseg's own tools/train.py on a shipped config and on a user
# config inheriting one, and the micro benchmark preset.
#
# Usage: tests/wheel_smoke.sh
# Env: BUILD_PYTHON (python3): builds the wheel, needs setuptools and wheel
#   (the Makefile passes .venv/bin/python); PYTHON (python3): the base of
#   the fresh virtualenv; TORCH_SPEC (torch==2.13.0); KEEP=1 keeps the
#   temporary folder.
set -euo pipefail

REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD_PYTHON=${BUILD_PYTHON:-python3}
# A relative path (the Makefile's .venv/bin/python) must survive the cd into
# the build copy: make it absolute, keeping the venv's own bin/ folder.
case $BUILD_PYTHON in
    */*) BUILD_PYTHON="$(cd "$(dirname "$BUILD_PYTHON")" && pwd)/$(basename "$BUILD_PYTHON")" ;;
esac
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
TMP="$(mktemp -d "${TMPDIR:-/tmp}/anl-seg-wheel.XXXXXX")"
if [ "${KEEP:-0}" = 1 ]; then
    echo "keeping $TMP"
else
    trap 'rm -rf "$TMP"' EXIT
fi
PASSED=0

# step NAME COMMAND...: run it (stopping at its first failing command) with
# its output in $TMP/NAME.log; on failure show the log's end and stop.
step() {
    local name=$1 start=$SECONDS code
    shift
    set +e  # (in an `if`, a function would run on past its errors)
    (set -e; "$@") >"$TMP/$name.log" 2>&1
    code=$?
    set -e
    if [ "$code" = 0 ]; then
        PASSED=$((PASSED + 1))
        echo "ok   $name ($((SECONDS - start)) s)"
    else
        echo "FAIL $name ($((SECONDS - start)) s); end of its log:"
        tail -n 40 "$TMP/$name.log"
        echo "wheel-smoke: $PASSED passed, 1 failed"
        exit 1
    fi
}

# The wheel is built from a copy of the checkout's files (tracked and new,
# not ignored), so the build leaves nothing in the working tree.
build_wheel() {
    mkdir -p "$TMP/src" "$TMP/dist"
    git -C "$REPO" ls-files -z --cached --others --exclude-standard |
        (cd "$REPO" && xargs -0 cp --parents -t "$TMP/src")
    (cd "$TMP/src" && "$BUILD_PYTHON" -m pip wheel --no-deps \
        --no-build-isolation -w "$TMP/dist" .)
}

make_venv() {
    "$PYTHON" -m venv "$TMP/venv"
    "$TMP/venv/bin/python" -m pip install "$TORCH_SPEC"
    # the wheel brings mmengine, mmsegmentation and the rest
    "$TMP/venv/bin/python" -m pip install mmcv-lite==2.1.0 "$TMP"/dist/*.whl
}

# The package imported is the installed one, not the checkout.
installed_package() {
    "$PY" - <<'EOF'
import anl_seg, sys
print(anl_seg.__file__)
assert '/site-packages/anl_seg/' in anl_seg.__file__, anl_seg.__file__
EOF
}

corrupt_masks() {
    "$PY" -m anl_seg.noise data/voc/SegmentationClass \
        data/voc/SegmentationClass_region-flip_0.4 --dataset voc \
        --noise region-flip --rate 0.4 --seed 0
    test -f data/voc/SegmentationClass_region-flip_0.4/noise_report.json
}

SHORT=(--cfg-options train_cfg.max_iters=2 train_cfg.val_interval=2
       default_hooks.checkpoint.interval=2 param_scheduler.0.end=2
       train_dataloader.batch_size=2 default_hooks.logger.interval=1)

# mmseg's own tools/train.py on a shipped config, noisy training masks
train_shipped_config() {
    local config train
    config="$("$PY" -m anl_seg.configs tiny/unet-tiny_anl-ce_synthetic-voc.py)"
    train="$("$PY" -c 'from anl_seg.utils.mmseg_tools import mmseg_tool_path
print(mmseg_tool_path("train"))')"
    ANL_SEG_VOC_ROOT=data/voc \
    ANL_SEG_TRAIN_MASKS=SegmentationClass_region-flip_0.4 \
        "$PY" "$train" "$config" --work-dir work/shipped "${SHORT[@]}"
    test -f work/shipped/iter_2.pth
}

# A user's config in the empty directory inheriting a shipped one
train_user_config() {
    local base train
    base="$("$PY" -m anl_seg.configs tiny/unet-tiny_ce_synthetic-voc.py)"
    train="$("$PY" -c 'from anl_seg.utils.mmseg_tools import mmseg_tool_path
print(mmseg_tool_path("train"))')"
    cat >my_config.py <<EOF
_base_ = '$base'
model = dict(decode_head=dict(loss_decode=dict(
    _delete_=True, type='ANLCELoss', alpha=5.0, beta=1.0)))
EOF
    ANL_SEG_VOC_ROOT=data/voc \
        "$PY" "$train" my_config.py --work-dir work/user "${SHORT[@]}"
    test -f work/user/iter_2.pth
    grep -q 'decode.loss_anl_ce' work/user/*/*.log
}

benchmark_micro() {
    "$PY" -m anl_seg.benchmark --preset micro
    test -f work_dirs/benchmark_micro/results.md
    cat work_dirs/benchmark_micro/results.md
}

step build_wheel build_wheel
step make_venv make_venv
PY="$TMP/venv/bin/python"
mkdir "$TMP/empty"
cd "$TMP/empty"
unset PYTHONPATH
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
step installed_package installed_package
step make_synthetic "$PY" -m anl_seg.synthetic data/voc \
    --layout voc --num-train 8 --num-val 4 --size 64 80 --seed 0
step corrupt_masks corrupt_masks
step train_shipped_config train_shipped_config
step train_user_config train_user_config
step benchmark_micro benchmark_micro
echo "wheel-smoke: $PASSED passed, 0 failed"
