# Two commands set everything up on a fresh machine with Python and a C++ compiler:
#   make demo   create .venv, install torch (if missing) and genreg with its kernels, run the demo
#   make test   the same install, then the test suite
# TORCH_SPEC chooses the torch to install when none is importable; a torch the
# venv can already see (including a system one: the venv sees system packages) is kept.

PYTHON     ?= python3
VENV       ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY         := $(VENV)/bin/python
PIP        := $(PY) -m pip
STAMP      := $(VENV)/.genreg-installed
PYTEST_ARGS ?=
DEMO_OUT   ?= runs/demo

SOURCES := setup.py pyproject.toml $(shell find csrc -type f 2>/dev/null)

.PHONY: demo test test-slow bench install clean gpu-check

$(PY):
	$(PYTHON) -m venv --system-site-packages $(VENV)

$(STAMP): $(PY) $(SOURCES)
	@$(PY) -c "import torch" 2>/dev/null && echo "torch already present: $$($(PY) -c 'import torch; print(torch.__version__)')" \
		|| $(PIP) install "$(TORCH_SPEC)"
	$(PIP) install "setuptools>=64" wheel ninja
	GENREG_REQUIRE_EXT=$${GENREG_REQUIRE_EXT-1} $(PIP) install --no-build-isolation -e ".[test,onnx]"
	@touch $(STAMP)

install: $(STAMP)

# The example third-party plugin, installed like any plugin package; `make test` runs its tests.
PLUGINS     := plugins/genreg-relgan
PLUGIN_STAMP := $(VENV)/.genreg-plugins-installed
$(PLUGIN_STAMP): $(STAMP) $(foreach p,$(PLUGINS),$(p)/pyproject.toml)
	$(PIP) install --no-build-isolation --no-deps $(foreach p,$(PLUGINS),-e $(p))
	@touch $(PLUGIN_STAMP)

# The demo trains the small built-in mlp-gan (WGAN-GP) on the ring8 Gaussian mixture with the
# tuned ring8 preset (3000 steps; train.max_minutes caps it at one minute on a slow machine),
# then scores it with genreg eval: modes covered and high-quality share of its EMA generator's
# samples, loss curves and sample figures in $(DEMO_OUT)/eval.
DEMO_TRAIN ?= train.max_minutes=1 train.log_every=50 train.sample_every=500 train.checkpoint_every=1000

demo: $(STAMP)
	$(VENV)/bin/genreg info
	$(VENV)/bin/genreg list
	rm -rf $(DEMO_OUT)
	$(VENV)/bin/genreg train mlp-gan --preset ring8 $(DEMO_TRAIN) --out $(DEMO_OUT)
	$(VENV)/bin/genreg eval $(DEMO_OUT)
	@echo "demo run: $(DEMO_OUT) (metrics.jsonl, samples/, checkpoints/, eval/)"

test: $(PLUGIN_STAMP)
	GENREG_EXPECT_EXT=$${GENREG_EXPECT_EXT-1} $(PY) -m pytest $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m pytest benchmarks --benchmark-enable --benchmark-group-by=group $(PYTEST_ARGS)

# The GPU check (docs/gpu.md): on a CUDA machine without network it builds the extension for
# the local card, then runs the CUDA tests, the GPU benchmarks, short training runs and torchrun
# on NCCL, each time-boxed. DRY_RUN=1: the parts that need no GPU, on the CPU, tiny budgets.
# It needs no venv (the GPU machine's python3 has torch); results go to $(GPU_CHECK_OUT).
GPU_CHECK_OUT  ?= gpu-results
GPU_CHECK_PY   ?= $(if $(wildcard $(PY)),$(PY),$(PYTHON))
GPU_CHECK_ARGS ?=
gpu-check:
	GPU_CHECK_OUT=$(GPU_CHECK_OUT) DRY_RUN=$(DRY_RUN) $(GPU_CHECK_PY) scripts/gpu_check.py $(GPU_CHECK_ARGS)

clean:
	rm -rf build genreg/_C*.so $(STAMP)
