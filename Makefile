# fcn.h - build, test, bench, fuzz, tools, install.
#   make            build/fcn (the command-line tool, cli/fcn.c) and the examples
#   make test       installs the Debian packages the tests need (when root), runs every
#                   test; ends with "N passed, M failed[, K skipped]"
#   make demo       maps an ISBI 2012 slice with the shipped membrane model
#   make install    PREFIX=/usr/local DESTDIR=: headers, fcn, models, pkg-config files

# ==== variables ==========================================================================
CC      ?= cc
CXX     ?= g++
CLANG   ?= clang
CFLAGS  ?= -O3 -march=native
# The arithmetic contract: no contraction of a*b+c into fma behind our back, no fast-math.
STRICT  = -std=c99 -pedantic -Wall -Wextra -Wsign-conversion -Wstrict-prototypes -Wshadow \
          -ffp-contract=off -fno-fast-math
STB_INC ?= /usr/include/stb
# stb is not ours: -isystem, so that its own warnings do not count against the strict flags
CPPFLAGS += -I. -isystem $(STB_INC)
LDLIBS  = -lm -pthread
CL_LDLIBS = -lOpenCL
BUILD   ?= build
PYTHON  ?= /usr/bin/python3
HEADERS = fcn.h fcn_import.h fcn_opencl.h
# build/fcn gets the OpenCL path (--path opencl, fcn devices) where the OpenCL headers
# are installed (Debian ocl-icd-opencl-dev); without them it builds and runs without it.
HAVE_OPENCL := $(if $(wildcard /usr/include/CL/cl.h),1,0)

# Debian packages the build, tests and demo need; `make deps` installs the missing ones
# (APT_FLAGS: extra apt-get install options, e.g. --no-install-recommends in CI).
DEB_PKGS = gcc g++ clang make libc6-dev pkg-config libstb-dev python3 python3-numpy \
           ocl-icd-opencl-dev pocl-opencl-icd python3-onnx python3-protobuf python3-opencv \
           libfuzzer-14-dev python3-torch python3-pil tcc $(CROSS_PKGS) $(VOLUME_PKGS)
# tests/port: the same bits on aarch64 (NEON), s390x (big-endian) and 32-bit x86, under qemu
CROSS_PKGS = qemu-user gcc-aarch64-linux-gnu libc6-dev-arm64-cross gcc-s390x-linux-gnu \
             libc6-dev-s390x-cross gcc-i686-linux-gnu libc6-dev-i386-cross
# EM volumes: build/fcn reads TIFF (libtiff) and writes zlib chunks; the tests write stacks
# with tifffile (and libtiff's tiffcp), read the outputs with zarr, shard with GNU parallel
# and a single-node Slurm (slurm-wlm, munge; started by the test when root)
VOLUME_PKGS = libtiff-dev zlib1g-dev libtiff-tools python3-tifffile python3-zarr parallel slurm-wlm munge
DEMO_PKGS = gcc make libc6-dev libstb-dev libtiff-dev zlib1g-dev
# make bench also runs PyTorch side by side (bench/torch_dense.py)
BENCH_PKGS = gcc make libc6-dev libstb-dev python3-numpy python3-torch
APT_FLAGS ?=

# make demo [MODEL=path.fcn] [FCN_DATA=dir]
MODEL    ?= models/isbi-n4.fcn
FCN_DATA ?=
# make bench BENCH_ARGS="--quick | --threads N | --no-torch | --portable | --big N"; make bench-opencl BENCH_OPENCL_ARGS=...
BENCH_ARGS ?=
BENCH_OPENCL_ARGS ?=
DEVICE_CHECK_ARGS ?=
# the libFuzzer targets: one source, FUZZ_TARGET picks the input kind; each runs for
# FUZZ_SECONDS in make test and make fuzz-smoke. -fno-sanitize-recover=all: undefined
# behaviour stops a run like a crash (tests/fuzz/ub_canary.c checks it).
FUZZ_SECONDS ?= 3
FUZZ_KINDS = onnx caffe wire fcn
FUZZ_TARGET_onnx = 1
FUZZ_TARGET_caffe = 2
FUZZ_TARGET_wire = 3
FUZZ_TARGET_fcn = 4
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $(STRICT) -I.

# make install / uninstall
PREFIX  ?= /usr/local
DESTDIR ?=
INCLUDEDIR   = $(PREFIX)/include
BINDIR       = $(PREFIX)/bin
MODELDIR     = $(PREFIX)/share/fcn
PKGCONFIGDIR = $(PREFIX)/lib/pkgconfig
VERSION := $(shell sed -n 's/^\#define FCN_VERSION_STRING "\(.*\)"/\1/p' fcn.h)
MODELS  = $(wildcard models/*)

# Every C program is one file, found by name in these folders; each is built by the one
# rule below with the strict flags, plus FLAGS_name and LIBS_name.
vpath %.c cli examples bench tests/core tests/isbi tests/import tests/opencl tests/torch tests/robust tests/port
PROGRAMS = $(BUILD)/fcn $(BUILD)/quickstart $(BUILD)/slide
TESTS    = $(BUILD)/test_core $(BUILD)/test_stream $(BUILD)/test_isbi $(BUILD)/test_import $(BUILD)/test_onnx_node \
           $(BUILD)/test_opencl $(BUILD)/torch_ref $(BUILD)/alloc_sweep $(BUILD)/port
BENCHES  = $(BUILD)/bench_opencl $(BUILD)/bench_stream
FUZZERS  = $(FUZZ_KINDS:%=$(BUILD)/fuzz_%)
TEST_LIB = $(wildcard tests/lib/*.h)
CLI_LIB  = $(wildcard cli/*.h)
FLAGS_fcn = $(if $(filter 1,$(HAVE_OPENCL)),-DFCN_CLI_OPENCL) -DFCN_CLI_VOLUME
# the tool reads TIFF (libtiff) and writes zlib-compressed Zarr chunks; fcn.h needs neither
LIBS_fcn  = $(if $(filter 1,$(HAVE_OPENCL)),$(CL_LDLIBS)) -ltiff -lz
CLI_SRC   = $(wildcard cli/*.c)
LIBS_test_opencl  = $(CL_LDLIBS)
LIBS_bench_opencl = $(CL_LDLIBS)
# build/bench is the plain build most users get (no -march: the kernels are chosen at run
# time); build/bench-native, the same program built with CFLAGS, is run by it to compare
BENCH_PLAIN = -O2

# What the programs are built with. $(BUILD)/config is rewritten only when this changes,
# and every program depends on it: a change of compiler or flags, or OpenCL headers
# installed since (make demo, then make test), rebuilds them.
CONFIG = cc $(CC) | cxx $(CXX) | clang $(CLANG) | $(STRICT) $(CFLAGS) $(CPPFLAGS) $(LDLIBS) | \
         fuzz $(FUZZ_FLAGS) | opencl $(HAVE_OPENCL)

# The environment of the test scripts (tests/run.sh and what it runs).
TEST_ENV = CC="$(CC)" CXX="$(CXX)" CLANG="$(CLANG)" PYTHON="$(PYTHON)" BUILD="$(BUILD)" \
           STB_INC="$(STB_INC)" STRICT="$(STRICT)" FUZZ_SECONDS="$(FUZZ_SECONDS)" MAKE="$(MAKE)"

.PHONY: all clean deps test test-run test-interop bench bench-opencl bench-volume device-check device-pack \
        fuzz fuzz-smoke check-robust robust-builds demo opencl-embed import-cases model-formats install \
        uninstall FORCE

# ==== build ==============================================================================
all: $(PROGRAMS)

$(filter-out $(BUILD)/fcn,$(PROGRAMS)) $(TESTS) $(BENCHES): $(BUILD)/%: %.c $(HEADERS) $(TEST_LIB) $(CLI_LIB) $(BUILD)/config | $(BUILD)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) $(FLAGS_$*) $< -o $@ $(LDLIBS) $(LIBS_$*)

$(BUILD)/bench: bench/bench.c $(HEADERS) $(TEST_LIB) $(BUILD)/config | $(BUILD)
	$(CC) $(STRICT) $(BENCH_PLAIN) $(CPPFLAGS) -DBENCH_BUILD='"the plain $(BENCH_PLAIN) build"' $< -o $@ $(LDLIBS)

$(BUILD)/bench-native: bench/bench.c $(HEADERS) $(TEST_LIB) $(BUILD)/config | $(BUILD)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) -DBENCH_BUILD='"the $(CFLAGS) build"' $< -o $@ $(LDLIBS)

# build/fcn is every file of cli/ (cli/fcn.c holds the implementations of the headers;
# FCN_CLI_VOLUME: with the others, EM volumes; cli/fcn.c alone builds a tool without them)
$(BUILD)/fcn: $(CLI_SRC) $(CLI_LIB) $(HEADERS) $(BUILD)/config | $(BUILD)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) $(FLAGS_fcn) $(CLI_SRC) -o $@ $(LDLIBS) $(LIBS_fcn)

$(BUILD)/config: FORCE | $(BUILD)
	@echo '$(CONFIG)' | cmp -s - $@ || echo '$(CONFIG)' >$@

$(BUILD):
	mkdir -p $(BUILD)

clean:
	rm -rf $(BUILD)

# ==== test ===============================================================================
# make test: first the Debian packages the tests need (installed when root, else the
# apt-get line is printed and the tests that need them fail or skip), then every test
# (tests/run.sh is the list).
test:
	@$(MAKE) --no-print-directory deps || echo "make test: going on without them"
	@$(MAKE) --no-print-directory test-run

# + : tests/fuzz/fuzz_smoke.sh and tests/package run make themselves (make fuzz, make install)
test-run: $(PROGRAMS) $(TESTS)
	+@$(TEST_ENV) sh tests/run.sh

# Installs the missing Debian packages when run as root with apt-get, else prints the line.
deps:
	@missing=""; for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing:$$missing"; \
	  (apt-get update && apt-get install -y $(APT_FLAGS) $$missing) >/dev/null || { echo "apt-get install failed:$$missing"; exit 1; }; \
	else echo "missing packages; run: sudo apt-get install -y$$missing"; exit 1; fi

# fcn against OpenCV's dnn module (python3-opencv); also a line of make test
test-interop: $(BUILD)/fcn
	@$(TEST_ENV) $(PYTHON) tests/import/test_interop.py "$(BUILD)"

# ==== bench ==============================================================================
# bench/bench.c: fcn's dense path, each SIMD ISA's kernels against that ISA's true FMA
# peak, the portable kernels, the sliding window, cold `fcn map` runs, the plain -O2
# build against the CFLAGS (-march=native) one, and PyTorch (bench/torch_dense.py);
# prints a report and writes it to $(BUILD)/bench.txt. Installs PyTorch (Debian
# python3-torch) first when root, as make test installs its packages.
# bench/bench_opencl.c: the OpenCL path beside the C dense path.
bench: $(BUILD)/bench $(BUILD)/bench-native $(BUILD)/fcn
	@$(MAKE) --no-print-directory deps DEB_PKGS="$(BENCH_PKGS)" || echo "make bench: going on without them"
	PYTHON="$(PYTHON)" $(BUILD)/bench --out $(BUILD)/bench.txt --fcn $(BUILD)/fcn --native $(BUILD)/bench-native \
	  $(BENCH_ARGS)

bench-opencl: $(BUILD)/bench_opencl
	$(BUILD)/bench_opencl $(BENCH_OPENCL_ARGS)

# bench/bench_volume.sh: fcn map on EM volumes (peak RSS, Mpx/s, shards) and
# bench/bench_stream.c (fcn_map_stream against fcn_map); writes $(BUILD)/bench-volume.txt.
bench-volume: $(BUILD)/fcn $(BUILD)/bench_stream
	BUILD="$(BUILD)" PYTHON="$(PYTHON)" sh bench/bench_volume.sh

# make device-check [DEVICE_CHECK_ARGS="--cpu --quick --loader builtin"]: on a machine
# with a GPU and no package access, builds test_opencl and bench_opencl with only a C
# compiler (the OpenCL headers and an ICD loader are in tools/device), runs them on
# every GPU and prints one summary (tools/device_check.sh says more). It needs
# stb_image.h: make device-pack copies it (and two ISBI slices) into
# $(BUILD)/device-pack, which device-check looks in; bring that folder along.
device-check:
	@CC="$(CC)" BUILD="$(BUILD)" STB_INC="$(STB_INC)" sh tools/device_check.sh $(DEVICE_CHECK_ARGS)

device-pack:
	@data="$${FCN_DATA:-../shared/data/isbi2012}"; p="$(BUILD)/device-pack"; \
	mkdir -p "$$p/stb" "$$p/isbi2012/train-images" && cp "$(STB_INC)/stb_image.h" "$$p/stb/" && \
	cp "$$data/train-images/0.png" "$$data/train-images/3.png" "$$p/isbi2012/train-images/" && \
	echo "$$p: stb_image.h and ISBI train-images 0 and 3 ($$(du -sh "$$p" | cut -f1)); bring it along for make device-check"

# ==== fuzz ===============================================================================
# make fuzz: the libFuzzer targets build/fuzz_{onnx,caffe,wire,fcn} (clang,
# libfuzzer-14-dev), build/ub_canary, and the seed corpora build/fuzz-corpus/KIND,
# written from the test and shipped models.
# make fuzz-smoke: each for FUZZ_SECONDS (also a line of make test).
fuzz: $(FUZZERS) $(BUILD)/ub_canary $(BUILD)/fuzz-corpus.stamp

$(FUZZERS): $(BUILD)/fuzz_%: tests/fuzz/fuzz_import.c fcn.h fcn_import.h $(BUILD)/config | $(BUILD)
	$(CLANG) $(FUZZ_FLAGS) -DFUZZ_TARGET=$(FUZZ_TARGET_$*) $< -o $@ $(LDLIBS)

$(BUILD)/ub_canary: tests/fuzz/ub_canary.c $(BUILD)/config | $(BUILD)
	$(CLANG) $(FUZZ_FLAGS) $< -o $@

$(BUILD)/fuzz-corpus.stamp: tests/fuzz/make_fuzz_corpus.py $(wildcard tests/data/import/* models/*) | $(BUILD)
	$(PYTHON) $< $(BUILD)/fuzz-corpus
	touch $@

fuzz-smoke:
	+@$(TEST_ENV) sh tests/fuzz/fuzz_smoke.sh

# ==== robustness =========================================================================
# make check-robust: what tests/robust/ holds, the same entries tests/run.sh runs in make
# test: the allocation-failure sweep, the malformed-image corpus, outputs to a full disk,
# and the sanitizer builds (clang; make robust-builds builds them into $(BUILD)/robust:
# ASan+UBSan and TSan, every report fatal). README (Robustness) has the long runs.
SAN_FLAGS = -std=c99 -O1 -g -fno-omit-frame-pointer -ffp-contract=off -fno-fast-math -march=native \
            -fno-sanitize-recover=all
ROBUST_ASAN = $(addprefix $(BUILD)/robust/asan/,test_import test_isbi alloc_sweep fcn)
ROBUST_TSAN = $(addprefix $(BUILD)/robust/tsan/,test_core threads)

check-robust: $(PROGRAMS) $(BUILD)/alloc_sweep
	+@$(TEST_ENV) sh tests/run.sh alloc-sweep bad-images disk-full sanitizers

robust-builds: $(ROBUST_ASAN) $(ROBUST_TSAN)

$(filter-out %/fcn,$(ROBUST_ASAN)): $(BUILD)/robust/asan/%: %.c $(HEADERS) $(TEST_LIB) $(BUILD)/config
	@mkdir -p $(@D)
	$(CLANG) $(SAN_FLAGS) -fsanitize=address,undefined $(CPPFLAGS) $< -o $@ $(LDLIBS)

$(BUILD)/robust/asan/fcn: $(CLI_SRC) $(CLI_LIB) $(HEADERS) $(BUILD)/config
	@mkdir -p $(@D)
	$(CLANG) $(SAN_FLAGS) -fsanitize=address,undefined $(CPPFLAGS) -DFCN_CLI_VOLUME $(CLI_SRC) -o $@ $(LDLIBS) -ltiff -lz

$(ROBUST_TSAN): $(BUILD)/robust/tsan/%: %.c $(HEADERS) $(TEST_LIB) $(BUILD)/config
	@mkdir -p $(@D)
	$(CLANG) $(SAN_FLAGS) -fsanitize=thread $(CPPFLAGS) $< -o $@ $(LDLIBS)

# ==== tools ==============================================================================
# make demo [MODEL=path.fcn] [FCN_DATA=dir]: tools/demo.sh maps an ISBI 2012 test slice
# with the trained membrane network (dense path) to $(BUILD)/demo-map.png, times the
# sliding window against it and scores a held-out labelled slice. Installs the missing
# Debian packages it needs (make deps) when the compiler or stb is not there.
demo:
	@if ! command -v $(CC) >/dev/null 2>&1 || [ ! -f $(STB_INC)/stb_image.h ] || [ ! -f /usr/include/tiffio.h ] || \
	    [ ! -f /usr/include/zlib.h ]; then \
	  $(MAKE) --no-print-directory deps DEB_PKGS="$(DEMO_PKGS)" || exit 1; fi
	@$(MAKE) --no-print-directory $(BUILD)/fcn
	@FCN="$(BUILD)/fcn" BUILD="$(BUILD)" MODEL="$(MODEL)" FCN_DATA="$(FCN_DATA)" sh tools/demo.sh

# Pastes opencl/*.cl and fcn.h's fcn-arith section into fcn_opencl.h
# (tests/opencl/test_opencl_embed.sh checks that it is current).
opencl-embed:
	sh tools/embed_opencl.sh fcn_opencl.h > fcn_opencl.h.tmp && mv fcn_opencl.h.tmp fcn_opencl.h

# Rewrites the small Caffe and ONNX test models in tests/data/import (python3-onnx,
# python3-protobuf).
import-cases:
	$(PYTHON) tests/import/make_import_cases.py

# models/isbi-n4.onnx, .prototxt and .caffemodel: the membrane network in the Caffe and
# ONNX formats, written from models/isbi-n4.fcn (rerun after retraining: tests/import/
# test_import_cli.sh requires the three formats to give byte-identical maps).
model-formats:
	$(PYTHON) tools/fcn_to_onnx.py $(MODEL) $(MODEL:.fcn=.onnx)
	$(PYTHON) tools/fcn_to_caffe.py $(MODEL) $(MODEL:.fcn=.prototxt) $(MODEL:.fcn=.caffemodel)

# ==== install ============================================================================
# The headers, the fcn tool (built here, for this machine: -march=native unless CFLAGS
# says otherwise), the models and two pkg-config files: fcn.pc carries what the
# arithmetic contract needs (-ffp-contract=off) and the libraries; fcn-opencl.pc adds
# the OpenCL loader.
install: $(BUILD)/fcn
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MODELDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)
	install -m 755 $(BUILD)/fcn $(DESTDIR)$(BINDIR)
	install -m 644 $(MODELS) $(DESTDIR)$(MODELDIR)
	printf '%s\n' 'prefix=$(PREFIX)' 'includedir=$(INCLUDEDIR)' 'modeldir=$(MODELDIR)' '' \
	  'Name: fcn' 'Description: exact dense per-pixel maps from a CNN patch classifier (header-only)' \
	  'Version: $(VERSION)' 'Cflags: -I$${includedir} -ffp-contract=off' 'Libs: -lm -pthread' \
	  >$(DESTDIR)$(PKGCONFIGDIR)/fcn.pc
	printf '%s\n' 'prefix=$(PREFIX)' '' \
	  'Name: fcn-opencl' 'Description: the OpenCL path of fcn.h (fcn_opencl.h)' \
	  'Version: $(VERSION)' 'Requires: fcn' 'Libs: -lOpenCL' \
	  >$(DESTDIR)$(PKGCONFIGDIR)/fcn-opencl.pc

# Removes what install wrote; then the folders it leaves empty (ours, and the standard
# ones only if nothing else is in them).
uninstall:
	rm -f $(HEADERS:%=$(DESTDIR)$(INCLUDEDIR)/%) $(DESTDIR)$(BINDIR)/fcn \
	  $(addprefix $(DESTDIR)$(MODELDIR)/,$(notdir $(MODELS))) \
	  $(DESTDIR)$(PKGCONFIGDIR)/fcn.pc $(DESTDIR)$(PKGCONFIGDIR)/fcn-opencl.pc
	@for d in $(DESTDIR)$(MODELDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(PREFIX)/share \
	  $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(BINDIR); do \
	  [ -d "$$d" ] && rmdir "$$d" 2>/dev/null; done; true
