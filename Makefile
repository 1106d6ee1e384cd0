# Two commands: `make run` starts the local stack, `make test` runs the suite.
# Both create .venv and install what they need on a fresh machine (Python 3.11+ and make).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test install clean-local model bench-accuracy

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip<26.3"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	PORT=$(PORT) $(PY) -m chalicelib.local.stack

test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS)

clean-local:
	rm -rf .local

# The default model shipped in chalicelib/predict/artifacts/ (CDNOW calibration + generated visitors).
model: $(STAMP)
	$(PY) -m chalicelib.predict.train_default

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $(BENCH_STAMP)

bench-accuracy: $(BENCH_STAMP)
	$(PY) bench/accuracy_cdnow.py
