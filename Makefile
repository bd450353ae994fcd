# The two commands of the README: `make demo` and `make test`. Everything else is a step of those.
BUILD      ?= build
BUILD_TYPE ?= RelWithDebInfo
CVMD_WERROR ?= OFF
JOBS       ?= $(shell nproc)
GENERATOR  := $(shell command -v ninja >/dev/null 2>&1 && echo Ninja || echo "Unix Makefiles")

.PHONY: all deps configure build test demo fuzz fuzz-run bench clean

all: build

deps:
	@tools/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -G "$(GENERATOR)" -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
	  -DCVMD_WERROR=$(CVMD_WERROR) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

CDNOW ?= ../shared/data/CDNOW_master.txt

demo: build
	@$(BUILD)/cvmd demo --scenarios scenarios
	@if [ -f "$(CDNOW)" ]; then \
	  CVMD=$(BUILD)/cvmd examples/cdnow/demo.sh "$(CDNOW)" $(BUILD)/demo; \
	else \
	  echo; echo "The CDNOW data ($(CDNOW)) is not here: set CDNOW=PATH to see the whole story."; \
	fi

# libFuzzer over parse+check; FUZZ_SECONDS=600 is the issue's ten minutes.
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
fuzz:
	@tools/install-deps --fuzz
	@cmake -S . -B $(FUZZ_BUILD) -G "$(GENERATOR)" -DCMAKE_CXX_COMPILER=clang++ \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCVMD_FUZZ=ON -DCVMD_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_check
	@mkdir -p $(FUZZ_BUILD)/corpus
	$(FUZZ_BUILD)/tests/fuzz/fuzz_check -max_total_time=$(FUZZ_SECONDS) -timeout=5 \
	  -dict=tests/fuzz/cvm.dict $(FUZZ_BUILD)/corpus tests/fuzz/corpus

bench: build
	@tools/install-deps --bench
	@$(BUILD)/bench/bench_dsl
	@BUILD=$(BUILD) bench/bench_customer_state.sh
	@/usr/bin/python3 bench/bench_connectors.py $(BUILD)
	@/usr/bin/python3 bench/bench_serve.py $(BUILD)

clean:
	rm -rf $(BUILD) $(FUZZ_BUILD)
