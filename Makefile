# The two set-up commands of the README, each installing what is missing first:
#   make demo   install, then run the main job on the embedded synthetic data
#   make test   install, then run the whole test suite
# Installs go into a local virtualenv ($(VENV)); a second run skips what is done.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# A folder holding a prebuilt mmcv 2.1.0 wheel saves a ~21 min source build
# (make test MMCV_WHEEL_DIR=/path/to/wheels); empty: pip builds mmcv from source.
MMCV_WHEEL_DIR ?=
FIND_LINKS := $(if $(MMCV_WHEEL_DIR),$(if $(wildcard $(MMCV_WHEEL_DIR)/*.whl),--find-links $(MMCV_WHEEL_DIR),),)
EXT_SOURCES := setup.py $(shell find mmcv_ops/csrc -type f 2>/dev/null)

.PHONY: install demo test clean-venv

$(VENV)/.deps: requirements/build.txt requirements/mminstall.txt requirements/runtime.txt requirements/tests.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip
	$(PIP) install -q -r requirements/build.txt
	$(PIP) install -q --no-build-isolation $(FIND_LINKS) -r requirements/mminstall.txt
	$(PIP) install -q -r requirements/runtime.txt -r requirements/tests.txt
	touch $@

$(VENV)/.project: $(VENV)/.deps $(EXT_SOURCES)
	$(PIP) install -q --no-build-isolation --no-deps -e .
	touch $@

install: $(VENV)/.project

demo: install
	PATH=$(abspath $(VENV))/bin:$$PATH bash tools/run_demo.sh

test: install
	$(PY) -m pytest tests

clean-venv:
	rm -rf $(VENV)
