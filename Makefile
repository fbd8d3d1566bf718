# The two commands of README.md: `make demo` and `make test`. Both install
# missing Debian packages first (scripts/deps.sh).

BUILD        ?= build
ASAN_BUILD   ?= build-asan
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 20

.PHONY: all deps build test test-unit test-asan test-fuzz check-static demo bench clean

all: build

deps:
	@sh scripts/deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# The whole suite: unit, corpus-replay and system tests on the hardened
# build; the ELF hardening and banned-call checks; the same suite under
# ASan+UBSan; each fuzz target for a short while; one summary line.
test: deps
	@rm -f $(BUILD)/meson-logs/testlog.json $(ASAN_BUILD)/meson-logs/testlog.json
	$(MAKE) --no-print-directory build
	meson test -C $(BUILD) --print-errorlogs || true
	scripts/check-hardening.sh $(BUILD)
	python3 scripts/check-banned.py .
	$(MAKE) --no-print-directory test-asan
	$(MAKE) --no-print-directory test-fuzz
	python3 scripts/test-summary.py $(BUILD) $(ASAN_BUILD)

test-asan: deps
	[ -f $(ASAN_BUILD)/build.ninja ] || meson setup $(ASAN_BUILD) \
		-Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs || true

test-fuzz: deps
	[ -f $(FUZZ_BUILD)/build.ninja ] || CC=clang meson setup $(FUZZ_BUILD) \
		-Dfuzzing=true -Dtests=false -Db_sanitize=address,undefined \
		-Db_lundef=false
	ninja -C $(FUZZ_BUILD)
	scripts/fuzz.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

demo: build
	sh scripts/demo.sh $(BUILD)

# Every benchmark; each ends with one line "<name>: <figure> ... (target ...)".
bench: build
	@for b in bench/*.sh; do echo "== $$b"; sh $$b || exit 1; done

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) out
