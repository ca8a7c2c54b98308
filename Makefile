# Two commands do everything on a fresh machine:
#   make plan   the main job: print DyPE's plan for FLUX at 4096x4096 and write its chart
#   make test   install what the tests need and run them (lint, Python tests, JavaScript tests)
# The quality lab (lab/, docs/lab/): make lab-train reproduces its weights, make lab its gate and results.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

plan: $(STAMP)
	$(PY) -m dype_core plan --model flux --width 4096 --height 4096 --steps 28 --chart dype_plan.png

lab: $(STAMP)
	$(PY) -m lab evaluate

lab-train: $(STAMP)
	$(PY) -m lab train

test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m pytest -q
	@if command -v node >/dev/null 2>&1; then node --test tests/js/; else echo "node not found: JavaScript tests skipped"; fi

.PHONY: plan lab lab-train test
