# The Dot Product in Neural Networks — build, test, read.
#   make book    execute every chapter and build the HTML book into _build/html
#   make test    run every test layer (unit, notebooks, book build, browser, JupyterLab, Colab path)
#   make lab     open the reader notebooks (the chapters, MyST made plain) in JupyterLab
#   make serve   serve the built book on http://127.0.0.1:8000
#   make bench   print the performance table (README "Performance")
#   make gpu-check  unit tests and chapters on a CUDA GPU
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# torch is installed on its own first. The default takes the CPU wheel where one
# is cached (CI); readers may pass e.g. TORCH_PIP="torch --index-url <cpu index>".
TORCH_PIP ?= torch==2.13.0
STAMP  := $(VENV)/.installed
PORT   ?= 8000
BOOK_FLAGS := -n -W --keep-going
# jupyter-cache keys on notebook content only: a change in src/ must re-execute.
SRC_HASH = $(shell cat $$(find src -name '*.py' -o -name '*.json' | sort) | sha256sum | cut -c1-16)

.PHONY: all venv book rebuild test test-unit browser gpu-check lab serve bench sync clean

all: book

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_PIP)
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

venv: $(STAMP)

# DOTBOOK_BUILD=1 makes plotly emit HTML the book can show, and makes each
# interactive figure show its static twin (see src/dotbook/explore.py).
# The book serves a partial plotly.js fetched once with npm into ~/.cache/dotbook
# (DOTBOOK_CACHE to move it; without npm, the full bundle: see the build log).
# tools/execute_chapters.py first executes the chapters two at a time into the
# execution cache; Sphinx then only renders them.
book: $(STAMP) browser
	@if [ "$$(cat _build/.src-hash 2>/dev/null)" != "$(SRC_HASH)" ]; then \
		echo "src/ changed since the last build: clearing the execution cache"; \
		rm -rf _build/.jupyter_cache _build/.doctrees; fi
	DOTBOOK_BUILD=1 $(BIN)/python tools/execute_chapters.py --cache _build/.jupyter_cache
	DOTBOOK_BUILD=1 $(BIN)/jupyter-book build . $(BOOK_FLAGS)
	@echo "$(SRC_HASH)" > _build/.src-hash
	@echo "Book built: open _build/html/index.html, or run 'make serve' and visit http://127.0.0.1:$(PORT)/"

rebuild: $(STAMP)
	rm -rf _build
	$(MAKE) book

# Two pytest workers (pytest-xdist): much of the suite waits on browsers, kernels and
# pip, so two share a 2-core machine well. tests/conftest.py says what runs together.
TEST_WORKERS ?= 2
test: book browser
	$(BIN)/ruff check src tests tools book/_ext book/*.ipynb
	$(BIN)/ruff format --check book/*.ipynb
	$(BIN)/zizmor --offline .github/workflows
	$(BIN)/python -m pytest src tests book --nbval-lax -p no:cacheprovider --durations=30 \
		-n $(TEST_WORKERS) --dist loadfile

# The browser tests, and the build's pictures of the figures, use the system Chromium
# when there is one (CI installs Debian's); elsewhere Playwright downloads its own once.
browser: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		$(BIN)/python -m playwright install chromium

test-unit: $(STAMP)
	$(BIN)/python -m pytest src tests -m "not browser and not lab and not slow" -p no:cacheprovider

# On a machine with a GPU: unit tests (device-parametrized ones include cuda)
# and every chapter, computing on device.best().
gpu-check: $(STAMP)
	$(BIN)/python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device here'; print(torch.cuda.get_device_name())"
	$(BIN)/python -m pytest src tests book --nbval-lax -p no:cacheprovider -m "not browser and not lab and not slow"
	$(BIN)/python tools/bench_compute.py --device cuda
	$(BIN)/python tools/bench_attention.py --device cuda
	$(BIN)/python tools/record_gpu_run.py

# The reader notebooks of the book build (book/_ext/reader_notebooks.py writes them
# to _build/html/_notebooks/), copied to _build/lab/ unless your copy there is newer,
# in a JupyterLab whose settings come from tools/lab-settings/ (no news pop-up).
LAB_DIR := _build/lab
lab: book
	@mkdir -p $(LAB_DIR)
	@for nb in _build/html/_notebooks/*.ipynb; do dest="$(LAB_DIR)/$$(basename "$$nb")"; \
		if [ -e "$$dest" ] && [ "$$dest" -nt "$$nb" ]; then echo "keeping your edited $$dest"; \
		else cp -p "$$nb" "$$dest"; fi; done
	$(BIN)/jupyter lab --ServerApp.root_dir=$(LAB_DIR) \
		--LabApp.app_settings_dir="$(CURDIR)/tools/lab-settings"

serve:
	@test -d _build/html || (echo "no _build/html yet: run 'make book' first" && exit 1)
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

bench: $(STAMP)
	$(BIN)/python tools/bench.py
	$(BIN)/python tools/bench_compute.py
	$(BIN)/python tools/bench_attention.py

sync: $(STAMP)
	$(BIN)/python tools/sync_notebooks.py

clean:
	rm -rf _build .pytest_cache
