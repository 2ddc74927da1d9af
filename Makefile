# Two commands set everything up on a fresh machine: `make test` and `make demo`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint typecheck pytest demo demo-escalation demo-ncmec demo-franking bench install clean screenshots

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## make test: create .venv, install, run ruff, mypy --strict and the whole test suite
test: lint typecheck pytest

## make demo: the main job, on the embedded SQLite default
demo: $(STAMP)
	$(BIN)/frankly demo

## make demo-escalation: a confirmed child-safety case the whole way out: a lead approves,
## a local CyberTipline stand-in receives it, the hold, the DSA statement of reasons, the
## reporter's notice and signed webhooks are checked (`make demo-ncmec` is the same)
demo-escalation: $(STAMP)
	$(BIN)/frankly ncmec demo

demo-ncmec: demo-escalation

## make demo-franking: the franking protocol alone, no service
demo-franking: $(STAMP)
	$(BIN)/frankly demo --franking

## make screenshots: the console's screenshots in docs/screenshots (needs /usr/bin/chromium)
screenshots: $(STAMP)
	$(BIN)/python tools/console_screenshots.py

## make bench: every benchmark, with the reference implementations installed; the storage
## benchmarks also measure a scratch database on this PostgreSQL server when it answers
BENCH_POSTGRES_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
bench: $(STAMP)
	@# vpdq (the reference vPDQ, bench extra) builds against Debian's FFmpeg development
	@# packages and needs the ffmpeg program when it is imported. The robustness benchmark
	@# adds 24 photographs from Debian's wallpaper packages to scikit-image's 11.
	@(pkg-config --exists libavcodec libavformat libavutil libswscale libavdevice \
	  && command -v ffmpeg >/dev/null && command -v cmake >/dev/null \
	  && dpkg-query -W lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds \
	     >/dev/null 2>&1) || \
	  (apt-get update -qq && apt-get install -y -q libavcodec-dev libavformat-dev \
	   libavutil-dev libswscale-dev libavdevice-dev pkg-config ffmpeg cmake g++ \
	   lomiri-wallpapers-16.04 lomiri-wallpapers-20.04 mate-backgrounds >/dev/null)
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	$(BIN)/python benchmarks/franking.py
	$(BIN)/python benchmarks/hashing.py
	$(BIN)/python benchmarks/robustness.py
	$(BIN)/python benchmarks/matching.py
	$(BIN)/python benchmarks/intake.py
	$(BIN)/python benchmarks/hostile_media.py
	$(BIN)/python benchmarks/client.py
	$(BIN)/python benchmarks/review.py
	$(BIN)/python benchmarks/review.py --depth 1000
	$(BIN)/python benchmarks/review.py --depth 100000
	$(BIN)/python benchmarks/review.py --depth 1000000
	$(BIN)/python benchmarks/lifecycle.py
	$(BIN)/python benchmarks/shared_state.py --postgres-url $(BENCH_POSTGRES_URL)
	$(BIN)/python benchmarks/transparency.py
	$(BIN)/python benchmarks/bounded_json.py
	$(BIN)/python benchmarks/webhooks.py --postgres-url $(BENCH_POSTGRES_URL)
	$(BIN)/python benchmarks/video.py
	$(BIN)/python benchmarks/transparency_device.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
