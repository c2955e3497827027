# Two commands on a fresh machine with Python 3.11 and pip:
#   make run   - install what is missing into .venv and start the app
#   make test  - install what is missing and run the tests
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP     := $(VENV)/.dev-installed
# Debian packages: ffmpeg decodes compressed uploads; the rest make training data
# and drive the browser test. Installed only when running as root with apt-get.
SYSTEM_PACKAGES := ffmpeg sox espeak-ng flite fluidsynth fluid-soundfont-gm chromium

.PHONY: run test bench system-packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(RUNTIME_STAMP): requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

system-packages:
	@missing=""; \
	for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "Installing Debian packages:$$missing"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null) \
	    || echo "Could not install$$missing; tests that need them will be skipped."; \
	else \
	  echo "Not root or no apt-get: skipping Debian packages$$missing; tests that need them will be skipped."; \
	fi

run: $(RUNTIME_STAMP)
	@command -v ffmpeg >/dev/null 2>&1 || $(MAKE) --no-print-directory system-packages SYSTEM_PACKAGES=ffmpeg
	GRADIO_ANALYTICS_ENABLED=False $(BIN)/python app.py

test: $(DEV_STAMP) system-packages
	$(BIN)/python -m pytest -q tests

bench: $(RUNTIME_STAMP)
	$(BIN)/python -m explainer bench

clean:
	rm -rf $(VENV) .pytest_cache
