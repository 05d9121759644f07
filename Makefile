# Two commands on a fresh machine: `make demo` and `make test`.
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: setup demo test test-fast lint bench verify clean

$(VENV)/.installed: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh

setup: $(VENV)/.installed

demo: setup
	$(PY) -m rnnkit train --task charlm --quick --out runs/demo --overwrite
	$(PY) -m rnnkit generate --checkpoint runs/demo --prompt "ROMEO:" --length 300 --temperature 0.7 --top-k 20

test: setup
	$(PY) -m ruff check .
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

lint: setup
	$(PY) -m ruff check .

bench: setup
	$(PY) benchmarks/run.py

verify: setup
	$(PY) -m rnnkit verify --out reports/verify

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
