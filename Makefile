# Two commands: `make run` starts the local stack, `make test` runs the suite.
# Both create .venv and install what they need on a fresh machine (Python 3.11+ and make).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000

.PHONY: run test check lint format install clean-local model bench-accuracy bench-elsewhere bench-ceiling bench-engine bench-scoring bench-retention bench-uplift package fuzz model-report deploy load-test bench-source bench-ingest bench-scale

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check "pip<26.3"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	PORT=$(PORT) $(PY) -m chalicelib.local.stack

# Everything: lint, the builder's unit tests, and every tier of the suite on both cores.
test: $(STAMP) browser lint test-ui-unit
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS)

# The fast inner loop: lint and every test but the slow tiers (local stack, browser, fuzz,
# package, model training; tests/conftest.py TIERS), on both cores (pytest-xdist).
check: $(STAMP) lint test-ui-unit
	$(PY) -m pytest -q -n 2 -m "not (e2e or browser or fuzz or package or training)" $(PYTEST_ARGS)

# ruff (pyproject.toml): lint, and the format every file is kept in.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Debian's Chromium, for the browser test of the segment builder (tests/test_ui_browser.py drives it
# with Playwright; Playwright's own browser download is not used). Installed when missing.
.PHONY: browser screenshots
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	command -v chromium >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium)

# The segment builder's pure modules (chalicelib/ui/) under Node's own test runner; Debian's nodejs,
# installed when missing. The files are named (not the folder) so that any Node version finds them.
.PHONY: node test-ui-unit
node:
	command -v node >/dev/null || ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs)
test-ui-unit: node
	node --test tests/ui/*.test.mjs

# docs/img/ui-*.png: the browser test, taking a screenshot of each page (on more demo profiles).
screenshots: $(STAMP) browser
	UI_SCREENSHOTS=1 UI_DEMO_PROFILES=$${UI_DEMO_PROFILES:-400} $(PY) -m pytest -q -s tests/test_ui_browser.py

clean-local:
	rm -rf .local

# A longer schemathesis run than the suite's, against a freshly started local stack (its own
# data folder, a free port). FUZZ_SEED replays a run; FUZZ_EXAMPLES sets the examples per case kind.
FUZZ_EXAMPLES ?= 200
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$${FUZZ_SEED:-$$(date +%s)} $(PY) -m pytest -q -s tests/test_fuzz_api.py

# The default model shipped in chalicelib/predict/artifacts/ (CDNOW calibration + generated visitors).
model: $(STAMP)
	$(PY) -m chalicelib.predict.train_default

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP) requirements-bench.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	touch $(BENCH_STAMP)

bench-accuracy: $(BENCH_STAMP)
	$(PY) bench/accuracy_cdnow.py

# the same report on a drawn shop that is not CDNOW (other cycle, money, acquisition)
bench-elsewhere: $(BENCH_STAMP)
	$(PY) bench/simulated_shop.py $(ELSEWHERE_ARGS)

# what the product's features can reach on CDNOW at all: learners fitted on the holdout's own
# labels, out of fold (a ceiling for any model trained before the holdout; it chooses nothing)
bench-ceiling: $(STAMP)
	$(PY) bench/ceiling_cdnow.py

# reports/model-report.{md,html} and its PNG plots: the default model's metadata, the CDNOW
# holdout evaluation of bench-accuracy against BG/NBD + GG, calibration, gains, feature
# importance and type distributions (matplotlib: report-only, never in the Lambda package).
REPORT_STAMP := $(VENV)/.report-installed
$(REPORT_STAMP): $(BENCH_STAMP) requirements-report.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-report.txt
	touch $(REPORT_STAMP)

model-report: $(REPORT_STAMP)
	$(PY) scripts/model_report.py

# The Lambda package and its SAM template, without an AWS account. Chalice finds Lambda wheels of
# numpy/scipy/scikit-learn only for Python 3.12 (shared/notes/stack-facts.md), so it runs there.
PY312 ?= $(shell ls -d $$HOME/.pyenv/versions/3.12*/bin/python3.12 2>/dev/null | head -1 || command -v python3.12)
VENV312 := .venv312
$(VENV312)/.installed: requirements.txt requirements-dev.txt
	test -x $(VENV312)/bin/python || $(PY312) -m venv $(VENV312)
	$(VENV312)/bin/python -m pip install --quiet --disable-pip-version-check "pip<26.3" chalice==1.34.0 -r requirements.txt
	touch $@

# The template holds every resource (tables, stream, bucket, queues, least-privilege role) through
# chalice's --merge-template (scripts/deploy_template.py); cfn-lint checks it.
STAGE ?= prod
package: $(VENV312)/.installed $(STAMP)
	rm -rf build/package
	$(VENV312)/bin/python scripts/deploy_template.py $(STAGE) build/resources-$(STAGE).json
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} $(VENV312)/bin/chalice package --stage $(STAGE) --merge-template build/resources-$(STAGE).json build/package
	$(VENV312)/bin/python scripts/patch_template.py build/package/sam.json
	$(VENV312)/bin/python scripts/check_package.py build/package/deployment.zip
	$(VENV)/bin/cfn-lint build/package/sam.json

# Deploy to the AWS account of the current credentials: `make deploy STAGE=prod DEPLOY_BUCKET=...`
# (an existing S3 bucket for the Lambda zip). CloudFormation creates or updates the stack.
deploy: package
	$(VENV312)/bin/python scripts/deploy.py --stage $(STAGE) --bucket $(DEPLOY_BUCKET) build/package

# 60 s of events and previews against a fresh local stack; fails on a 5xx or a lost event.
load-test: $(STAMP)
	$(PY) bench/load_test.py $(LOAD_ARGS)

# The Segment-compatible source: batches from several clients, each sent twice, on a fresh local
# stack; prints messages a second and fails on a lost or doubled message.
bench-source: $(STAMP)
	$(PY) bench/source_ingest.py $(SOURCE_ARGS)
# profiles/s and events/s through the batch API on a fresh local stack
bench-ingest: $(STAMP)
	$(PY) bench/ingest_api.py

bench-engine: $(BENCH_STAMP)
	$(PY) bench/segment_engine.py

bench-scoring: $(BENCH_STAMP)
	$(PY) bench/scoring_speed.py

bench-retention: $(BENCH_STAMP)
	$(PY) bench/retention_cdnow.py
# uplift at 1,000,000 members (engine) and 50,000 on a fresh local stack (slow to seed)
bench-uplift: $(STAMP)
	$(PY) bench/uplift_speed.py $(UPLIFT_ARGS)
.PHONY: bench-events
bench-events: $(BENCH_STAMP)
	$(PY) bench/event_conditions.py
# one shard's rescore and a compaction with injected AWS latency, projected to 10M profiles
bench-scale: $(STAMP)
	$(PY) bench/scale_sim.py --profiles 4000 --bulk 4000
	$(PY) bench/merge_memory.py
