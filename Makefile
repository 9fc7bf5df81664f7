# Two commands for everyone: `make lab` (set up, then open the course) and `make test` (the whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(abspath $(VENV))/bin
# nbgrader runs `alembic` from PATH when it creates gradebook.db.
export PATH := $(BIN):$(PATH)
ASSIGNMENTS := $(notdir $(wildcard source/*))
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# torch: PyPI's Linux wheel bundles CUDA (several GB). On Linux `make setup` takes the CPU build
# from PyTorch's CPU index instead; `make setup TORCH=cuda` keeps PyPI's build, for a GPU machine.
# Where that index can't be reached, pip takes any other source of the same CPU build it knows of
# (a local wheel, a mirror in pip.conf). torch's own dependencies come from PyPI with the rest.
TORCH ?= cpu
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu
TORCH_VERSION := $(shell sed -n 's/^torch==\([0-9.]*\).*/\1/p' requirements.txt)
# Extra flags for `jupyter lab` (the tests pass --no-browser, a port and a token).
LAB_FLAGS ?=
# What `make lab` opens: in the browser, and in the URL it prints (with --no-browser too).
START_PAGE := notebooks/00_start_here.ipynb
# The lab students get hides nbgrader's instructor panels (Create Assignment, Formgrader, the
# assignment and course lists): `make setup` writes a Jupyter config folder into the venv that
# `make lab` adds to JUPYTER_CONFIG_PATH. `make instructor-lab` (or `.venv/bin/jupyter lab`) keeps them.
STUDENT_JUPYTER := $(abspath $(VENV))/etc/jupyter-student

.PHONY: setup torch lab instructor-lab test test-fast release check-release student-edition cheatsheet benchmarks clean

setup: $(VENV)/.installed $(STUDENT_JUPYTER)/labconfig/page_config.json

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(MAKE) --no-print-directory torch
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

torch:
	@if [ "$(TORCH)" = cpu ] && [ "$$(uname -s)" = Linux ]; then \
	  echo "torch $(TORCH_VERSION): the CPU build, from $(TORCH_CPU_INDEX) (make setup TORCH=cuda for PyPI's CUDA build)"; \
	  $(BIN)/python -m pip install --quiet --retries 1 --no-deps --extra-index-url $(TORCH_CPU_INDEX) "torch==$(TORCH_VERSION)+cpu"; \
	else \
	  $(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"; \
	fi

$(STUDENT_JUPYTER)/labconfig/page_config.json: Makefile | $(VENV)/.installed
	mkdir -p $(@D)
	printf '%s\n' '{"ServerApp": {"jpserver_extensions": {"nbgrader.server_extensions.formgrader": false, "nbgrader.server_extensions.validate_assignment": false, "nbgrader.server_extensions.assignment_list": false, "nbgrader.server_extensions.course_list": false}}}' > $(STUDENT_JUPYTER)/jupyter_server_config.json
	printf '%s\n' '{"disabledExtensions": {"@jupyter/nbgrader": true}}' > $@

# The course root is served, so the start page's links to release/ work; the start page opens first.
lab: setup
	JUPYTER_CONFIG_PATH="$(STUDENT_JUPYTER)$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))" \
	  $(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=$(CURDIR) --LabApp.default_url=/lab/tree/$(START_PAGE) $(LAB_FLAGS)

# The same course with nbgrader's panels (Formgrader, Create Assignment), for instructors.
instructor-lab: setup
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=$(CURDIR) $(LAB_FLAGS)

test: setup
	$(BIN)/python -m pytest

# Everything but the slow tests (browser, standalone venvs, nbgrader on the hostile corpus).
test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

# Regenerate the generated cells in source/, then release/ with nbgrader.
release: setup
	$(BIN)/python -m course.build
	for a in $(ASSIGNMENTS); do $(BIN)/nbgrader generate_assignment $$a --force --log-level=WARN || exit 1; done

# The folder students get (release/ and notebooks/): make student-edition DEST=../lstm-course-student
DEST ?= student-edition
student-edition: setup
	$(BIN)/python -m course.build --student-edition $(DEST)

# The cheat sheet as one static page for A4 (its code run first: every line is checked): build/cheatsheet.html
cheatsheet: setup
	$(BIN)/python -m course.sheet build/cheatsheet.html

benchmarks: setup
	$(BIN)/python benchmarks/explorer_latency.py

clean:
	rm -rf autograded feedback gradebook.db student-edition test-artifacts
