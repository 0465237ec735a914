# Set-up lives here so that README's two commands work on a fresh machine.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: serve test install bench

# Everything: the tests, training and the benchmarks (the dev and train extras bring PyTorch, the 'torch' extra).
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# torch first and pinned, so that nothing resolves a CUDA build.
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,train,report]'
	touch $@

# Serving only: ONNX Runtime, no PyTorch (a venv that already has everything is left as it is).
$(BIN)/.installed-serve: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	if [ $(BIN)/.installed -nt pyproject.toml ]; then :; else \
	  $(BIN)/python -m pip install --quiet --upgrade pip && $(BIN)/python -m pip install --quiet -e .; fi
	touch $@

# The tests also drive a real Ray cluster: the 'cluster' extra, for them only (the service itself stays lean).
$(BIN)/.installed-cluster: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[cluster]'
	touch $@

install: $(BIN)/.installed

serve: $(BIN)/.installed-serve
	$(BIN)/qa serve --host 127.0.0.1 --port $(PORT)

test: $(BIN)/.installed-cluster
	@command -v chromedriver >/dev/null || echo "note: chromium/chromedriver are not installed, so the chat page's browser test will be SKIPPED (apt-get install chromium chromium-driver; .ci/run installs them)"
	$(BIN)/python -m pytest

bench: $(BIN)/.installed
	$(BIN)/python bench/bench_api.py
