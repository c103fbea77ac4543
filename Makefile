# anl-seg: `make demo` and `make test` set everything up in .venv themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.anl-seg-installed
PYTEST_ARGS ?=

.PHONY: help install demo test test-fast test-wheel lint mmcv-full bench-losses bench-noise bench-train-step clean

help:
	@echo "make demo       synthetic data -> CE vs ANL-CE vs label correction on noisy masks -> mIoU table"
	@echo "make test       full test suite (installs .venv first)"
	@echo "make test-wheel build the wheel, install it into a fresh venv, use it (~3 min)"
	@echo "make lint       ruff"
	@echo "make mmcv-full  build full mmcv 2.1.0 from source (~11 min on 2 cores)"

# Idempotent: reinstalls only when the requirement files or setup.py change.
install: $(STAMP)
$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt requirements/fast_png.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q "$(TORCH_SPEC)"
	$(PIP) install -q -r requirements/runtime.txt -r requirements/tests.txt -r requirements/fast_png.txt
	@# Keep any mmcv the user already has (full mmcv); else the lite build.
	$(PY) -c "import mmcv" 2>/dev/null || $(PIP) install -q mmcv-lite==2.1.0
	$(PIP) install -q --no-deps --no-build-isolation -e .
	$(PY) -c "import anl_seg, mmseg.models; print('anl_seg', anl_seg.__version__, 'ready')"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) tools/demo.py --work-dir work_dirs/demo

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider tests $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider -m "not slow" tests $(PYTEST_ARGS)

# The wheel, not the checkout: installed into a fresh virtualenv and used
# from an empty directory (tests/wheel_smoke.sh; CI runs it after `test`).
test-wheel: $(STAMP)
	BUILD_PYTHON=$(PY) PYTHON=$(PYTHON) TORCH_SPEC="$(TORCH_SPEC)" \
		bash tests/wheel_smoke.sh

lint: $(STAMP)
	$(PY) -m ruff check anl_seg tools tests benchmarks configs

# Optional: replace mmcv-lite by a full mmcv 2.1.0 built from source.
mmcv-full: $(STAMP)
	$(PIP) install -q "setuptools<70" ninja
	$(PIP) uninstall -y mmcv-lite || true
	MMCV_WITH_OPS=1 MAX_JOBS=$${MAX_JOBS:-2} $(PIP) install --no-build-isolation --no-deps mmcv==2.1.0
	$(PIP) install -q "setuptools<81"
	$(PY) -c "import mmcv.ops; print('full mmcv', mmcv.__version__)"

bench-losses: $(STAMP)
	$(PY) benchmarks/bench_losses.py --device cpu --quick --impls auto fused reference

bench-noise: $(STAMP)
	$(PY) benchmarks/bench_noise.py --num-masks 3 --repeats 3

bench-train-step: $(STAMP)
	$(PY) benchmarks/bench_train_step.py --iters 30

clean:
	rm -rf work_dirs .pytest_cache
