# The two commands a new user needs: `make demo` and `make test`. Each sets up .venv on its own.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test bench clean services

services:
	bash tools/ci_services.sh
.PHONY: setup demo test bench clean i18n

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run 'make PYTHON=/path/to/python3.11 ...'"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and exactly pinned: the CPU build; a loose requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	bash examples/demo.sh

test: $(STAMP)
	@bash tools/ci_services.sh
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/classification.py

clean:
	rm -rf $(VENV) runs backbones .pytest_cache

# The CLI's Chinese catalog: extract the marked messages, merge them into the .po (translate the new ones there), then
# compile the .mo that ships (committed, so users need no build step). tests/unit/test_i18n.py checks both.
LOCALE := src/domainfit/i18n/locale
i18n: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ --no-location --sort-output -w 120 --project domainfit -o $(LOCALE)/domainfit.pot .
	$(BIN)/pybabel update -D domainfit -i $(LOCALE)/domainfit.pot -d $(LOCALE) --no-fuzzy-matching -w 120
	$(BIN)/pybabel compile -D domainfit -d $(LOCALE)
