# prld - top-level build.
#
#   make deps          install the Debian packages and test kernels (root)
#   make               build userspace/prldctl, libprld.a and, where kernel
#                      headers exist, driver/prld.ko for $(KVER)
#   make test          every test this machine can run (the kernel suite in
#                      QEMU VMs on each installed Debian test kernel and
#                      on the debug kernel, KUnit, short crash/fuzz runs)
#   make lint          checkpatch, sparse and W=1 on the kernel code
#   make test-lib      libprld as installed: exports, headers, pkg-config,
#                      the SDK API (examples/sdk-disk.c), install/uninstall
#   make test-deb      the .debs built, linted, installed in a VM, used on
#                      both kernels and purged (20-27 min; not in make test)
#   make debug-kernel  build/cache the KASAN/lockdep/kmemleak/KUnit kernel
#   make test-kunit    the KUnit suites in a VM on that kernel
#   make test-debug    the kernel suite (and fault injection) on it
#   make test-ioerr    I/O errors under the images (tests/fault/30-io-errors.t)
#                      on each Debian test kernel
#   make demo          the main job end to end (in a VM if need be)
#   make install       tool, shared library, headers, pkg-config file, man
#                      pages under $(PREFIX) (LIBDIR, BINDIR... override),
#                      udev rules and the systemd unit where those read
#   make uninstall     removes what make install put there
#   make dkms-install  the module through dkms, loaded at boot
#   make fuzz-long     the fuzzers for $(FUZZ_LONG_SECONDS) each
#   make fuzz-kernel-long  $(MUTANT_LONG_COUNT) malformed images attached
#                      by the driver on each test kernel
#   make crash-test    $(CRASH_CUTS) power cuts with durability checks
#   make bench         the benchmark in the VM test bed (~30 min; not part
#                      of `make test`): bench/results/latest.{md,json,png}
#   make bench-smoke   the same harness with tiny runs (~4 min), proving it
#   make bench-tool    prldctl against qemu-img on the host (write, export,
#                      read, import, check): bench/results/tool-latest.md
#
# BUILD selects the object directory, so the sanitizer build
# (build-asan) never mixes objects with the normal one.

CC ?= cc
CLANG ?= clang
BUILD ?= build
CFLAGS ?= -O2 -g
LDFLAGS ?=
CPPFLAGS ?=
VERSION := 0.2.0

# Where `make install` puts things (Debian's packaging passes its own).
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
SYSCONFDIR ?= /etc
# udev and systemd read only their own directories, whatever the prefix.
UDEVDIR ?= $(shell pkg-config --variable=udevdir udev 2>/dev/null || echo /lib/udev)
SYSTEMDUNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
FUZZ_SECONDS ?= 20
FUZZ_LONG_SECONDS ?= 600

# The kernel to build the module for: the running one if its headers are
# installed, otherwise the newest installed headers.
KVER ?= $(shell k=$$(uname -r); if [ -d /lib/modules/$$k/build ]; then \
	echo $$k; else for d in /lib/modules/*/build; do [ -d "$$d" ] && \
	basename "$$(dirname "$$d")"; done | sort -V | tail -n 1; fi)
KDIR := /lib/modules/$(KVER)/build
VM_KERNELS := $(shell tests/vm/kernels.sh list)
# make test's jobs on them: the kernel suite, the I/O-error test.
VM_SUITES := $(VM_KERNELS:%=vm-suite-%)
IOERR_SUITES := $(VM_KERNELS:%=ioerr-%)

PKGS := libxml-2.0 uuid json-c
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS := $(shell pkg-config --libs $(PKGS))
# What libprld itself links (the tool adds json-c).
LIB_LIBS := $(shell pkg-config --libs libxml-2.0 uuid) -lpthread

PRLD_CFLAGS := -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-D_FILE_OFFSET_BITS=64 -Iinclude -Iuserspace/lib $(PKG_CFLAGS)

LIB_SRCS := $(sort $(wildcard userspace/lib/*.c))
TOOL_SRCS := $(sort $(wildcard userspace/tool/*.c))
UNIT_SRCS := $(sort $(wildcard tests/unit/*.c))
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/*.c))
CLI_TESTS := $(sort $(wildcard tests/cli/*.t))

LIB_OBJS := $(LIB_SRCS:userspace/lib/%.c=$(BUILD)/lib/%.o)
TOOL_OBJS := $(TOOL_SRCS:userspace/tool/%.c=$(BUILD)/tool/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(BUILD)/fuzz/%)
HEADERS := $(wildcard include/*.h userspace/lib/*.h)

# libprld as users get it: a shared library with a soname whose version
# script (userspace/lib/libprld.map) exports the public API only, and a
# static archive cut down to the same symbols.  The tests link
# libprld-internal.a: every function, and the test hooks
# (PRLD_TEST_HOOKS: the merge and compact crash points) that the others never have.
SOVERSION := 1
LIB_MAP := userspace/lib/libprld.map
LIBPRLD := $(BUILD)/libprld.a
LIBPRLD_SO := $(BUILD)/libprld.so.$(SOVERSION)
LIBPRLD_SO_REAL := $(BUILD)/libprld.so.$(SOVERSION).0.0
LIBPRLD_SYMS := $(BUILD)/libprld.syms
LIBPRLD_INTERNAL := $(BUILD)/libprld-internal.a
HOOK_SRCS := userspace/lib/merge_state.c userspace/lib/merge.c \
	userspace/lib/compact.c
HOOK_OBJS := $(HOOK_SRCS:userspace/lib/%.c=$(BUILD)/lib-hooks/%.o)
PUBLIC_HEADERS := userspace/lib/prld.h userspace/lib/prld_sdk.h \
	include/prld_format.h include/prld_ioctl.h

# The default build puts the tool where users look for it.
ifeq ($(BUILD),build)
TOOL := userspace/prldctl
else
TOOL := $(BUILD)/prldctl
endif

SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full \
	--suppressions=$(CURDIR)/tests/valgrind.supp \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect

.PHONY: debug-kernel test-kunit test-debug test-debug-quick test-ioerr
.PHONY: all deps test test-unit test-cli test-asan test-valgrind test-fuzz \
	test-vm test-vm-self test-dkms module lint lint-stock lint-debug fuzz fuzz-long demo \
	install uninstall userspace test-lib test-deb dkms-install clean \
	crash-test test-crash fuzz-kernel-long bench bench-smoke bench-tool

all: userspace $(if $(wildcard $(KDIR)),module)

# Everything but the module (what Debian's packaging builds).
USERSPACE_FILES = $(TOOL) $(LIBPRLD_SO) $(LIBPRLD) $(BUILD)/prldctl-shared \
	$(BUILD)/prld_id
userspace: $(USERSPACE_FILES)

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 modules

$(BUILD)/lib/%.o: userspace/lib/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(PRLD_CFLAGS) $(CPPFLAGS) $(CFLAGS) -fPIC -c -o $@ $<

$(BUILD)/lib-hooks/%.o: userspace/lib/%.c $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(PRLD_CFLAGS) $(CPPFLAGS) $(CFLAGS) -fPIC -DPRLD_TEST_HOOKS -c -o $@ $<

$(BUILD)/tool/%.o: userspace/tool/%.c $(HEADERS) $(wildcard userspace/tool/*.h)
	@mkdir -p $(@D)
	$(CC) $(PRLD_CFLAGS) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The public names, one a line, from the version script.
$(LIBPRLD_SYMS): $(LIB_MAP)
	@mkdir -p $(@D)
	sed -n 's/^[[:space:]]*\([A-Za-z_][A-Za-z0-9_]*\);$$/\1/p' $< > $@

$(LIBPRLD_SO_REAL): $(LIB_OBJS) $(LIB_MAP)
	$(CC) $(CFLAGS) $(LDFLAGS) -shared -Wl,-soname,libprld.so.$(SOVERSION) \
		-Wl,--version-script=$(LIB_MAP) -Wl,--no-undefined -Wl,-z,defs \
		-o $@ $(LIB_OBJS) $(LIB_LIBS)

$(LIBPRLD_SO): $(LIBPRLD_SO_REAL)
	ln -sf $(notdir $<) $@
	ln -sf $(notdir $@) $(BUILD)/libprld.so

# One relocatable object whose only global symbols are the public ones.
$(LIBPRLD): $(LIB_OBJS) $(LIBPRLD_SYMS)
	$(CC) -r -nostdlib -o $(BUILD)/libprld-all.o $(LIB_OBJS)
	objcopy --keep-global-symbols=$(LIBPRLD_SYMS) $(BUILD)/libprld-all.o \
		$(BUILD)/libprld-public.o
	rm -f $@
	ar rcs $@ $(BUILD)/libprld-public.o

$(LIBPRLD_INTERNAL): $(filter-out $(HOOK_SRCS:userspace/lib/%.c=$(BUILD)/lib/%.o),$(LIB_OBJS)) $(HOOK_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $^

# The tool in the tree: the public static archive, so it runs from here
# and proves it needs nothing but the public API.
$(TOOL): $(TOOL_OBJS) $(LIBPRLD)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TOOL_OBJS) $(LIBPRLD) $(PKG_LIBS) -lpthread

# The tool make install installs: on the shared library.
$(BUILD)/prldctl-shared: $(TOOL_OBJS) $(LIBPRLD_SO)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(TOOL_OBJS) -L$(BUILD) -lprld \
		$(shell pkg-config --libs json-c)

# The tool with the test hooks, for the crash steps of tests/cli/merge.t.
$(BUILD)/prldctl-test: $(TOOL_OBJS) $(LIBPRLD_INTERNAL)
	$(CC) $(CFLAGS) -o $@ $(TOOL_OBJS) $(LIBPRLD_INTERNAL) $(PKG_LIBS) -lpthread

# udev's helper: the by-id names of a prld disk (udev/60-prld.rules).
$(BUILD)/prld_id: userspace/udev/prld_id.c userspace/lib/prld.h $(LIBPRLD_SO)
	$(CC) $(PRLD_CFLAGS) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -L$(BUILD) -lprld

$(BUILD)/tests/%: tests/unit/%.c tests/unit/tap.h tests/unit/testutil.h $(LIBPRLD_INTERNAL)
	@mkdir -p $(@D)
	$(CC) $(PRLD_CFLAGS) $(CFLAGS) -Itests/unit -o $@ $< $(LIBPRLD_INTERNAL) $(PKG_LIBS) -lpthread

# ---- tests ---------------------------------------------------------

test-unit: $(UNIT_BINS)
	prove --exec '' $(UNIT_BINS)

# Writes the named malformed images of tests/corpus into a directory.
CORPUS_GEN := $(BUILD)/gen_corpus

$(CORPUS_GEN): tests/corpus/gen_corpus.c $(LIBPRLD_INTERNAL)
	$(CC) $(PRLD_CFLAGS) $(CFLAGS) -o $@ $< $(LIBPRLD_INTERNAL) $(PKG_LIBS) -lpthread

test-cli: $(TOOL) $(CORPUS_GEN) $(BUILD)/prldctl-test
	PRLDCTL=$(abspath $(TOOL)) CORPUS_GEN=$(abspath $(CORPUS_GEN)) \
		PRLDCTL_TEST=$(abspath $(BUILD)/prldctl-test) \
		prove --exec '' $(CLI_TESTS)

# The whole unit and CLI suite again with ASan + UBSan.
test-asan:
	$(MAKE) BUILD=build-asan CC=$(CLANG) CFLAGS="$(SAN_FLAGS)" \
		test-unit test-cli

# libprld as its users get it: make install into $(STAGE) (Debian's
# layout), its exports and headers, and programs written against the
# public headers (the SDK example among them) built there with pkg-config.
STAGE := $(BUILD)/stage
MULTIARCH := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null)
STAGE_LIBDIR := /usr/lib$(if $(MULTIARCH),/$(MULTIARCH))
STAGE_VARS = DESTDIR=$(abspath $(STAGE)) PREFIX=/usr LIBDIR=$(STAGE_LIBDIR) \
	UDEVDIR=/usr/lib/udev SYSTEMDUNITDIR=/usr/lib/systemd/system

test-lib: $(USERSPACE_FILES) $(BUILD)/prldctl-test
	rm -rf $(STAGE)
	$(MAKE) --no-print-directory install $(STAGE_VARS) > /dev/null
	BUILD=$(abspath $(BUILD)) STAGE=$(abspath $(STAGE)) \
		STAGE_LIBDIR=$(STAGE_LIBDIR) PRLDCTL=$(abspath $(TOOL)) \
		prove --exec '' $(sort $(wildcard tests/lib/*.t))

# A raw PRLD_CONFIGURE, for the kernel's own validation tests.
RAWATTACH := $(BUILD)/rawattach

$(RAWATTACH): tests/kernel/rawattach.c include/prld_ioctl.h
	@mkdir -p $(@D)
	$(CC) $(PRLD_CFLAGS) $(CFLAGS) -o $@ $<

# One raw ioctl of any kind, for the abuse and race tests.
RAWIOCTL := $(BUILD)/rawioctl

$(RAWIOCTL): tests/kernel/rawioctl.c include/prld_ioctl.h
	@mkdir -p $(@D)
	$(CC) $(PRLD_CFLAGS) $(CFLAGS) -o $@ $<

# A snapshot deleted through libprld's public job calls (41-online-merge.t),
# linked with the archive users get.
JOBWAIT := $(BUILD)/jobwait

$(JOBWAIT): tests/kernel/jobwait.c $(LIBPRLD) userspace/lib/prld.h
	@mkdir -p $(@D)
	$(CC) $(PRLD_CFLAGS) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LIBPRLD) $(PKG_LIBS) -lpthread

# Seeded malformed images for the kernel's attach path (65-mutants.t).
MUTANTS := $(BUILD)/mutants

$(MUTANTS): tests/kernel/mutants.c tests/kernel/mutants.h include/prld_format.h
	@mkdir -p $(@D)
	$(CC) $(PRLD_CFLAGS) $(CFLAGS) -o $@ $<

# Attaches each case with a raw PRLD_CONFIGURE and checks the verdict.
MUTANT_RUN := $(BUILD)/mutant_run

$(MUTANT_RUN): tests/kernel/mutant_run.c tests/kernel/mutants.h include/prld_ioctl.h
	@mkdir -p $(@D)
	$(CC) $(PRLD_CFLAGS) $(CFLAGS) -o $@ $<

# The power-cut test's writer and checker (tests/kernel/crash-*.sh).
DURABLE := $(BUILD)/durable

$(DURABLE): tests/kernel/durable.c
	@mkdir -p $(@D)
	$(CC) $(PRLD_CFLAGS) $(CFLAGS) -o $@ $<

# What a kernel-side job needs built on the host, and a clear error when
# no test kernel is installed (a recipe line: as a phony prerequisite it
# would reorder make test's jobs).
KTEST_DEPS = $(TOOL) $(CORPUS_GEN) $(RAWATTACH) $(RAWIOCTL) $(MUTANTS) \
	$(MUTANT_RUN) $(BUILD)/prldctl-test $(JOBWAIT)
NEED_KERNELS = @[ -n "$(VM_KERNELS)" ] || { echo "no test kernels: run make deps"; exit 1; }

# make test is a pool of jobs run two at a time (make -j2, each job's
# output shown whole when it ends), so both cores stay busy whether or
# not the debug kernel must be built first.  make starts jobs in the
# order listed, longest first, except one whose prerequisite is still
# being made: that one waits for the end of the list.  So no job has a
# phony prerequisite, and this rule sits below the host binaries'
# variables (a prerequisite list is expanded as it is read).  On a fresh
# machine test-kunit first builds the debug kernel (~25-40 min, the
# longest chain) while the other slot runs the stock jobs; by the time
# that slot reaches test-debug-quick and lint-debug the build is about
# done (a second caller of build.sh waits for it).  The whole debug
# suite (make test-debug, ~4.5 times the stock one) ran CI past its 90
# minutes beside the build, so it is a long run like crash-test.  make
# stops at the first failing job (after the running one ends).  Each
# kernel's module is built once per run (PRLD_MODULE_ONCE,
# tests/kernel/build-module.sh).
# Two guests of 2 vCPUs each on 2 host cores ran each kernel suite 3
# times slower than alone (a vCPU preempted holding a guest lock stalls
# the other): with one vCPU each, two suites side by side took 452 and
# 514 s, about what the two take one after the other alone.  Run alone
# (make test-vm, test-debug, crash-test), guests keep 2 vCPUs.
TEST_PARALLEL ?= 2
TEST_VM_SMP ?= 1
TEST_JOBS := test-kunit $(VM_SUITES) vm-suite-xfs $(IOERR_SUITES) test-crash \
	test-asan test-vm-self test-cli test-debug-quick lint-debug lint-stock \
	test-valgrind test-fuzz test-dkms test-lib test-unit

test: $(KTEST_DEPS) $(DURABLE) $(USERSPACE_FILES) $(BUILD)/prldctl-test
	$(NEED_KERNELS)
	@start=$$(date +%s); \
	PRLD_VM_SMP=$(TEST_VM_SMP) PRLD_MODULE_ONCE=$$$$-$$start \
		$(MAKE) --no-print-directory \
		-j$(TEST_PARALLEL) --output-sync=target $(TEST_JOBS); \
	rc=$$?; echo "make test: $$([ $$rc = 0 ] && echo passed || echo FAILED)" \
		"after $$(( $$(date +%s) - start )) s"; exit $$rc

# The debug kernel (KASAN, lockdep, kmemleak, KUnit, fault injection),
# built once per machine and cached outside the checkout.
debug-kernel:
	tests/debug-kernel/build.sh

# The KUnit suites of the pure kernel logic, on the debug kernel; first
# the KTAP verdict's own selftest (host side) and the proof that a run on
# that kernel catches a leak, KASAN, lockdep and atomic-sleep bug, and
# fails when kmemleak could not scan.
test-kunit:
	prove tests/kunit/ktap-self.t
	prove --exec '' tests/debug-kernel/selftest.sh
	tests/kunit/run.sh

# The whole kernel suite and tests/fault on the debug kernel: any KASAN,
# lockdep, atomic-sleep report or module kmemleak fails it.
test-debug: $(KTEST_DEPS)
	tests/kernel/run.sh debug ext4

# make test's part of it: what only this kernel can check, the driver's
# own fault points (BAT writes, flushes) and failslab during attach and
# snapshot (20 rounds, not 40: ~40% of attaches survive, so both
# outcomes still show), under KASAN, lockdep and kmemleak: 534 s
# in make test's pool.  The races (75-races.t) under lockdep took about
# as long again, and stay in test-debug.
DEBUG_QUICK = tests/fault/10-driver-faults.t tests/fault/20-failslab.t

test-debug-quick: $(KTEST_DEPS)
	PRLD_KTESTS="$(DEBUG_QUICK)" PRLD_FAILSLAB_ROUNDS=20 \
		tests/kernel/run.sh debug ext4

.PHONY: vm-suite-xfs $(VM_SUITES) $(IOERR_SUITES)

# I/O errors under the backing file (tests/fault/30-io-errors.t: a
# device-mapper table swapped under the images' filesystem) on each
# stock test kernel, where dm-mod and dm-flakey are modules; test-debug
# runs it on the debug kernel with the rest of tests/fault.  It found
# what a failed write left in the image file's page cache (stale data, a
# BAT entry past the end, an inherited write-back error); each is fixed.
test-ioerr: $(IOERR_SUITES)
	$(NEED_KERNELS)

$(IOERR_SUITES): ioerr-%: $(KTEST_DEPS)
	PRLD_KTESTS=tests/fault/30-io-errors.t tests/kernel/run.sh $* ext4

# The kernel suite in a VM per installed Debian test kernel (tests/vm),
# image files on ext4; then on xfs the data-path tests (the rest does not
# depend on the backing filesystem).
test-vm: $(VM_SUITES) vm-suite-xfs
	$(NEED_KERNELS)

$(VM_SUITES): vm-suite-%: $(KTEST_DEPS)
	tests/kernel/run.sh $* ext4

vm-suite-xfs: $(KTEST_DEPS)
	$(NEED_KERNELS)
	PRLD_KTESTS="tests/kernel/20-qemu.t tests/kernel/50-fio.t" \
		tests/kernel/run.sh $(lastword $(VM_KERNELS)) xfs

# The malformed-image run of 65-mutants.t at length, on every test kernel;
# MUTANT_SEED repeats a run (the default seed is printed).
MUTANT_LONG_COUNT ?= 10000

fuzz-kernel-long: $(TOOL) $(RAWATTACH) $(MUTANTS) $(MUTANT_RUN)
	set -e; seed=$${MUTANT_SEED:-$$(date +%s)}; echo "mutant seed $$seed"; \
	for k in $(VM_KERNELS); do \
		PRLD_KTESTS=tests/kernel/65-mutants.t PRLD_MUTANT_SEED=$$seed \
		PRLD_MUTANT_COUNT=$(MUTANT_LONG_COUNT) \
		PRLD_SUITE_TIMEOUT=$$(( $(MUTANT_LONG_COUNT) + 900 )) \
		PRLD_VM_TIMEOUT=$$(( $(MUTANT_LONG_COUNT) + 1200 )) \
		tests/kernel/run.sh $$k; \
	done

# Power cuts (tests/kernel/crash.sh): CRASH_CUTS kills of a guest writing
# through the driver, each followed by a boot that checks every durable
# byte; the first cut per kernel also proves the checker fails on damage.
# Then CRASH_SNAP_CUTS cuts during snapshots of a device under direct
# writes, as many during offline merges (prldctl delete-snapshot) of a
# chain, and as many during online merges of a device under direct
# writes (snapshots deleted on the device, inner ones and the top's
# parent by turns).
CRASH_CUTS ?= 100
CRASH_SNAP_CUTS ?= 20

crash-test: $(TOOL) $(DURABLE)
	PRLD_CRASH_SELFTEST_EVERY=25 tests/kernel/crash.sh $(CRASH_CUTS) $(VM_KERNELS)
	PRLD_CRASH_KIND=snapshot PRLD_CRASH_SELFTEST_EVERY=10 \
		tests/kernel/crash.sh $(CRASH_SNAP_CUTS) $(VM_KERNELS)
	PRLD_CRASH_KIND=merge PRLD_CRASH_SELFTEST_EVERY=10 \
		tests/kernel/crash.sh $(CRASH_SNAP_CUTS) $(VM_KERNELS)
	PRLD_CRASH_KIND=online-merge PRLD_CRASH_SELFTEST_EVERY=10 \
		tests/kernel/crash.sh $(CRASH_SNAP_CUTS) $(VM_KERNELS)

# For make test: two cuts of the I/O workload (one per kernel), one during
# snapshots, one during offline merges and two during online merges (one
# per kernel); each a selftest of its checker too.
test-crash: $(TOOL) $(DURABLE)
	PRLD_CRASH_SELFTEST_EVERY=1 tests/kernel/crash.sh 2 $(VM_KERNELS)
	PRLD_CRASH_KIND=snapshot PRLD_CRASH_SELFTEST_EVERY=1 \
		tests/kernel/crash.sh 1 $(lastword $(VM_KERNELS))
	PRLD_CRASH_KIND=merge PRLD_CRASH_SELFTEST_EVERY=1 \
		tests/kernel/crash.sh 1 $(firstword $(VM_KERNELS))
	PRLD_CRASH_KIND=online-merge PRLD_CRASH_SELFTEST_EVERY=1 \
		tests/kernel/crash.sh 2 $(VM_KERNELS)

# The harness itself: it passes a good guest and fails a bad exit status,
# a kernel WARNING and a panic, on every test kernel.
test-vm-self:
	tests/vm/selftest.sh

# checkpatch from Debian's linux-source-6.1, sparse, and W=1 on each kernel.
# The debug kernel's tree too once it is built (make debug-kernel).
lint:
	tests/lint.sh $(VM_KERNELS) $$(tests/debug-kernel/build.sh --print >/dev/null 2>&1 && echo debug)

# make test's halves: each lane lints the kernels it tests, so the debug
# tree is linted whether or not it was built when the stock lane started.
lint-stock:
	tests/lint.sh $(VM_KERNELS)

lint-debug:
	tests/debug-kernel/build.sh >/dev/null
	tests/lint.sh debug

test-valgrind: $(UNIT_BINS)
	prove --exec '$(VALGRIND)' $(UNIT_BINS)

# ---- fuzzing (clang libFuzzer) ----------------------------------------

FUZZ_CFLAGS := -O1 -g -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all

$(BUILD)/fuzz/%: tests/fuzz/%.c $(LIB_SRCS) $(HEADERS)
	@mkdir -p $(@D)
	$(CLANG) $(PRLD_CFLAGS) $(FUZZ_CFLAGS) -o $@ $< $(LIB_SRCS) $(PKG_LIBS)

fuzz: $(FUZZ_BINS)

# Short bounded run over the shipped corpus; new inputs go to a scratch
# directory so the tree stays clean.
test-fuzz: $(FUZZ_BINS)
	tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_BINS)

fuzz-long: $(FUZZ_BINS)
	tests/fuzz/run.sh $(FUZZ_LONG_SECONDS) $(FUZZ_BINS)

# ---- benchmark (bench/run.sh: BENCH_* variables tune it) ---------------

# Not part of make test: prldctl's own speed against qemu-img's.
bench-tool: $(TOOL)
	PRLDCTL=$(abspath $(TOOL)) bench/tool.sh

bench: $(TOOL)
	BENCH_README=$(CURDIR)/README.md bench/run.sh

# Seconds-long jobs on small images: the harness end to end, numbers
# meaningless; results under build/, the README untouched.
bench-smoke: $(TOOL)
	BENCH_OUT=$(CURDIR)/build/bench-smoke BENCH_FS=ext4 BENCH_RUNTIME=1 \
		BENCH_RAMP=0 BENCH_ROUNDS=1 BENCH_SIZE=64M BENCH_FRESH_SIZE=1G BENCH_DEPTH=4 \
		BENCH_HUGE=1T BENCH_DENSE=64G BENCH_MERGE_SIZE=128M BENCH_MERGE_HOT=16M bench/run.sh

# ---- dependencies, demo, install ---------------------------------------------------

deps:
	tests/install-deps.sh

# The tool alone, then the driver: on this host if it can load modules,
# otherwise inside the VM test bed (the guest's console is shown).
demo: $(TOOL)
	PRLDCTL=$(abspath $(TOOL)) tests/demo.sh
	@if [ -e /proc/modules ] && [ "$$(id -u)" = 0 ] && [ -d $(KDIR) ]; then \
		$(MAKE) module && \
		PRLDCTL=$(abspath $(TOOL)) PRLD_KO=$(CURDIR)/driver/prld.ko \
			tests/demo-kernel.sh; \
	else \
		echo; echo "demo: this kernel cannot load modules: the driver demo runs in a VM ($(lastword $(VM_KERNELS)))"; \
		ko=$$(tests/kernel/build-module.sh $(lastword $(VM_KERNELS))) && \
		tests/vm/run.sh --kernel $(lastword $(VM_KERNELS)) \
			-e PRLDCTL=$(abspath $(TOOL)) -e PRLD_KO=$$ko -- \
			tests/demo-kernel.sh; \
	fi

# What make install puts in place, as MODE:SOURCE:DESTINATION (make
# uninstall removes the destinations).  /etc/prldtab is written only
# where there is none, and stays: it is the administrator's.
INSTALL_FILES = \
	0755:$(BUILD)/prldctl-shared:$(BINDIR)/prldctl \
	0644:$(LIBPRLD_SO_REAL):$(LIBDIR)/$(notdir $(LIBPRLD_SO_REAL)) \
	0644:$(LIBPRLD):$(LIBDIR)/libprld.a \
	$(foreach h,$(PUBLIC_HEADERS),0644:$(h):$(INCLUDEDIR)/prld/$(notdir $(h))) \
	0644:userspace/prldctl.8:$(MANDIR)/man8/prldctl.8 \
	0644:userspace/prldctl.bash-completion:$(PREFIX)/share/bash-completion/completions/prldctl \
	0644:userspace/prldtab.5:$(MANDIR)/man5/prldtab.5 \
	0644:packaging/60-prld.rules:$(UDEVDIR)/rules.d/60-prld.rules \
	0755:$(BUILD)/prld_id:$(UDEVDIR)/prld_id
# Written at install time: they name the directories of this install.
INSTALL_GENERATED = $(PKGCONFIGDIR)/prld.pc $(SYSTEMDUNITDIR)/prld-attach.service
INSTALL_LINKS = $(LIBDIR)/libprld.so.$(SOVERSION):$(notdir $(LIBPRLD_SO_REAL)) \
	$(LIBDIR)/libprld.so:libprld.so.$(SOVERSION)

install: userspace
	@set -e; for f in $(INSTALL_FILES); do \
		mode=$${f%%:*}; rest=$${f#*:}; src=$${rest%%:*}; dst=$${rest#*:}; \
		echo "install $$src $(DESTDIR)$$dst"; \
		install -D -m $$mode $$src $(DESTDIR)$$dst; \
	done
	@set -e; for l in $(INSTALL_LINKS); do \
		ln -sfn $${l#*:} $(DESTDIR)$${l%%:*}; \
	done
	install -d $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		userspace/lib/prld.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/prld.pc
	sed -e 's|@BINDIR@|$(BINDIR)|g' packaging/prld-attach.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/prld-attach.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/prldtab ] || \
		install -D -m 0644 packaging/prldtab $(DESTDIR)$(SYSCONFDIR)/prldtab

uninstall:
	@for f in $(INSTALL_FILES); do \
		dst=$${f##*:}; echo "rm $(DESTDIR)$$dst"; rm -f $(DESTDIR)$$dst; \
	done
	@for l in $(INSTALL_LINKS); do rm -f $(DESTDIR)$${l%%:*}; done
	rm -f $(addprefix $(DESTDIR),$(INSTALL_GENERATED))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/prld 2>/dev/null

dkms-install:
	tests/dkms.sh install

# The Debian packages end to end (tests/deb/run.sh): dpkg-buildpackage,
# lintian, then installed into a writable root in the VM test bed on the
# first test kernel (DKMS builds the module, /etc/prldtab's disks attach
# through the unit's command lines with udev's links), booted again on
# the second kernel and purged.  A long run, not part of make test.
test-deb:
	$(NEED_KERNELS)
	tests/deb/run.sh

# dkms add + build against every installed test kernel, then removed.
test-dkms:
	tests/dkms.sh check $(VM_KERNELS)

clean:
	rm -rf build build-asan userspace/prldctl Module.symvers modules.order
	$(if $(wildcard $(KDIR)),$(MAKE) -C $(KDIR) M=$(CURDIR) clean)
