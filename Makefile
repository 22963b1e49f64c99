# qc-batch: the two commands of the README's quick start, and helpers.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test lint template sample bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Install, then run the yearly batch on the bundled sample workbooks in input/.
run: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/qc-batch run

# Install with the test tools, then lint and run every test.
test: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

template: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/qc-batch template

# Writes the sample workbooks (示例数据) into input/; refuses a folder holding real submissions.
sample: $(BIN)/python
	$(BIN)/pip install --quiet -e .
	$(BIN)/qc-batch sample

bench: $(BIN)/python
	$(BIN)/pip install --quiet -e ".[test]"
	$(BIN)/python benchmarks/run_batch.py

clean:
	rm -rf $(VENV) output build dist *.egg-info
