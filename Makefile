# The two set-up commands of the README, plus the benchmarks.
# Works on a fresh machine with Python 3.11, pip and make: everything else is installed here.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean servers

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

demo: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/zarrkit demo

# The real servers the tests start on loopback ports: redis-server and nginx from Debian, Azurite
# (Azure's storage emulator) from npm below the virtualenv; moto's S3 server comes with the test
# extras. Installed only where missing; CI runs as root.
AZURITE := $(VENV)/node/node_modules/.bin/azurite-blob

$(AZURITE):
	npm install --prefix $(VENV)/node --no-audit --no-fund --loglevel=error azurite@3.35.0

servers: $(AZURITE)
	@command -v redis-server >/dev/null && test -x /usr/sbin/nginx || \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server nginx-light)

test: $(BIN)/python servers
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/ruff check zarrkit tests benchmarks
	$(BIN)/python -m pytest -n 2 -q

# The peers the benchmarks measure against and the servers of the remote and reference-set cases are
# those of the tests. `make bench` runs the local cases; see `python -m benchmarks --help` for
# --remote, --refs and --scan, and `python -m benchmarks.transport`.
bench: $(BIN)/python servers
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache demo-data bench-data
