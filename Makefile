# SPDX-License-Identifier: GPL-2.0-or-later
# slurm-lxd — plain GNU make.  `make` builds, `make check` tests everything
# (setting up a one-node cluster as root), `make demo` shows a job.

# The one version (debian/changelog and the man pages' .TH say the same:
# make version-check).
VERSION     := 0.1.0
PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
DESTDIR     ?=
MULTIARCH   := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
# Slurm's Debian packages put plugins here; override with SLURM_PLUGIN_DIR=.
SLURM_PLUGIN_DIR ?= $(shell pkg-config --variable=libdir slurm 2>/dev/null | sed 's,$$,/slurm,' | grep . || echo /usr/lib/$(MULTIARCH)/slurm-wlm)
LIBEXECDIR  ?= $(PREFIX)/libexec/slurm-lxd
# systemd's unit folder for the prefix (/usr/local/lib/systemd/system is
# on its search path); /etc/systemd/system is the administrator's own.
SYSTEMDUNITDIR ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
MANDIR      ?= $(PREFIX)/share/man
MAN1        := $(wildcard man/*.1)
MAN8        := $(wildcard man/*.8)

CC      ?= cc
# Another Slurm's headers and libslurm (`make compat-build`): -I and -L
# flags searched before the system's.
SLURM_CFLAGS  ?=
SLURM_LDFLAGS ?=
PKGS    := libcurl jansson libcrypto munge
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection
CFLAGS  ?= -O2 -g
override CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation \
           -fPIC $(HARDEN) $(SLURM_CFLAGS) -Ilib $(shell pkg-config --cflags $(PKGS))
LDLIBS  := $(shell pkg-config --libs $(PKGS))
override LDFLAGS += -Wl,-z,relro,-z,now -Wl,--as-needed

BUILD   ?= build
LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
LIBSLXD := $(BUILD)/libslxd.a

PLUGIN  := $(BUILD)/spank_lxd.so
INIT    := $(BUILD)/slxd-init
EPILOG  := $(BUILD)/slxd-epilog
GC      := $(BUILD)/slxd-gc
PROLOG  := $(BUILD)/slxd-prolog
IMGCHECK := $(BUILD)/slxd-imagecheck
HELPERS := $(INIT) $(EPILOG) $(GC) $(PROLOG) $(IMGCHECK)
REGCLI  := $(BUILD)/slxd-registry
SBINDIR ?= $(PREFIX)/sbin

# The registry service: its own libraries, on its own link lines only (the
# SPANK plugin loads into slurmstepd and must not drag them in).
REG_PKGS     := sqlite3 libmicrohttpd libarchive yaml-0.1 jansson
REG_CFLAGS   := $(shell pkg-config --cflags $(REG_PKGS))
REG_LDLIBS   := $(shell pkg-config --libs $(REG_PKGS))
REG_OBJ      := $(patsubst registry/%.c,$(BUILD)/registry/%.o,registry/store.c registry/api.c registry/regconf.c registry/blobhttp.c)
REGISTRYD    := $(BUILD)/slxd-registryd
# The OCI converter runs in the user's command (and its tests), not the service.
OCI_OBJ      := $(BUILD)/registry/oci.o
# So does the image review (slxd-registry inspect).
OCI_OBJ      += $(BUILD)/registry/inspect.o
# And docker:// sources through skopeo.
OCI_OBJ      += $(BUILD)/registry/skopeo.o
# And re-compressing pushed images as zstd.
OCI_OBJ      += $(BUILD)/registry/recompress.o
ARCHIVE_LIBS  = $(shell pkg-config --libs libarchive yaml-0.1)

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# fake_registry.c needs libmicrohttpd: only the registry client tests link it.
UNIT_SUPPORT := $(filter-out $(UNIT_SRC) tests/unit/fake_registry.c,$(wildcard tests/unit/*.c))
MHD_LIBS  = $(shell pkg-config --libs libmicrohttpd)

.PHONY: all deb deps install uninstall unit unit-san check integration integration-incus integration-multinode demo clean bench registry \
	fuzz fuzz-replay fuzz-build fuzz-targets lint valgrind man-check hardening-check package-check spdx-check \
	compat-build compat-build-one check-compat version-check systemd-check FORCE rpm
all: $(PLUGIN) $(HELPERS) registry

registry: $(REGISTRYD) $(REGCLI)

# The built-in init= default follows LIBEXECDIR (packages use /usr/libexec).
$(BUILD)/lib/config.o $(BUILD)/lib/image_registry.o: override CFLAGS += -DSLXD_LIBEXECDIR='"$(LIBEXECDIR)"'
$(BUILD)/tests/test_config: override CFLAGS += -DSLXD_TEST_LIBEXECDIR='"$(LIBEXECDIR)"'
$(BUILD)/lib/version.o: override CFLAGS += -DSLXD_VERSION='"$(VERSION)"'
# Compiled-in settings are recompiled when they change: `make` then
# `make install LIBEXECDIR=...` must not install the first build's path.
$(BUILD)/lib/config.o $(BUILD)/lib/image_registry.o $(BUILD)/tests/test_config: $(BUILD)/libexecdir.stamp
$(BUILD)/lib/version.o: $(BUILD)/version.stamp
$(BUILD)/libexecdir.stamp: FORCE
	@mkdir -p $(dir $@); echo '$(LIBEXECDIR)' | cmp -s - $@ || echo '$(LIBEXECDIR)' >$@
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(dir $@); echo '$(VERSION)' | cmp -s - $@ || echo '$(VERSION)' >$@
FORCE:

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# Made afresh: a module renamed or removed must not linger in the archive.
$(LIBSLXD): $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

# Exports only the SPANK ABI (plugin/spank_lxd.map).  libcurl is loaded
# when first used (plugin/curl_lazy.c), not by srun, sbatch and salloc.
$(PLUGIN): plugin/spank_lxd.c plugin/curl_lazy.c plugin/spank_lxd.map $(LIBSLXD)
	$(CC) $(CFLAGS) -shared -Wl,--version-script=plugin/spank_lxd.map -o $@ $< plugin/curl_lazy.c \
		$(LIBSLXD) $(LDFLAGS) $(filter-out -lcurl,$(LDLIBS))

# The container's init: static so it runs in any image, tiny so it is
# obviously harmless (it runs as the container's root); static-pie so it
# is still loaded at a random address, like every other program here.
$(INIT): helpers/slxd-init.c lib/entrypoint.h
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -fPIC,$(CFLAGS)) -fPIE -static-pie -o $@ $< $(LDFLAGS)

# Programs are position-independent executables (full RELRO via LDFLAGS).
$(BUILD)/slxd-%: helpers/slxd-%.c $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(LIBSLXD) $(LDFLAGS) $(LDLIBS)

# The only programs that talk to slurmctld (about jobs; the prolog to tell
# srun of an image pull), so the only ones linked against libslurm.
$(GC): $(BUILD)/slxd-%: helpers/slxd-%.c $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(LIBSLXD) $(SLURM_LDFLAGS) $(LDFLAGS) $(LDLIBS) -lslurm

# slurmd runs these two for every job, most of which never talk to LXD or
# the registry: libcurl is loaded when first used (plugin/curl_lazy.c), as
# in the plugin.  Loading it and its ~30 libraries costs ~28 ms of CPU per
# exec (docs/benchmarks.md, "Where a container job's CPU goes").
$(PROLOG): $(BUILD)/slxd-%: helpers/slxd-%.c plugin/curl_lazy.c $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< plugin/curl_lazy.c $(LIBSLXD) $(SLURM_LDFLAGS) \
		$(LDFLAGS) $(filter-out -lcurl,$(LDLIBS)) -lslurm
$(EPILOG): $(BUILD)/slxd-%: helpers/slxd-%.c plugin/curl_lazy.c $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< plugin/curl_lazy.c $(LIBSLXD) $(LDFLAGS) \
		$(filter-out -lcurl,$(LDLIBS))

# The image check as a program (lib/tarcheck.h): the only node program
# linked against libarchive and libyaml; the plugin and slxd-prolog run it
# (lib/image_registry.c) on every image they download.
$(IMGCHECK): helpers/slxd-imagecheck.c $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(LIBSLXD) $(LDFLAGS) $(shell pkg-config --libs libarchive yaml-0.1)

$(BUILD)/registry/%.o: registry/%.c $(wildcard registry/*.h) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(REG_CFLAGS) -c -o $@ $<

$(REGISTRYD): $(BUILD)/registry/slxd-registryd.o $(REG_OBJ) $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $^ $(LDFLAGS) $(REG_LDLIBS) $(LDLIBS) -lpthread

# Registry tests link the registry's objects and libraries; the end-to-end
# one runs the daemon, so it depends on it and is told where it is.
$(BUILD)/tests/test_registry_%: tests/unit/test_registry_%.c $(UNIT_SUPPORT) $(wildcard tests/unit/*.h) $(REG_OBJ) $(OCI_OBJ) $(LIBSLXD) $(REGISTRYD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(REG_CFLAGS) -Itests/unit -Iregistry -DSLXD_REGISTRYD='"$(abspath $(REGISTRYD))"' \
		-o $@ $< $(UNIT_SUPPORT) $(REG_OBJ) $(OCI_OBJ) $(LIBSLXD) $(LDFLAGS) $(REG_LDLIBS) $(LDLIBS) -lcmocka -lpthread

# The user's and admin's command for the registry (runs as the user).
$(REGCLI): registry/slxd-registry.c $(OCI_OBJ) $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(OCI_OBJ) $(LIBSLXD) $(LDFLAGS) $(ARCHIVE_LIBS) $(LDLIBS)

# Registry client tests (test_registry_client*, the more specific pattern):
# a fake registry service (libmicrohttpd); the CLI test compiles
# registry/slxd-registry.c in.
$(BUILD)/tests/test_registry_client_cli: registry/slxd-registry.c
# Pulls go through slxd-imagecheck: this build's.
$(BUILD)/tests/test_registry_client_pull: $(IMGCHECK)
$(BUILD)/tests/test_registry_client_pull: override CFLAGS += -DSLXD_TEST_IMAGECHECK='"$(abspath $(IMGCHECK))"'
REGCLIENT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_registry_client*.c))
$(REGCLIENT_TESTS): $(BUILD)/tests/%: tests/unit/%.c tests/unit/fake_registry.c \
		$(UNIT_SUPPORT) $(wildcard tests/unit/*.h) $(OCI_OBJ) $(LIBSLXD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags libmicrohttpd) -Itests/unit -o $@ $< tests/unit/fake_registry.c \
		$(UNIT_SUPPORT) $(OCI_OBJ) $(LIBSLXD) $(LDFLAGS) $(ARCHIVE_LIBS) $(LDLIBS) $(MHD_LIBS) -lcmocka -lpthread

# test_lxd again, its libcurl calls through the plugin's loader
# (plugin/curl_lazy.c) instead of a link.
UNIT_BIN += $(BUILD)/tests/test_lxd_lazycurl
$(BUILD)/tests/test_lxd_lazycurl: tests/unit/test_lxd.c plugin/curl_lazy.c $(UNIT_SUPPORT) $(wildcard tests/unit/*.h) $(LIBSLXD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< plugin/curl_lazy.c $(UNIT_SUPPORT) $(LIBSLXD) $(LDFLAGS) \
		$(filter-out -lcurl,$(LDLIBS)) -lcmocka -lpthread
	@! readelf -d $@ | grep -q 'NEEDED.*libcurl' || { echo "$@ links libcurl" >&2; rm -f $@; exit 1; }

# The built plugin, dlopen'd by a stand-in for slurmd (it defines the Slurm
# functions the plugin calls: -rdynamic).
$(BUILD)/tests/test_plugin_abi: tests/unit/test_plugin_abi.c tests/unit/testutil.h $(PLUGIN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -DSLXD_TEST_PLUGIN='"$(abspath $(PLUGIN))"' -DSLXD_TEST_VERSION='"$(VERSION)"' \
		-rdynamic -o $@ $< $(LDFLAGS) -lcmocka -ldl

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_SUPPORT) $(wildcard tests/unit/*.h) $(LIBSLXD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(UNIT_SUPPORT) $(LIBSLXD) $(LDFLAGS) $(LDLIBS) -lcmocka -lpthread

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# The same unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
unit-san:
	$(MAKE) BUILD=build-san CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	        LDFLAGS="-fsanitize=address,undefined" unit

# ---- Fuzzing (docs/hardening.md) ---------------------------------------
# Every tests/fuzz/fuzz_NAME.c is a libFuzzer target (clang), seeded from
# tests/fuzz/corpus/fuzz_NAME/ and, if present, tests/fuzz/fuzz_NAME.dict.
# libslxd is rebuilt with the same sanitizers in build-fuzz/.  A target
# that needs more than libslxd (the registry's request handling, say)
# names its extra sources, and libraries if any, here:
#     fuzz_registry_request_SRC    := registry/request.c registry/store.c
#     fuzz_registry_request_LDLIBS := -lsqlite3
# The registry's parsers (registry/; libslxd holds lib/reqauth.c already):
fuzz_registry_tarcheck_LDLIBS := $(shell pkg-config --libs libarchive yaml-0.1)
fuzz_image_metadata_LDLIBS    := $(shell pkg-config --libs libarchive yaml-0.1)
fuzz_registry_blobhttp_SRC    := registry/blobhttp.c
fuzz_registry_conf_SRC        := registry/regconf.c
fuzz_registry_conf_LDLIBS     := $(shell pkg-config --libs libarchive yaml-0.1)
fuzz_registry_api_SRC         := registry/api.c registry/store.c
fuzz_registry_api_LDLIBS      := $(shell pkg-config --libs sqlite3 libarchive yaml-0.1)
fuzz_registry_oci_SRC         := registry/oci.c
fuzz_registry_oci_LDLIBS      := $(shell pkg-config --libs libarchive yaml-0.1)
fuzz_registry_inspect_SRC     := registry/inspect.c
fuzz_registry_inspect_LDLIBS  := $(shell pkg-config --libs libarchive yaml-0.1 jansson)
FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_SRC     := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_BIN     := $(FUZZ_NAMES:%=$(BUILD)/fuzz/%)
# Which targets fuzz and fuzz-replay run, e.g. FUZZ_TARGETS=fuzz_mounts.
FUZZ_TARGETS ?= $(FUZZ_NAMES)
# -timeout: an input that takes seconds is a bug (a hang on a node).
FUZZ_OPTS    ?= -timeout=10 -rss_limit_mb=2048

# (in a variable: a '%' written in a pattern rule's prerequisites would be
# replaced by the stem before the second expansion)
fuzz_objs = $(patsubst %.c,$(BUILD)/fuzzobj/%.o,$($(1)_SRC))
.SECONDEXPANSION:
$(BUILD)/fuzzobj/%.o: %.c $(wildcard lib/*.h registry/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(REG_CFLAGS) -Iregistry -c -o $@ $<

$(BUILD)/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(LIBSLXD) \
		$$(call fuzz_objs,$$*)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer -Itests/fuzz -Iregistry $(REG_CFLAGS) -o $@ $< \
		$(patsubst %.c,$(BUILD)/fuzzobj/%.o,$($*_SRC)) $(LIBSLXD) $(LDFLAGS) $($*_LDLIBS) $(LDLIBS)

# (internal: run with the fuzzing BUILD/CC/CFLAGS below)
fuzz-build: $(FUZZ_BIN)

# Build (or bring up to date) every target in FUZZ_BUILD with clang.
# fuzzer-no-link: libslxd gets the coverage instrumentation, the targets
# link libFuzzer's main.
fuzz-targets:
	@$(MAKE) --no-print-directory CC=$(FUZZ_CC) BUILD=$(FUZZ_BUILD) \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -Wno-unknown-warning-option -fsanitize=fuzzer-no-link $(FUZZ_SAN)" \
		LDFLAGS="$(FUZZ_SAN)" fuzz-build

# Replay every seed once, no new inputs: fast and deterministic (for
# `make check`).  Fails on any crash, leak, sanitizer report or timeout.
fuzz-replay: fuzz-targets
	@set -e; for t in $(FUZZ_TARGETS); do \
		set -- tests/fuzz/corpus/$$t/*; \
		[ -e "$$1" ] || { echo "fuzz-replay: $$t has no seed corpus in tests/fuzz/corpus/$$t/" >&2; exit 1; }; \
		printf '== %-22s %3d inputs\n' $$t $$#; \
		$(FUZZ_BUILD)/fuzz/$$t $(FUZZ_OPTS) "$$@" >$(FUZZ_BUILD)/$$t.replay.log 2>&1 || \
			{ cat $(FUZZ_BUILD)/$$t.replay.log >&2; echo "fuzz-replay: $$t FAILED" >&2; exit 1; }; \
	done

# Fuzz each target for FUZZ_SECONDS, one process at a time.  New inputs go
# to build-fuzz/corpus/NAME/ (the seeds are only read); a crash stops and
# leaves its input in build-fuzz/artifacts/.  Keep a crash's input as a
# seed once the bug is fixed.
fuzz: fuzz-targets
	@set -e; mkdir -p $(FUZZ_BUILD)/artifacts; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t; \
		dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
		echo "== $$t ($(FUZZ_SECONDS) s)"; \
		$(FUZZ_BUILD)/fuzz/$$t $(FUZZ_OPTS) $$dict -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts/$$t- \
			$(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t 2>$(FUZZ_BUILD)/$$t.fuzz.log || \
			{ tail -60 $(FUZZ_BUILD)/$$t.fuzz.log >&2; echo "fuzz: $$t FAILED" >&2; exit 1; }; \
		grep -E '^stat::(number_of_executed_units|peak_rss_mb)|cov:' $(FUZZ_BUILD)/$$t.fuzz.log | tail -3; \
	done

# ---- Static analysis (docs/hardening.md) -------------------------------
# cppcheck and clang-tidy over every C file of the product (the registry's
# too, once it exists); checks in .clang-tidy, justified false positives
# in .cppcheck-suppressions.  Any finding fails.
LINT_SRC   = $(wildcard lib/*.c plugin/*.c helpers/*.c registry/*.c)
LINT_FLAGS = -std=gnu11 -Ilib $(if $(wildcard registry/*.h),-Iregistry) \
	     $(shell pkg-config --cflags $(PKGS)) $(shell pkg-config --cflags sqlite3 2>/dev/null)
CLANG_TIDY ?= clang-tidy
CPPCHECK   ?= cppcheck

lint: format-check
	$(CPPCHECK) --quiet --error-exitcode=1 --std=c11 --platform=unix64 --library=posix \
		--library=lint/jansson.cfg \
		--enable=warning,style,performance,portability \
		--suppressions-list=.cppcheck-suppressions --template=gcc -Ilib $(LINT_SRC)
	@set -e; for f in $(LINT_SRC); do \
		echo "clang-tidy $$f"; \
		$(CLANG_TIDY) --quiet $$f -- $(LINT_FLAGS) 2>/dev/null || \
			{ $(CLANG_TIDY) --quiet $$f -- $(LINT_FLAGS); exit 1; }; \
	done

# ---- Valgrind (docs/hardening.md) --------------------------------------
# The unit tests (the plain build, not the sanitizer one) and the helpers
# that run without a cluster, under memcheck: any report fails.
VALGRIND ?= valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,possible \
	--suppressions=tests/valgrind/forked-child.supp

valgrind: $(UNIT_BIN) $(EPILOG)
	@set -e; for t in $(UNIT_BIN); do \
		echo "== valgrind $$t"; \
		$(VALGRIND) $$t >$$t.valgrind.log 2>&1 && ! grep -qE '^==[0-9]+==' $$t.valgrind.log || \
			{ cat $$t.valgrind.log >&2; echo "valgrind: $$t FAILED" >&2; exit 1; }; \
	done
	bash tests/valgrind/helpers.sh $(BUILD)

# ---- Hardening of the built programs (docs/hardening.md) ---------------
# Every file `make install` installs from build/, checked with readelf for
# PIE, full RELRO, stack protector, FORTIFY and a non-executable stack;
# first the check's self-test (weak builds it must catch, with $(CC)).
HARDEN_BIN := $(PLUGIN) $(HELPERS) $(REGISTRYD) $(REGCLI)

hardening-check: $(HARDEN_BIN)
	@CC="$(CC)" bash tests/hardening/check.sh --self-test
	@bash tests/hardening/check.sh $(HARDEN_BIN)
	@bash tests/hardening/exports.sh $(PLUGIN)

# ---- Manual pages ------------------------------------------------------
# Every page under man/ through groff with all warnings: any warning fails;
# its .TH names this VERSION.
man-check:
	@set -e; for p in $(MAN1) $(MAN8); do \
		out=$$(groff -man -ww -z $$p 2>&1); \
		if [ -n "$$out" ]; then echo "$$out" >&2; echo "man-check: $$p FAILED" >&2; exit 1; fi; \
		sed -n '/^\.TH /{p;q}' $$p | grep -qF ' "slurm-lxd $(VERSION)" ' || \
			{ echo "man-check: $$p: .TH does not name \"slurm-lxd $(VERSION)\"" >&2; exit 1; }; \
		echo "ok $$p"; \
	done

# ---- systemd --------------------------------------------------------------
# The units verify and are sandboxed (exposure <= 2.5, offline); the
# registry speaks Type=notify and logs once to the journal (tests/systemd/).
systemd-check: $(REGISTRYD)
	bash tests/systemd/run.sh $(BUILD)

# ---- Versions -------------------------------------------------------------
# --version of every command, debian/changelog, the User-Agent to LXD and
# to the registry (that one needs munged: after the cluster in `check`).
version-check: all
	bash tests/version/check.sh $(VERSION) $(BUILD)

# ---- Licence -------------------------------------------------------------
# Every source, script, man page and config file we ship carries its SPDX
# line (GPL-2.0-or-later, Slurm's licence; LICENSE holds the text).
SPDX_FILES = $(shell git ls-files '*.c' '*.h' '*.sh' '*.py' '*.gp' 'man/*' 'etc/*' \
	     'tests/cluster/*.in' Makefile debian/rules .ci/run 2>/dev/null)
# One formatting style (.clang-format: kernel/crun-like), checked, never
# hand-argued: `make format` applies it, `make format-check` fails on any
# difference (in make check and make lint).
CLANG_FORMAT ?= clang-format
FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find lib plugin helpers registry tests -name '*.[ch]')

.PHONY: format format-check
format:
	$(CLANG_FORMAT) -i $(FORMAT_SRC)

format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRC) && echo "format-check: $(words $(FORMAT_SRC)) files as .clang-format says"

spdx-check:
	@missing=$$(for f in $(SPDX_FILES); do grep -q 'SPDX-License-Identifier: GPL-2.0-or-later' $$f || echo $$f; done); \
	if [ -n "$$missing" ]; then echo "spdx-check: no SPDX line in:" $$missing >&2; exit 1; fi; \
	echo "spdx-check: $(words $(SPDX_FILES)) files, all GPL-2.0-or-later"

# ---- Other Slurm releases (README, Compatibility) ------------------------
# The plugin and slxd-gc (the only files that include Slurm's headers) built
# against Debian 13's Slurm 24.11 (its libslurm-dev and libslurm unpacked
# under build/compat/ by tests/compat/debian-slurm.sh; nothing is
# installed), and that plugin loaded as that slurmd would (test_plugin_abi:
# its plugin_version and its log line name 24.11).
# libslurm.so there needs a newer glibc than this machine's: the link
# checks that every Slurm function we call exists, not libslurm's own needs.
# compat-build-one builds against any SLURM_ROOT (tests/compat/git-slurm.sh
# lays one out from Slurm's git).
COMPAT_DIR   := build/compat
COMPAT_SUITE ?= trixie
compat-build:
	bash tests/compat/debian-slurm.sh $(COMPAT_SUITE) $(COMPAT_DIR)/slurm-$(COMPAT_SUITE)
	@$(MAKE) --no-print-directory compat-build-one SLURM_ROOT=$(COMPAT_DIR)/slurm-$(COMPAT_SUITE) COMPAT_NAME=$(COMPAT_SUITE)

compat-build-one:
	@test -f "$(SLURM_ROOT)/usr/include/slurm/slurm_version.h" || { echo "compat-build-one: SLURM_ROOT=$(SLURM_ROOT) holds no usr/include/slurm/slurm_version.h" >&2; exit 1; }
	$(MAKE) --no-print-directory BUILD=$(COMPAT_DIR)/build-$(COMPAT_NAME) SLURM_CFLAGS=-I$(abspath $(SLURM_ROOT))/usr/include \
		$(COMPAT_DIR)/build-$(COMPAT_NAME)/spank_lxd.so $(COMPAT_DIR)/build-$(COMPAT_NAME)/tests/test_plugin_abi
	$(COMPAT_DIR)/build-$(COMPAT_NAME)/tests/test_plugin_abi
	@if [ -e "$(SLURM_ROOT)/usr/lib/$(MULTIARCH)/libslurm.so" ]; then \
		$(MAKE) --no-print-directory BUILD=$(COMPAT_DIR)/build-$(COMPAT_NAME) SLURM_CFLAGS=-I$(abspath $(SLURM_ROOT))/usr/include \
			SLURM_LDFLAGS="-L$(abspath $(SLURM_ROOT))/usr/lib/$(MULTIARCH) -Wl,--allow-shlib-undefined" \
			$(COMPAT_DIR)/build-$(COMPAT_NAME)/slxd-gc; \
	else \
		echo "compat-build-one: no libslurm.so in $(SLURM_ROOT): slxd-gc compiled, not linked"; \
		$(CC) $(CFLAGS) -I$(abspath $(SLURM_ROOT))/usr/include -c -o $(COMPAT_DIR)/build-$(COMPAT_NAME)/slxd-gc.o helpers/slxd-gc.c; \
	fi
	@v=$$(awk '$$2 == "SLURM_VERSION_NUMBER" {print $$3}' $(SLURM_ROOT)/usr/include/slurm/slurm_version.h); \
		printf 'compat-build-one: built against Slurm %d.%02d.%d (%s)\n' $$(($$v >> 16)) $$((($$v >> 8) & 255)) $$(($$v & 255)) $(SLURM_ROOT)

# The Slurm 24.11 lane (docs/testing.md): Debian 13's slurmctld and slurmd
# in a Debian 13 root of their own (cached under /var/lib/slxd-2411), with
# slurm-lxd built there, and the core, teardown and registry integration
# cases run against it.  Needs the one-node cluster (its LXD, registry and
# MUNGE): after tests/cluster/setup.sh.
check-compat: compat-build
	bash tests/compat/lane.sh check

# Debian packages needed to build and test (root; skips what is there).
deps:
	bash tests/cluster/setup.sh --packages-only

# RUNTIME=incus: the one-node cluster runs its jobs on Incus
# (tests/cluster/incus.sh); the node goes back to LXD at the end.
RUNTIME ?= lxd
# make check's Incus lane: the whole one-node suite (INCUS_CASES='a|b'
# for some of its cases; docs/testing.md)
INCUS_CASES ?=
integration: all
	SLXD_RUNTIME=$(RUNTIME) bash tests/integration/run.sh

integration-incus: all
	SLXD_RUNTIME=incus bash tests/integration/run.sh '$(INCUS_CASES)'

# The multi-node lane: its own emulated cluster (tests/cluster/nodes.sh).
integration-multinode: all
	bash tests/integration/multinode.sh

# A real NVIDIA GPU in a job's container on the one-node cluster (set up
# for GPUs: docs/admin-guide.md); elsewhere it says it was skipped and why.
.PHONY: check-gpu
check-gpu: all
	bash tests/gpu/check-gpu.sh

# Everything, in order, from a fresh Debian 12 machine (as root).
# The cluster comes up first: some unit tests use the real munged.
check: deps
	$(MAKE) spdx-check
	$(MAKE) format-check
	$(MAKE) all
	$(MAKE) compat-build
	$(MAKE) hardening-check
	bash tests/cluster/setup.sh
	$(MAKE) unit
	$(MAKE) unit-san
	$(MAKE) valgrind
	$(MAKE) fuzz-replay
	$(MAKE) man-check
	$(MAKE) rpm
	$(MAKE) version-check
	$(MAKE) systemd-check
	$(MAKE) integration
	$(MAKE) check-compat
	$(MAKE) integration-incus
	$(MAKE) integration-multinode
	$(MAKE) package-check

# NODES=N: the emulated multi-node cluster (tests/cluster/nodes.sh) instead.
demo: deps
	$(MAKE) all
	$(if $(NODES),NODES=$(NODES) bash tests/cluster/demo-nodes.sh,SLXD_RUNTIME=$(RUNTIME) bash tests/cluster/demo.sh)

bench: deps
	bash bench/deps.sh
	$(MAKE) all
	bash bench/run.sh

install: all
	install -D -m 0755 $(PLUGIN) $(DESTDIR)$(SLURM_PLUGIN_DIR)/spank_lxd.so
	install -D -m 0755 $(INIT) $(DESTDIR)$(LIBEXECDIR)/slxd-init
	install -D -m 0755 $(IMGCHECK) $(DESTDIR)$(LIBEXECDIR)/slxd-imagecheck
	install -D -m 0755 $(EPILOG) $(DESTDIR)$(SBINDIR)/slxd-epilog
	install -D -m 0755 $(GC) $(DESTDIR)$(SBINDIR)/slxd-gc
	install -D -m 0755 $(PROLOG) $(DESTDIR)$(SBINDIR)/slxd-prolog
	install -D -m 0755 $(REGISTRYD) $(DESTDIR)$(SBINDIR)/slxd-registryd
	install -D -m 0644 etc/registryd.conf.example $(DESTDIR)$(SYSCONFDIR)/slurm-lxd/registryd.conf.example
	sed 's,/usr/local/sbin,$(SBINDIR),' etc/slxd-registryd.service >$(BUILD)/slxd-registryd.service
	install -D -m 0644 $(BUILD)/slxd-registryd.service $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-registryd.service
	install -D -m 0755 $(REGCLI) $(DESTDIR)$(PREFIX)/bin/slxd-registry
	install -D -m 0644 etc/spank_lxd.conf $(DESTDIR)$(SYSCONFDIR)/slurm/spank_lxd.conf.example
	install -D -m 0644 etc/plugstack.conf.example $(DESTDIR)$(SYSCONFDIR)/slurm/plugstack.conf.d/lxd.conf.example
	install -D -m 0644 etc/lxd-images.conf.example $(DESTDIR)$(SYSCONFDIR)/slurm/lxd-images.conf.example
	sed 's,/usr/local/sbin,$(SBINDIR),' etc/slxd-gc.service >$(BUILD)/slxd-gc.service
	install -D -m 0644 $(BUILD)/slxd-gc.service $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-gc.service
	install -D -m 0644 etc/slxd-gc.timer $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-gc.timer
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	@for u in slxd-gc.service slxd-gc.timer slxd-registryd.service; do \
		[ "$(SYSTEMDUNITDIR)" = /etc/systemd/system ] || [ ! -e $(DESTDIR)/etc/systemd/system/$$u ] || \
		echo "make install: note: /etc/systemd/system/$$u (an earlier make install's?) overrides $(SYSTEMDUNITDIR)/$$u: remove it if it is not yours" >&2; \
	done

uninstall:
	rm -f $(DESTDIR)$(SLURM_PLUGIN_DIR)/spank_lxd.so $(DESTDIR)$(LIBEXECDIR)/slxd-init \
	      $(DESTDIR)$(LIBEXECDIR)/slxd-imagecheck \
	      $(DESTDIR)$(SBINDIR)/slxd-epilog $(DESTDIR)$(SBINDIR)/slxd-gc \
	      $(DESTDIR)$(SBINDIR)/slxd-prolog $(DESTDIR)$(SBINDIR)/slxd-registryd \
	      $(DESTDIR)$(PREFIX)/bin/slxd-registry \
	      $(DESTDIR)$(SYSCONFDIR)/slurm-lxd/registryd.conf.example \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-registryd.service \
	      $(DESTDIR)$(SYSCONFDIR)/slurm/spank_lxd.conf.example \
	      $(DESTDIR)$(SYSCONFDIR)/slurm/plugstack.conf.d/lxd.conf.example \
	      $(DESTDIR)$(SYSCONFDIR)/slurm/lxd-images.conf.example \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-gc.service $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-gc.timer
	rm -f $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%) $(MAN8:man/%=$(DESTDIR)$(MANDIR)/man8/%)
	-rmdir $(DESTDIR)$(LIBEXECDIR)

clean:
	rm -rf build build-san build-fuzz

# Debian packages (debian/; Debian 12 with debhelper, dpkg-dev, fakeroot and
# the Build-Depends installed): built in a copy of this tree under
# build/deb-src/, so the tree itself is not touched; the .deb files end up
# in build/deb/.  No tests run (see debian/rules).
DEB_SRC := build/deb-src
deb:
	rm -rf $(DEB_SRC) build/deb
	mkdir -p $(DEB_SRC)/slurm-lxd build/deb
	tar -c --exclude=./.git --exclude=./build --exclude=./build-san --exclude=./build-fuzz \
		--exclude=./debian/tmp --exclude=./debian/.debhelper . | tar -x -C $(DEB_SRC)/slurm-lxd
	cd $(DEB_SRC)/slurm-lxd && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL dpkg-buildpackage -us -uc -b
	mv $(DEB_SRC)/*.deb $(DEB_SRC)/*.buildinfo $(DEB_SRC)/*.changes build/deb/
	@ls -1 build/deb/*.deb

# RPMs for EL9 (packaging/rpm/slurm-lxd.spec) with rpmbuild (Debian
# package rpm), from a tarball of this tree; the .rpm files end up in
# build/rpm/.  On a Debian host the EL BuildRequires cannot be checked
# (--nodeps) and there are no debuginfo tools: the RPMs are built from
# Debian's libraries, to check the spec, not to install.
RPM_TOP := build/rpmbuild
rpm:
	rm -rf $(RPM_TOP) build/rpm
	mkdir -p $(RPM_TOP)/SOURCES build/rpm
	tar -c --exclude=./.git --exclude=./build --exclude=./build-san --exclude=./build-fuzz \
		--exclude=./debian/tmp --transform 's,^\.,slurm-lxd-$(VERSION),' . | \
		gzip -n >$(RPM_TOP)/SOURCES/slurm-lxd-$(VERSION).tar.gz
	cp packaging/rpm/slurm-lxd-registry.sysusers $(RPM_TOP)/SOURCES/
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL rpmbuild -bb --define '_topdir $(abspath $(RPM_TOP))' \
		--define '_smp_mflags -j1' \
		$(if $(wildcard /etc/debian_version),--nodeps --define 'debug_package %{nil}') \
		packaging/rpm/slurm-lxd.spec >$(RPM_TOP)/build.log 2>&1 || \
		{ tail -40 $(RPM_TOP)/build.log >&2; echo "rpm: rpmbuild failed ($(RPM_TOP)/build.log)" >&2; exit 1; }
	find $(RPM_TOP)/RPMS -name '*.rpm' -exec mv {} build/rpm/ \;
	@ls -1 build/rpm/*.rpm
	bash tests/packaging/rpm-check.sh build/rpm

# Build the packages, install them on the test cluster, run one container
# job with the packaged plugin, purge them and check nothing is left
# (tests/packaging/run.sh; it puts the `make install` files and the
# plugstack line back).  After `integration` in `check`: it swaps the
# node's plugin for a while.
package-check: deb
	bash tests/packaging/run.sh
