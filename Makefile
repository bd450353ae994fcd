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
	  echo; echo "== The CDNOW store (real 1997-98 transactions): import, segments, CLV models"; \
	  rm -f $(BUILD)/cdnow.db $(BUILD)/cdnow.db-wal $(BUILD)/cdnow.db-shm; \
	  CVMD=$(BUILD)/cvmd examples/cdnow/load.sh "$(CDNOW)" $(BUILD)/cdnow.db && \
	  $(BUILD)/cvmd --store $(BUILD)/cdnow.db clv --at 1997-09-30 && \
	  $(BUILD)/cvmd --store $(BUILD)/cdnow.db metrics --at 1998-06-30 --format csv && \
	  echo && echo "== The standard scenarios over the CDNOW customers, the week after the data ends (simulated)" && \
	  $(BUILD)/cvmd --store $(BUILD)/cdnow.db simulate --from 1998-07-01 --days 7 --scenarios scenarios \
	    --format table > $(BUILD)/cdnow-week.txt && head -12 $(BUILD)/cdnow-week.txt && echo "..." && \
	  awk 'NR > 1 { n[$$5]++ } END { for (a in n) printf "%s %d\n", a, n[a] }' $(BUILD)/cdnow-week.txt | sort; \
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
