# Two entry points that work on a fresh clone: `make run` (main job) and `make test`.
PYTHON ?= python3.12
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/python run.py

# Browser tests drive Debian's chromium (Playwright cannot download browsers offline).
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	$(if $(shell command -v sudo),sudo) apt-get update -qq
	$(if $(shell command -v sudo),sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The report's PDF is read back in tests with poppler's pdftotext and pdfinfo.
PDFTOTEXT := /usr/bin/pdftotext
$(PDFTOTEXT):
	$(if $(shell command -v sudo),sudo) apt-get update -qq
	$(if $(shell command -v sudo),sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils

test: $(STAMP) $(CHROMIUM) $(PDFTOTEXT)
	$(VENV)/bin/python -m pytest

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_engine.py

clean:
	rm -rf $(VENV)
