# Two commands for a fresh machine: `make run` and `make test`.
# Every target installs what it needs first, and is quick when nothing changed.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
EXTRAS ?= dev

.PHONY: install install-user system-deps run test lint format bench package clean

install: system-deps $(STAMP)

system-deps:
	@sh packaging/install-system-deps.sh

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[$(EXTRAS)]'
	@touch $(STAMP)

run: install
	$(VENV)/bin/segue

# A `segue` command in ~/.local/bin (BIN_DIR=... elsewhere) that runs this checkout.
install-user: install
	@sh packaging/install-user.sh $(VENV)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

test: lint
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider

# A second genre-labelled feature table for bench_content_quality (see paa_table.py).
BENCH_DATA := .cache/bench-data
PAA_SDIST  := $(BENCH_DATA)/pyAudioAnalysis-0.3.14.tar.gz

bench: system-deps
	@$(MAKE) --no-print-directory $(STAMP) EXTRAS=dev,bench
	@$(PY) -m pip install -q -e '.[dev,bench]'
	@test -f $(PAA_SDIST) || $(PY) -m pip download -q --no-deps --no-binary :all: \
		-d $(BENCH_DATA) pyAudioAnalysis==0.3.14
	QT_QPA_PLATFORM=offscreen $(PY) tests/benchmarks/run.py

package: system-deps
	@$(MAKE) --no-print-directory $(STAMP) EXTRAS=dev,package
	@$(PY) -m pip install -q -e '.[dev,package]'
	@sh packaging/install-system-deps.sh --package
	$(VENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath dist \
		--workpath build/pyinstaller packaging/segue-linux.spec
	@du -sh dist/segue

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache
