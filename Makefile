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

.PHONY: demo test test-slow bench install clean reproduce

$(PY):
	$(PYTHON) -m venv --system-site-packages $(VENV)

$(STAMP): $(PY) $(SOURCES)
	@$(PY) -c "import torch" 2>/dev/null && echo "torch already present: $$($(PY) -c 'import torch; print(torch.__version__)')" \
		|| $(PIP) install "$(TORCH_SPEC)"
	$(PIP) install "setuptools>=64" wheel ninja
	GENREG_REQUIRE_EXT=$${GENREG_REQUIRE_EXT-1} $(PIP) install --no-build-isolation -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

# The example third-party plugin, installed like any plugin package; `make test` runs its tests.
PLUGINS     := plugins/genreg-relgan
PLUGIN_STAMP := $(VENV)/.genreg-plugins-installed
$(PLUGIN_STAMP): $(STAMP) $(foreach p,$(PLUGINS),$(p)/pyproject.toml)
	$(PIP) install --no-build-isolation --no-deps $(foreach p,$(PLUGINS),-e $(p))
	@touch $(PLUGIN_STAMP)

# The demo trains the small built-in mlp-gan (WGAN-GP) on the ring8 Gaussian mixture for one
# minute of wall-clock time (train.max_minutes, so it lasts a minute on any machine) and leaves
# config.toml, metrics.jsonl, samples/*.png, checkpoints/ and summary.json in $(DEMO_OUT).
DEMO_TRAIN ?= train.steps=20000 train.max_minutes=1 train.log_every=20 train.sample_every=200 \
              train.checkpoint_every=1000

demo: $(STAMP)
	$(VENV)/bin/genreg info
	$(VENV)/bin/genreg list
	rm -rf $(DEMO_OUT)
	$(VENV)/bin/genreg train mlp-gan data=ring8 $(DEMO_TRAIN) --out $(DEMO_OUT)
	@echo "demo run: $(DEMO_OUT) (metrics.jsonl, samples/, checkpoints/)"

# The reference study end to end (genreg reproduce): runs, eval.json files, figures and
# $(REPRODUCE_OUT)/report.md. Rerunning continues where a stopped one left off.
BUDGET        ?= quick
REPRODUCE_OUT ?= reproduce-$(BUDGET)

reproduce: $(STAMP)
	$(VENV)/bin/genreg reproduce --budget $(BUDGET) --out $(REPRODUCE_OUT)

test: $(PLUGIN_STAMP)
	GENREG_EXPECT_EXT=$${GENREG_EXPECT_EXT-1} $(PY) -m pytest $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m pytest benchmarks --benchmark-enable --benchmark-group-by=group $(PYTEST_ARGS)

clean:
	rm -rf build genreg/_C*.so $(STAMP)
