# cocoindex.h -- build, test and benchmark.  `make test` is what CI runs.
CC      ?= cc
CXX     ?= c++
WARN    := -Wall -Wextra -Wpedantic -Werror -Wshadow
TFLAGS  := -std=c99 -O2 -g $(WARN)
SAN     := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
B       := build
HDR     := cocoindex.h
TEST_SRC := $(wildcard tests/test_*.c)
TESTS    := $(patsubst tests/%.c,$(B)/%,$(TEST_SRC)) $(B)/test_engine_nothreads
TESTS_ASAN := $(patsubst tests/%.c,$(B)/asan/%,$(TEST_SRC))
PREFIX  ?= /usr/local

EXAMPLES := $(B)/examples/files_transform $(B)/examples/text_embedding $(B)/examples/line_index

.PHONY: demo examples all test test-embed-server readme-check test-asan test-tsan test-slow compile-check bench bench-fp bench-store bench-engine bench-sqlite bench-noop bench-live bench-demo clean
all: $(TESTS)

# tests of connectors with a third-party dependency link it
$(B)/test_sqlite $(B)/asan/test_sqlite: LDLIBS += -lsqlite3
$(B)/test_http_embed $(B)/asan/test_http_embed: LDLIBS += -lcurl
$(B)/test_demo $(B)/asan/test_demo: LDLIBS += -lsqlite3
$(B)/test_http_embed $(B)/asan/test_http_embed: tests/http_server.h

$(B)/%: tests/%.c $(HDR) tests/coco_test.h $(wildcard connectors/*.h)
	@mkdir -p $(B)
	$(CC) $(TFLAGS) -o $@ $< -lpthread $(LDLIBS)

# The engine again with COCO_NO_THREADS: the same scenarios, everything inline.
$(B)/test_engine_nothreads: tests/test_engine.c $(HDR) tests/coco_test.h
	@mkdir -p $(B)
	$(CC) $(TFLAGS) -DCOCO_NO_THREADS -o $@ $<

# clang's UBSan is the stricter one (e.g. pointer arithmetic on NULL)
ASAN_CC ?= $(shell command -v clang >/dev/null 2>&1 && echo clang || echo $(CC))
$(B)/asan/%: tests/%.c $(HDR) tests/coco_test.h $(wildcard connectors/*.h)
	@mkdir -p $(B)/asan
	$(ASAN_CC) -std=c99 $(WARN) $(SAN) -o $@ $< -lpthread $(LDLIBS)

$(B)/examples/%: examples/%.c $(HDR) $(wildcard connectors/*.h)
	@mkdir -p $(B)/examples
	$(CC) $(TFLAGS) -o $@ $< -lpthread $(LDLIBS)
$(B)/examples/text_embedding: LDLIBS += -lsqlite3 -lcurl

# The main demo: the project's own docs (README.md and docs/) indexed into SQLite twice (the
# second run has nothing to do), then a question.  COCO_EMBED_URL/COCO_EMBED_MODEL: a service.
DEMO_Q ?= how does a run skip work that did not change
demo: $(B)/examples/text_embedding
	@rm -rf $(B)/demo && mkdir -p $(B)/demo/docs && cp README.md $(B)/demo/docs/ && cp -R docs $(B)/demo/docs/
	cd $(B)/demo && ../examples/text_embedding --db demo.db update --src docs --out docs.sqlite
	cd $(B)/demo && ../examples/text_embedding --db demo.db update --src docs --out docs.sqlite
	cd $(B)/demo && ../examples/text_embedding query "$(DEMO_Q)" --out docs.sqlite

examples: $(EXAMPLES)

# Every test binary; the last line printed is "N passed, N failed".
test: compile-check $(TESTS) $(EXAMPLES)
	@sh tools/run_tests.sh $(TESTS)

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: $(TESTS_ASAN) $(EXAMPLES)
	@ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  sh tools/run_tests.sh $(TESTS_ASAN)

# The engine's worker pool under ThreadSanitizer (clang).
test-tsan:
	@mkdir -p $(B)/tsan
	clang -std=c99 -O1 -g -fsanitize=thread -o $(B)/tsan/test_engine tests/test_engine.c -lpthread
	@TSAN_OPTIONS=halt_on_error=1 sh tools/run_tests.sh $(B)/tsan/test_engine

# Every command of README.md, run in a scratch copy; C excerpts checked against their files.
readme-check:
	@sh tools/readme_check.sh

# The demo against the real embedding server of ../shared/embed-server (node + npm registry).
test-embed-server: $(B)/examples/text_embedding
	@sh tests/embed_server_test.sh

# Long forms: 200+ SIGKILLs during commits, every truncation offset.
test-slow: $(TESTS)
	@COCO_SLOW=1 sh tools/run_tests.sh $(B)/test_store

# Compile-only checks: C99, C11, C++11, header twice, COCOINDEX_STATIC, no implementation.
compile-check:
	@mkdir -p $(B)/compile
	$(CC)  -std=c99 $(WARN) -pedantic-errors -c tests/compile/c99.c -o $(B)/compile/c99.o
	$(CC)  -std=c11 $(WARN) -pedantic-errors -c tests/compile/c11.c -o $(B)/compile/c11.o
	$(CXX) -std=c++11 $(WARN) -fno-exceptions -fno-rtti -c tests/compile/cxx11.cpp -o $(B)/compile/cxx11.o
	$(CXX) -std=c++11 $(WARN) -x c++ -c tests/compile/c99.c -o $(B)/compile/c99_as_cxx.o
	$(CC)  -std=c99 $(WARN) -c tests/compile/twice.c -o $(B)/compile/twice.o
	$(CC)  -std=c99 $(WARN) tests/compile/static_a.c tests/compile/static_b.c -o $(B)/compile/static -lpthread
	$(CC)  -std=c99 $(WARN) -c tests/compile/header_only.c -o $(B)/compile/header_only.o
	$(CC)  -std=c99 $(WARN) -DCOCO_NO_THREADS -DCOCO_NO_FILESYSTEM -c tests/compile/c99.c -o $(B)/compile/minimal.o
	@if command -v clang >/dev/null 2>&1; then \
	  echo "clang -std=c99 / c11 / c++11"; \
	  clang -std=c99 $(WARN) -pedantic-errors -c tests/compile/c99.c -o $(B)/compile/clang_c99.o && \
	  clang -std=c11 $(WARN) -pedantic-errors -c tests/compile/c11.c -o $(B)/compile/clang_c11.o && \
	  clang++ -std=c++11 $(WARN) -fno-exceptions -fno-rtti -c tests/compile/cxx11.cpp -o $(B)/compile/clang_cxx11.o; \
	fi
	$(CC)  -std=c99 $(WARN) -c tests/compile/connectors.c -o $(B)/compile/connectors.o
	$(CXX) -std=c++11 $(WARN) -x c++ -c tests/compile/connectors.c -o $(B)/compile/connectors_cxx.o
	$(CC)  -std=c99 $(WARN) -c tests/compile/connectors_header_only.c -o $(B)/compile/connectors_header_only.o
	@echo "compile-check: ok"

# ---- fuzzing (fuzz/): libFuzzer targets over committed seed corpora ------------------------
# make fuzz         every target for FUZZ_SECONDS (600) each, one after the other; new inputs go
#                   to $(B)/fuzz/corpus, findings to $(B)/fuzz/findings; non-zero on a finding
# make fuzz-short   the CI slice: 20 seconds a target
# make fuzz-merge   folds the inputs of $(B)/fuzz/corpus that add coverage into fuzz/corpus
# make fuzz-seeds   rewrites the generated seeds (fuzz/make_seeds.c) into fuzz/corpus
# make fuzz-replay  $(B)/fuzz/replay_<target>: a target without libFuzzer (gcc, gdb, valgrind)
# The corpora also run in `make test` (tests/test_fuzz_replay.c).  FUZZ_CFLAGS=-DFUZZ_ALL_CHECKS
# turns on the checks of known, reported bugs (fuzz/crashers/).
FUZZ_TARGETS := fuzz_value fuzz_store fuzz_glob fuzz_key fuzz_split fuzz_json
FUZZ_SECONDS ?= 600
FUZZ_CC      ?= clang
FUZZ_CFLAGS  ?=
FUZZ_FLAGS   := -std=c99 $(WARN) -g -O1 -fno-omit-frame-pointer \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(FUZZ_CFLAGS)
FUZZ_DEPS    := fuzz/fuzz_common.h $(HDR) $(wildcard connectors/*.h)
.PHONY: fuzz fuzz-short fuzz-merge fuzz-seeds fuzz-replay fuzz-build
$(B)/fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_DEPS)
	@mkdir -p $(B)/fuzz
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< -lpthread
$(B)/fuzz/replay_%: fuzz/%.c fuzz/replay.c fuzz/fuzz_replay.h $(FUZZ_DEPS)
	@mkdir -p $(B)/fuzz
	$(CC) $(TFLAGS) $(FUZZ_CFLAGS) -DFUZZ_TARGET_FILE='"$*.c"' -o $@ fuzz/replay.c -lpthread
$(B)/fuzz/make_seeds: fuzz/make_seeds.c $(HDR)
	@mkdir -p $(B)/fuzz
	$(CC) $(TFLAGS) -o $@ $< -lpthread
$(B)/test_fuzz_replay $(B)/asan/test_fuzz_replay: $(wildcard fuzz/*.c fuzz/*.h)
fuzz-build: $(patsubst %,$(B)/fuzz/%,$(FUZZ_TARGETS))
fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh $(B) $(FUZZ_TARGETS)
fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20
fuzz-merge: fuzz-build
	@for t in $(FUZZ_TARGETS); do mkdir -p $(B)/fuzz/corpus/$$t; \
	  $(B)/fuzz/$$t -merge=1 fuzz/corpus/$$t $(B)/fuzz/corpus/$$t 2>&1 | grep -a 'MERGE-OUTER: [0-9]* new'; done
fuzz-seeds: $(B)/fuzz/make_seeds
	$(B)/fuzz/make_seeds fuzz/corpus
fuzz-replay: $(patsubst %,$(B)/fuzz/replay_%,$(FUZZ_TARGETS))

$(B)/bench_fp: bench/bench_fp.c $(HDR)
	@mkdir -p $(B)
	$(CC) -std=c99 -O2 -o $@ $< -lpthread

$(B)/bench_store: bench/bench_store.c $(HDR)
	@mkdir -p $(B)
	$(CC) -std=c99 -O2 -o $@ $< -lpthread

$(B)/bench_engine: bench/bench_engine.c $(HDR)
	@mkdir -p $(B)
	$(CC) -std=c99 -O2 -o $@ $< -lpthread

$(B)/bench_sqlite: bench/bench_sqlite.c $(HDR) connectors/cocoindex_sqlite.h
	@mkdir -p $(B)
	$(CC) -std=c99 -O2 -o $@ $< -lpthread -lsqlite3

bench-sqlite:
	sh bench/bench_sqlite.sh

$(B)/bench_live: bench/bench_live.c
	@mkdir -p $(B)
	$(CC) -std=c99 -O2 -o $@ $<

# no-op update vs stat floor / git status / ninja (N=10000; N=100000 make bench-noop: ~4 min)
bench-noop: $(EXAMPLES)
	sh bench/bench_noop.sh

# the demo over 10k generated markdown files: cold, warm, one changed, vs a one-shot pipeline
bench-demo: $(B)/examples/text_embedding
	sh bench/bench_demo.sh

# live mode: saved source file -> output updated (1000 files, 50 saves each way)
bench-live: $(B)/bench_live $(EXAMPLES)
	$(B)/bench_live $(B)/examples/files_transform 1000 50

bench: bench-fp bench-store bench-engine bench-sqlite bench-noop bench-live bench-demo
bench-engine: $(B)/bench_engine
	$(B)/bench_engine 100000
bench-fp: $(B)/bench_fp
	sh bench/bench_fp.sh
bench-store: $(B)/bench_store
	sh bench/bench_store.sh

# Installs the headers and a pkg-config file (cflags: the include dir; libs: -lpthread).
install:
	install -d $(DESTDIR)$(PREFIX)/include/connectors $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 cocoindex.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 connectors/*.h $(DESTDIR)$(PREFIX)/include/connectors/
	printf 'prefix=%s\nincludedir=$${prefix}/include\n\nName: cocoindex\nDescription: incremental data pipelines in one C header\nVersion: %s\nCflags: -I$${includedir}\nLibs: -lpthread\n' \
	  '$(PREFIX)' "$$(sed -n 's/^#define COCO_VERSION_STRING "\(.*\)"/\1/p' cocoindex.h)" \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/cocoindex.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/cocoindex.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/cocoindex.pc
	rm -rf $(DESTDIR)$(PREFIX)/include/connectors/cocoindex_*.h
	-rmdir $(DESTDIR)$(PREFIX)/include/connectors 2>/dev/null

clean:
	rm -rf $(B)

# The state-db inspector (tools/cocoindex.c): part of `all`, built before the tests run (the
# inspector test drives it), installed as $(PREFIX)/bin/cocoindex.  Its `drop` handles SQLite
# table targets when libsqlite3 links.
TOOL_SQLITE := $(shell printf 'int main(void){return 0;}\n' | $(CC) -x c - -o /dev/null -lsqlite3 >/dev/null 2>&1 && echo 1)
$(B)/cocoindex: tools/cocoindex.c $(HDR) $(wildcard connectors/*.h)
	@mkdir -p $(B)
	$(CC) $(TFLAGS) $(if $(TOOL_SQLITE),-DCOCO_TOOL_SQLITE) -o $@ $< -lpthread $(if $(TOOL_SQLITE),-lsqlite3)
all: $(B)/cocoindex
test test-asan: $(B)/cocoindex
.PHONY: install-tool uninstall-tool
install: install-tool
uninstall: uninstall-tool
install-tool: $(B)/cocoindex
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(B)/cocoindex $(DESTDIR)$(PREFIX)/bin/cocoindex
uninstall-tool:
	rm -f $(DESTDIR)$(PREFIX)/bin/cocoindex

# Crash and fault tests (tests/test_crash.c): the reference pipeline they kill and the
# LD_PRELOAD shim that fails or kills at the Nth write/fsync/rename.  `make reliability` runs
# the long forms (1000+ kills across 200+ updates; every N of every fault class).
$(B)/crash_pipeline: tests/crash_pipeline.c $(HDR) $(wildcard connectors/*.h)
	@mkdir -p $(B)
	$(CC) $(TFLAGS) -o $@ $< -lpthread -lsqlite3
$(B)/fault_shim.so: tests/fault_shim.c
	@mkdir -p $(B)
	$(CC) $(TFLAGS) -shared -fPIC -o $@ $< -ldl
$(B)/test_crash $(B)/asan/test_crash: LDLIBS += -lsqlite3
$(B)/test_crash $(B)/asan/test_crash: $(B)/crash_pipeline $(B)/fault_shim.so
.PHONY: reliability
reliability: $(B)/test_crash
	COCO_RELIABILITY=1 nice -n 10 $(B)/test_crash

# Soak (tests/soak.c): the quickstart app in live mode under continuous churn; its memory,
# descriptors and outputs checked every few seconds.  `make test` runs a 15 s slice
# (tests/test_soak.c); `make soak` the long form (SOAK_SECONDS=1800: 30 minutes).
SOAK_SECONDS ?= 1800
$(B)/soak: tests/soak.c
	@mkdir -p $(B)
	$(CC) $(TFLAGS) -o $@ $<
$(B)/test_soak $(B)/asan/test_soak: $(B)/soak $(B)/examples/files_transform
.PHONY: soak
soak: $(B)/soak $(B)/examples/files_transform
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_CSV=$(B)/soak.csv $(B)/soak
