# Two commands do everything on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
# A CPU build of torch: small and quick to install.
TORCH  ?= torch==2.13.0

.PHONY: demo test fuzz venv corpus bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)"
	$(PY) -m pip install -q -e ".[test]"
	touch $@

venv: $(VENV)/.installed

# The JupyterLab test drives the system's Chromium (Debian: chromium, chromium-driver); its
# Python side (JupyterLab, Selenium) is installed only where that browser is. Elsewhere the
# test says it skipped.
BROWSER := $(and $(wildcard /usr/bin/chromium),$(wildcard /usr/bin/chromedriver))

$(VENV)/.browser: $(VENV)/.installed
	$(PY) -m pip install -q -e ".[test,browser]"
	touch $@

demo: venv
	$(VENV)/bin/ipython --colors=Linux --no-banner demos/tour.ipy

test: venv $(if $(BROWSER),$(VENV)/.browser)
	$(PY) -m pytest -q

# The property test at length: 100 generated notebooks of 12 cells (1200 cells), each run
# plainly and in every torchmagic mode, and every internal stage made to fail in turn.
FUZZ_SEEDS ?= 100
FUZZ_CELLS ?= 12
fuzz: venv
	TORCHMAGIC_FUZZ_SEEDS=$(FUZZ_SEEDS) TORCHMAGIC_FUZZ_CELLS=$(FUZZ_CELLS) \
		$(PY) -m pytest -q -W ignore::ResourceWarning tests/test_fuzz.py tests/run/test_faults.py

corpus: venv
	$(PY) ../shared/tools/score_corpus.py ../shared/corpus

bench: venv
	$(PY) benchmarks/overhead.py
	$(PY) benchmarks/scripts.py

clean:
	rm -rf $(VENV) build *.egg-info
