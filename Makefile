# Two commands for everyone: `make lab` (set up, then open the course) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
# nbgrader runs `alembic` from PATH when it creates gradebook.db.
export PATH := $(BIN):$(PATH)
ASSIGNMENTS := $(notdir $(wildcard source/*))
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: setup lab test release check-release student-edition benchmarks clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) notebooks/00_start_here.ipynb

test: setup
	$(BIN)/python -m pytest

# Regenerate the generated cells in source/, then release/ with nbgrader.
release: setup
	$(BIN)/python -m course.build
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment $$a --force --log-level=WARN || exit 1; done

# The folder students get (release/ and notebooks/): make student-edition DEST=../lstm-course-student
DEST ?= student-edition
student-edition: setup
	$(BIN)/python -m course.build --student-edition $(DEST)

benchmarks: setup
	$(BIN)/python benchmarks/explorer_latency.py

clean:
	rm -rf autograded feedback gradebook.db student-edition test-artifacts
