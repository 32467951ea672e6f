# EE 541 Unit 1. Two commands do everything on a fresh machine:
#   make run    set up, prepare the data, execute every notebook into build/ (table of times)
#   make test   set up, prepare the data, unit tests + every notebook under nbval
# Every target is idempotent: a second call re-installs nothing.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.course-utils-installed

.PHONY: setup data run test test-portable test-lowest test-light test-hosted test-colab test-slurm unit lab lab-student student check grade-class bench env clean distclean nbgrader prune-runs

setup: $(STAMP)

# Re-install only when the declared dependencies change.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -e '.[dev]'
	@touch $@

data: setup
	$(PY) -m course_utils data

env: setup
	$(PY) -m course_utils env

run: data
	$(PY) -m course_utils run notebooks --out build

# One pytest worker per core, each (and every kernel it starts) with its share of the cores' threads
# (conftest.py); tests that share a fixture stay in one worker. At most 4 workers: each may hold a
# notebook kernel with Fashion-MNIST and PyTorch loaded (about 1 GB). `make test PARALLEL=` runs serially.
PARALLEL ?= -n auto --maxprocesses 4 --dist loadgroup --no-loadscope-reorder

test: data
	$(PY) -m pytest $(PARALLEL)

# The quick tier for day-to-day work: unit tests that start no kernel, browser or nbgrader run.
unit: setup
	$(PY) -m pytest $(PARALLEL) tests -m "not notebook and not browser and not slow"

# The notebooks under nbval again, in a second numeric regime for PyTorch (one thread, generic
# ATen kernels): stored outputs must not depend on rounding. OpenBLAS settings stay as the machine
# sets them (some machines set OPENBLAS_CORETYPE to avoid wrong results).
PORTABLE_ENV := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 ATEN_CPU_CAPABILITY=default
test-portable: data
	$(PORTABLE_ENV) $(PY) -m pytest $(PARALLEL) notebooks

# The other end of the ranges: a second environment with every dependency of pyproject.toml at its
# lower bound (`python -m course_utils lowest-constraints` turns each >=X into ==X), on the oldest
# Python that requires-python admits (tests/test_lowest.py keeps LOWEST_PYTHON in step), and the
# notebooks under nbval in it. The test tools (pytest, nbval, xdist) come at their newest within the
# dev extra's ranges. pip keeps its own cache (wheels come from it where the index lets pip cache them).
LOWEST        ?= .venv-lowest
LOWEST_PYTHON ?= python3.11
LOWEST_STAMP  := $(LOWEST)/.lowest-installed

$(LOWEST_STAMP): pyproject.toml course_utils/tools/lowest.py
	@test -x $(LOWEST)/bin/python || command -v $(LOWEST_PYTHON) >/dev/null \
		|| { echo "test-lowest needs $(LOWEST_PYTHON) (LOWEST_PYTHON=/path/to/python3.11 names one)"; exit 1; }
	@test -x $(LOWEST)/bin/python || $(LOWEST_PYTHON) -m venv $(LOWEST)
	$(LOWEST)/bin/python -m course_utils lowest-constraints --out $(LOWEST)/constraints.txt
	$(LOWEST)/bin/python -m pip install --disable-pip-version-check -c $(LOWEST)/constraints.txt \
		-e '.[tools]' pytest pytest-xdist nbval
	@touch $@

test-lowest: $(LOWEST_STAMP)
	$(LOWEST)/bin/python -m course_utils env
	$(LOWEST)/bin/python -m course_utils data
	$(LOWEST)/bin/python -m pytest $(PARALLEL) notebooks

# The kernel side alone (docs/architecture.md): a fresh venv with `pip install .` (no extra) and ipykernel,
# as a hosted Jupyter has it; tests/test_light.py checks no Jupyter tool came with it and runs the released
# notebooks 02 and 05 in its own kernel. The course is installed, not linked: the venv is rebuilt when
# the package changes. PyTorch and what it requires (about 5 GB) are hard-linked from .venv before pip runs
# (course_utils/tools/venvs.py): three copies do not fit on a small disk.
LIGHT       ?= .venv-light
STUDENT_VENV ?= .venv-student
LIGHT_STAMP := $(LIGHT)/.light-installed
SHARED      := torch torchvision
$(LIGHT_STAMP): pyproject.toml $(shell find course_utils -name '*.py' -not -path '*/tools/*') | $(STAMP)
	@test -x $(LIGHT)/bin/python || $(PYTHON) -m venv $(LIGHT)
	$(PY) -m course_utils share-packages --into $(LIGHT) $(SHARED)
	$(LIGHT)/bin/python -m pip install --disable-pip-version-check --force-reinstall --no-deps .
	$(LIGHT)/bin/python -m pip install --disable-pip-version-check . ipykernel
	@touch $@

# and a student's set-up (STUDENT_VENV, `.[lab]`, see lab-student): tests/browser/test_student_lab.py opens a released
# notebook in its JupyterLab and finds no nbgrader there.
test-light: data $(LIGHT_STAMP) $(STUDENT_VENV)/.student-installed
	COURSE_LIGHT_PYTHON=$(LIGHT)/bin/python COURSE_STUDENT_PYTHON=$(STUDENT_VENV)/bin/python \
		$(PY) -m pytest -p no:xdist tests/test_light.py tests/browser/test_student_lab.py

# A published notebook where the course is not installed (tests/test_hosted.py): a hub's Python, with ipykernel,
# PyTorch (hard-linked from .venv) and the scientific stack but no course, offline. The release's first cell installs
# the course from a wheelhouse built from the checkout and changes nothing else; released 05 runs in that kernel.
HUB       ?= .venv-hub
HUB_STAMP := $(HUB)/.hub-installed
$(HUB_STAMP): pyproject.toml | $(STAMP)
	@test -x $(HUB)/bin/python || $(PYTHON) -m venv $(HUB)
	$(PY) -m course_utils share-packages --into $(HUB) $(SHARED)
	$(HUB)/bin/python -m pip install --disable-pip-version-check ipykernel torch torchvision numpy scipy matplotlib scikit-learn \
		tensorboard pillow tqdm threadpoolctl packaging
	@touch $@

test-hosted: data $(HUB_STAMP)
	$(HUB)/bin/python -m pip uninstall --disable-pip-version-check -y -q course-utils 2>/dev/null || true
	COURSE_HUB_PYTHON=$(HUB)/bin/python $(PY) -m pytest -p no:xdist tests/test_hosted.py

# The same in Colab's Python (not in CI: about 5 GB, PyPI's CUDA build of Colab's torch): Python 3.13 with Colab's kernel
# stack and scientific stack at Colab's versions (tests/hosted/colab-constraints.txt); released 00, 02 and 05 run
# in that venv's own ipykernel 6.17.1 on IPython 7.34.
COLAB        ?= .venv-colab
COLAB_PYTHON ?= python3.13
COLAB_STAMP  := $(COLAB)/.colab-installed
$(COLAB_STAMP): tests/hosted/colab-constraints.txt
	@test -x $(COLAB)/bin/python || command -v $(COLAB_PYTHON) >/dev/null \
		|| { echo "test-colab needs $(COLAB_PYTHON) (COLAB_PYTHON=/path/to/python3.13 names one)"; exit 1; }
	@test -x $(COLAB)/bin/python || $(COLAB_PYTHON) -m venv $(COLAB)
	$(COLAB)/bin/python -m pip install --disable-pip-version-check -c tests/hosted/colab-constraints.txt \
		ipykernel ipython notebook jupyter_client tornado traitlets pyzmq numpy torch torchvision matplotlib \
		scikit-learn scipy tensorboard pillow tqdm threadpoolctl packaging setuptools
	@touch $@

test-colab: data $(COLAB_STAMP) | $(STAMP)
	$(COLAB)/bin/python -m pip uninstall --disable-pip-version-check -y -q course-utils 2>/dev/null || true
	COURSE_COLAB_PYTHON=$(COLAB)/bin/python $(PY) -m pytest -p no:xdist tests/test_hosted.py

# The Slurm template (examples/slurm/) on a real Slurm: a private one-node cluster (munge key, socket,
# configuration, state and logs in a temporary folder; free ports) runs grade-class.sbatch as an array
# of 4 on the tests' synthetic class and merge.sbatch after it; the merge must equal a one-machine run.
# Needs root, slurm-wlm and munge (skipped, with the reason, without them; COURSE_REQUIRE_SLURM=1 fails).
test-slurm: data
	$(PY) -m pytest tests/test_slurm.py -m slurm

# Serves the repository with the instructor's tools (nbgrader's menus included): notebooks/ and student/.
lab: data
	$(BIN)/jupyter lab --notebook-dir=.


# A student's set-up: the kernel side and JupyterLab, no instructor tools (README "Set-up"), serving student/.
$(STUDENT_VENV)/.student-installed: pyproject.toml | $(STAMP)
	@test -x $(STUDENT_VENV)/bin/python || $(PYTHON) -m venv $(STUDENT_VENV)
	$(PY) -m course_utils share-packages --into $(STUDENT_VENV) $(SHARED)
	$(STUDENT_VENV)/bin/python -m pip install --disable-pip-version-check -e '.[lab]'
	@touch $@

lab-student: $(STUDENT_VENV)/.student-installed
	$(STUDENT_VENV)/bin/python -m course_utils data
	$(STUDENT_VENV)/bin/jupyter lab --notebook-dir=student

# Student notebooks in student/ (git-ignored; `make clean` never touches it): solutions replaced by
# stubs, outputs cleared, leak-scanned. A notebook changed since it was released is kept; the new
# version is written beside it as NAME.new.ipynb.
student: setup
	$(PY) -m course_utils release notebooks --out student

# Grade notebooks (default: the student release) and print one table.
NB ?= student
check: setup
	$(PY) -m course_utils check $(NB)

# A whole class (docs/teaching.md): CLASS holds one folder per student or an LMS's flat download; the
# gradebook, results, feedback pages and summary go to GRADES. Parallel (one job per core), sandboxed
# with bubblewrap where installed, and resumable: a second call grades only new or changed submissions.
CLASS  ?= submissions
GRADES ?= grades
grade-class: setup
	$(PY) -m course_utils grade-class $(CLASS) --out $(GRADES)

# The course as an nbgrader course: NBGRADER_DIR/nbgrader_config.py and source/unit1/, regenerated
# from notebooks/ (the gradebook, submissions and feedback there are kept). Outside the repository
# by default, so that `make clean` never touches grades.
NBGRADER_DIR ?= ../ee541-nbgrader
nbgrader: data
	$(PY) -m course_utils export-nbgrader --out $(NBGRADER_DIR)

# Runs accumulate in runs/<name>/<timestamp>/ beside each notebook (starting a run deletes nothing).
# This lists all but the newest KEEP of each name in RUNS; `make prune-runs DELETE=1` removes them.
KEEP ?= 3
RUNS ?= notebooks/runs
prune-runs: setup
	$(PY) -m course_utils prune-runs --root $(RUNS) --keep $(KEEP) $(if $(DELETE),--delete)

# Every benchmark runs, also after a missed goal; the target fails if any missed. bench_suite.py runs
# `make run` and `make test` itself (about 9 minutes on 2 cores).
bench: data
	@missed=""; for f in benchmarks/bench_*.py; do echo "== $$f"; $(PY) $$f || missed="$$missed $$f"; done; \
	if [ -n "$$missed" ]; then echo "missed or failed:$$missed"; exit 1; fi

# Generated files only; the virtual environment, the prepared data and student/ stay.
clean:
	rm -rf build notebooks/runs notebooks/build .pytest_cache
	find . -name __pycache__ -type d -not -path './$(VENV)/*' -not -path './$(LOWEST)/*' -prune -exec rm -rf {} +

# Also the virtual environments and the prepared data (student/ still stays: it is the student's work).
distclean: clean
	rm -rf $(VENV) $(LOWEST) $(LIGHT) $(STUDENT_VENV) $(HUB) $(COLAB) data/FashionMNIST
