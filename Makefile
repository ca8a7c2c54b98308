# Two commands do everything on a fresh machine:
#   make plan       the main job: print DyPE's plan for FLUX at 4096x4096 and write its chart
#   make test       install what the tests need and run them (lint, Python tests, JavaScript tests);
#                   the last lines recap every suite; PYTEST_ARGS=... is passed on to pytest
# Also:
#   make test-long  the long Python tests (pytest mark `long`: property sweeps, torch.compile)
#   make docs       regenerate the pictures and the plan text in docs/ (tools/docs_pictures.py)
# The quality lab (lab/, docs/lab/): make lab-train reproduces its weights, make lab its gate and results.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt --group test
	touch $(STAMP)

plan: $(STAMP)
	$(PY) -m dype_core plan --model flux --width 4096 --height 4096 --steps 28 --chart dype_plan.png

lab: $(STAMP)
	$(PY) -m lab evaluate

lab-train: $(STAMP)
	$(PY) -m lab train

# Ruff, pytest (without the `long` tests) and node's tests, then one recap line per suite (tools/test_suites.sh).
test: $(STAMP)
	@bash tools/test_suites.sh $(PY) $(VENV)/test-logs $(PYTEST_ARGS)

test-long: $(STAMP)
	$(PY) -m pytest -q -m long $(PYTEST_ARGS)

docs: $(STAMP)
	$(PY) tools/docs_pictures.py

.PHONY: plan lab lab-train test test-long docs
