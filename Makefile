# fcn.h - build, test, demo.  `make` builds build/fcn (cli/fcn.c) and the examples; `make test` runs
# every test and ends with "N passed, M failed[, K skipped]".
CC      ?= cc
CLANG   ?= clang
CFLAGS  ?= -O3 -march=native
# The arithmetic contract: no contraction of a*b+c into fma behind our back, no fast-math.
STRICT  = -std=c99 -pedantic -Wall -Wextra -ffp-contract=off -fno-fast-math
STB_INC ?= /usr/include/stb
CPPFLAGS += -I. -I$(STB_INC)
LDLIBS  = -lm -pthread
BUILD   ?= build
PYTHON  ?= /usr/bin/python3

# Debian packages the build, tests and demo need (make deps installs what is missing).
DEB_PKGS = gcc clang make libstb-dev python3-numpy

PROGRAMS = $(BUILD)/fcn $(BUILD)/quickstart $(BUILD)/slide
# Test programs built from tests/KIND/NAME.c with the same strict flags (run by tests/run.sh).
TESTS = $(BUILD)/test_core $(BUILD)/test_isbi $(BUILD)/test_import
vpath test_%.c tests/core tests/isbi tests/import tests/opencl

.PHONY: all test test-run deps clean
all: $(PROGRAMS)

# build/fcn gets the OpenCL path (--path opencl, fcn devices) where the OpenCL headers
# are installed (Debian ocl-icd-opencl-dev); without them it builds and runs without it.
ifneq ($(wildcard /usr/include/CL/cl.h),)
$(BUILD)/fcn: CPPFLAGS += -DFCN_CLI_OPENCL
$(BUILD)/fcn: LDLIBS += -lOpenCL
$(BUILD)/fcn: fcn_opencl.h
endif

$(BUILD)/%: examples/%.c fcn.h fcn_import.h | $(BUILD)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS)

# the command-line tool
$(BUILD)/%: cli/%.c fcn.h fcn_import.h | $(BUILD)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS)

$(TESTS): $(BUILD)/%: %.c fcn.h fcn_import.h tests/lib/harness.h tests/lib/count_alloc.h | $(BUILD)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS)

$(BUILD):
	mkdir -p $(BUILD)

# Installs the missing Debian packages when run as root with apt-get, else prints the line.
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing:$$missing"; \
	  (apt-get update && apt-get install -y $$missing) >/dev/null || { echo "apt-get install failed:$$missing"; exit 1; }; \
	else echo "missing packages; run: sudo apt-get install -y$$missing"; exit 1; fi

# make test: first the Debian packages the tests need (installed when root, else the
# apt-get line is printed and the tests that need them fail or skip), then every test.
test:
	@$(MAKE) --no-print-directory deps || echo "make test: going on without them"
	@$(MAKE) --no-print-directory test-run

# + : tests/fuzz/fuzz_smoke.sh runs make fuzz
test-run: all $(TESTS)
	+@CC="$(CC)" CLANG="$(CLANG)" PYTHON="$(PYTHON)" BUILD="$(BUILD)" STB_INC="$(STB_INC)" \
	  FUZZ_SECONDS="$(FUZZ_SECONDS)" MAKE="$(MAKE)" sh tests/run.sh

clean:
	rm -rf $(BUILD)

# bench/bench.c: fcn's dense path against the FMA peak, the sliding window and PyTorch
# (bench/torch_dense.py); prints a report and writes it to $(BUILD)/bench.txt.
# make bench BENCH_ARGS="--quick | --threads N | --no-torch"
BENCH_ARGS ?=
.PHONY: bench
bench: $(BUILD)/bench
	PYTHON="$(PYTHON)" $(BUILD)/bench --out $(BUILD)/bench.txt $(BENCH_ARGS)

$(BUILD)/bench: bench/bench.c fcn.h tests/lib/count_alloc.h | $(BUILD)
	$(CC) -std=c99 -O3 -march=native -ffp-contract=off -fno-fast-math -Wall -Wextra -I. -I$(STB_INC) bench/bench.c -o $@ -lm -pthread

# OpenCL path (fcn_opencl.h, kernels in opencl/*.cl). `make opencl-embed` pastes the
# kernels and fcn.h's fcn-arith section into fcn_opencl.h (tests/opencl/test_opencl_embed.sh
# checks that it is current); build/test_opencl is part of `make test`;
# `make bench-opencl` times the OpenCL path beside the C dense path.
DEB_PKGS += ocl-icd-opencl-dev pocl-opencl-icd
CL_LDLIBS = -lOpenCL
BENCH_OPENCL_ARGS ?=
.PHONY: opencl-embed bench-opencl
opencl-embed:
	sh tools/embed_opencl.sh fcn_opencl.h > fcn_opencl.h.tmp && mv fcn_opencl.h.tmp fcn_opencl.h

test-run: $(BUILD)/test_opencl

$(BUILD)/test_opencl: tests/opencl/test_opencl.c fcn.h fcn_opencl.h tests/lib/net95.h | $(BUILD)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS) $(CL_LDLIBS)

bench-opencl: $(BUILD)/bench_opencl
	$(BUILD)/bench_opencl $(BENCH_OPENCL_ARGS)

$(BUILD)/bench_opencl: bench/bench_opencl.c fcn.h fcn_opencl.h tests/lib/net95.h | $(BUILD)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) $< -o $@ $(LDLIBS) $(CL_LDLIBS)

# make demo [MODEL=path.fcn] [FCN_DATA=dir]: tools/demo.sh maps an ISBI 2012 test slice
# with the trained membrane network (dense path) to $(BUILD)/demo-map.png, times the
# sliding window against it and scores a held-out labelled slice. Installs the missing
# Debian packages it needs (make deps) when the compiler or stb is not there.
MODEL ?= models/isbi-n4.fcn
DEMO_PKGS = gcc make libstb-dev
.PHONY: demo
demo:
	@if ! command -v $(CC) >/dev/null 2>&1 || [ ! -f $(STB_INC)/stb_image.h ]; then \
	  $(MAKE) --no-print-directory deps DEB_PKGS="$(DEMO_PKGS)" || exit 1; fi
	@$(MAKE) --no-print-directory -q $(BUILD)/fcn || $(MAKE) --no-print-directory $(BUILD)/fcn
	@FCN="$(BUILD)/fcn" BUILD="$(BUILD)" MODEL="$(MODEL)" FCN_DATA="$(FCN_DATA)" sh tools/demo.sh

# Importing Caffe and ONNX models (fcn.h's import section). `make import-cases` rewrites
# the small test models in tests/data/import (python3-onnx, python3-protobuf);
# `make test-interop` checks fcn against OpenCV's dnn module (python3-opencv; also a
# line of `make test`); `make fuzz` builds the libFuzzer targets build/fuzz_KIND (clang,
# libfuzzer-14-dev) and their seed corpora build/fuzz-corpus/KIND, written from the test
# and shipped models; `make fuzz-smoke` runs each for FUZZ_SECONDS (also a line of
# `make test`).
DEB_PKGS += python3-onnx python3-protobuf python3-opencv libfuzzer-14-dev
FUZZ_SECONDS ?= 3
FUZZ_KINDS = onnx caffe wire
FUZZ_TARGET_onnx = 1
FUZZ_TARGET_caffe = 2
FUZZ_TARGET_wire = 3
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -ffp-contract=off -I.
FUZZERS = $(FUZZ_KINDS:%=$(BUILD)/fuzz_%)
.PHONY: import-cases test-interop fuzz fuzz-smoke
import-cases:
	$(PYTHON) tests/import/make_import_cases.py
test-interop: $(BUILD)/fcn
	@BUILD="$(BUILD)" $(PYTHON) tests/import/test_interop.py "$(BUILD)"
fuzz: $(FUZZERS) $(BUILD)/fuzz-corpus.stamp
$(FUZZERS): $(BUILD)/fuzz_%: tests/fuzz/fuzz_import.c fcn.h fcn_import.h | $(BUILD)
	$(CLANG) $(FUZZ_FLAGS) -DFUZZ_TARGET=$(FUZZ_TARGET_$*) $< -o $@ -lm -pthread
$(BUILD)/fuzz-corpus.stamp: tests/fuzz/make_fuzz_corpus.py $(wildcard tests/data/import/* models/*) | $(BUILD)
	$(PYTHON) $< $(BUILD)/fuzz-corpus
	touch $@
fuzz-smoke:
	+@BUILD="$(BUILD)" CLANG="$(CLANG)" PYTHON="$(PYTHON)" FUZZ_SECONDS="$(FUZZ_SECONDS)" MAKE="$(MAKE)" sh tests/fuzz/fuzz_smoke.sh

# models/isbi-n4.onnx, .prototxt and .caffemodel: the membrane network in the Caffe and
# ONNX formats, written from models/isbi-n4.fcn (rerun after retraining: tests/
# import/test_import_cli.sh requires the three formats to give byte-identical maps).
.PHONY: model-formats
model-formats:
	$(PYTHON) tools/fcn_to_onnx.py $(MODEL) $(MODEL:.fcn=.onnx)
	$(PYTHON) tools/fcn_to_caffe.py $(MODEL) $(MODEL:.fcn=.prototxt) $(MODEL:.fcn=.caffemodel)
