# The two set-up commands of the README. Each creates .venv (Python 3.11),
# installs the package and what it needs from PyPI, then runs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test install clean

$(STAMP): setup.cfg setup.py pyproject.toml MANIFEST.in
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

# Evaluate every trained zoo entry on fresh data, print the table, draw the figures.
demo: $(STAMP)
	$(BIN)/geomae export --refresh-config
	$(BIN)/geomae demo --out demo_output

# The suite runs under TensorFlow; then the zoo's backend checks (tests/backends)
# again under JAX and PyTorch (CPU builds), one process per backend.
test: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[jax,torch]"
	$(BIN)/python -m pytest tests -q --durations=15
	KERAS_BACKEND=jax $(BIN)/python -m pytest tests/backends -q
	KERAS_BACKEND=torch $(BIN)/python -m pytest tests/backends -q

clean:
	rm -rf $(VENV) runs demo_output reports .pytest_cache
