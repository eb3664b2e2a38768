# One entry point for people and CI. `make demo` and `make test` set up everything they need.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo serve test bench soak lint typecheck install sysdeps vectors clean

$(STAMP): pyproject.toml constraints.txt
	@$(MAKE) --no-print-directory sysdeps
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e '.[device,backend,dev]'
	touch $(STAMP)

install: $(STAMP)

# System libraries the Python packages load at run time (zbar for pyzbar). Installed when missing and we may.
sysdeps:
	@if ! ldconfig -p 2>/dev/null | grep -q libzbar.so.0; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q libzbar0 >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q libzbar0 >/dev/null)) \
	      && echo "installed libzbar0"; \
	  else echo "warning: libzbar0 missing (apt-get install libzbar0); the pyzbar decoder is then unavailable"; fi; \
	fi
	@# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser).
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q -o DPkg::Lock::Timeout=600 chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q -o DPkg::Lock::Timeout=600 chromium >/dev/null)) \
	      && echo "installed chromium"; \
	  else echo "warning: /usr/bin/chromium missing (apt-get install chromium); browser tests cannot run"; fi; \
	fi

	@# PgBouncer for the scale tests' pooler (tests/scale starts its own, with its own PostgreSQL servers).
	@if ! command -v pgbouncer >/dev/null && [ ! -x /usr/sbin/pgbouncer ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    (apt-get install -y -q -o DPkg::Lock::Timeout=600 pgbouncer >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q -o DPkg::Lock::Timeout=600 pgbouncer >/dev/null)) \
	      && echo "installed pgbouncer"; \
	  else echo "warning: pgbouncer missing (apt-get install pgbouncer); the scale tests cannot run"; fi; \
	fi

demo: $(STAMP)
	$(BIN)/python -m demo

# The back end with the demo district on http://127.0.0.1:8000 (SM_PORT) until Ctrl-C; data in var/serve.
serve: $(STAMP)
	$(BIN)/python -m demo.serve

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	mkdir -p bench/results
	$(BIN)/python -m bench

# Long runs, not part of `make test`: 1,000 power cuts, a month offline (bench/soak.py).
soak: $(STAMP)
	$(BIN)/python -m bench.soak

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

vectors: $(STAMP)
	$(BIN)/python -m tests.vectors.generate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
