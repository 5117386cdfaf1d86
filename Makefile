# Two entry points: `make demo` and `make test`. Both build .venv from scratch when needed.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

PYSAL_VENV  := .venv-pysal
PYSAL_STAMP := $(PYSAL_VENV)/.installed

.PHONY: demo test venv pysal-venv clean bench chromium

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $(STAMP)

# The pysaliency 0.2.22 oracle, in its own interpreter (tests/pysal/). torch is not installed:
# the oracle runner stubs it (metrics.md section 7 B).
pysal-venv: $(PYSAL_STAMP)

$(PYSAL_STAMP): tests/pysal/requirements.txt
	rm -rf $(PYSAL_VENV)
	$(PYTHON) -m venv $(PYSAL_VENV)
	$(PYSAL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYSAL_VENV)/bin/python -m pip install --quiet -r tests/pysal/requirements.txt
	touch $(PYSAL_STAMP)

# `asdgaze run` on the bundled demo data, up to demo-output/report/report.html. Without DeepGaze IIE weights it
# tries to download them; offline it says they are missing and goes on with the baselines.
demo: $(STAMP)
	$(VENV)/bin/asdgaze demo --out demo-output

# The report's browser test needs a headless Chromium: installed from Debian's packages when missing
# (as root or with passwordless sudo), else make stops before any test, naming what to install.
chromium:
	@sh tools/ensure_chromium.sh

# The browser test keeps its screenshot in test-artifacts/.
test: chromium $(STAMP) $(PYSAL_STAMP)
	ASDGAZE_TEST_ARTIFACTS="$${ASDGAZE_TEST_ARTIFACTS:-$(CURDIR)/test-artifacts}" $(PY) -m pytest -q

bench: $(STAMP)
	$(PY) benchmarks/bench_metrics.py
	$(PY) benchmarks/bench_deepgaze.py

clean:
	rm -rf $(VENV) $(PYSAL_VENV) demo-output .pytest_cache
