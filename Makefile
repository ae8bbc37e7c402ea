# slurm-lxd — plain GNU make.  `make` builds, `make check` tests everything
# (setting up a one-node cluster as root), `make demo` shows a job.

PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
DESTDIR     ?=
MULTIARCH   := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
# Slurm's Debian packages put plugins here; override with SLURM_PLUGIN_DIR=.
SLURM_PLUGIN_DIR ?= $(shell pkg-config --variable=libdir slurm 2>/dev/null | sed 's,$$,/slurm,' | grep . || echo /usr/lib/$(MULTIARCH)/slurm-wlm)
LIBEXECDIR  ?= $(PREFIX)/libexec/slurm-lxd

CC      ?= cc
PKGS    := libcurl jansson libcrypto munge
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection
CFLAGS  ?= -O2 -g
override CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation \
           -fPIC $(HARDEN) -Ilib $(shell pkg-config --cflags $(PKGS))
LDLIBS  := $(shell pkg-config --libs $(PKGS))
override LDFLAGS += -Wl,-z,relro,-z,now

BUILD   ?= build
LIB_SRC := $(wildcard lib/*.c)
LIB_OBJ := $(LIB_SRC:lib/%.c=$(BUILD)/lib/%.o)
LIBSLXD := $(BUILD)/libslxd.a

PLUGIN  := $(BUILD)/spank_lxd.so
INIT    := $(BUILD)/slxd-init
EPILOG  := $(BUILD)/slxd-epilog
HELPERS := $(INIT) $(EPILOG)
REGCLI  := $(BUILD)/slxd-registry
SBINDIR ?= $(PREFIX)/sbin

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# fake_registry.c needs libmicrohttpd: only the registry client tests link it.
UNIT_SUPPORT := $(filter-out $(UNIT_SRC) tests/unit/fake_registry.c,$(wildcard tests/unit/*.c))
MHD_LIBS  = $(shell pkg-config --libs libmicrohttpd)

.PHONY: all deps install uninstall unit unit-san check integration demo clean bench
all: $(PLUGIN) $(HELPERS) $(REGCLI)

$(BUILD)/lib/%.o: lib/%.c $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(LIBSLXD): $(LIB_OBJ)
	$(AR) rcs $@ $^

$(PLUGIN): plugin/spank_lxd.c $(LIBSLXD)
	$(CC) $(CFLAGS) -shared -o $@ $< $(LIBSLXD) $(LDFLAGS) $(LDLIBS)

# The container's init: static so it runs in any image, tiny so it is
# obviously harmless (it runs as the container's root).
$(INIT): helpers/slxd-init.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -fPIC,$(CFLAGS)) -static -o $@ $< $(LDFLAGS)

# Programs are position-independent executables (full RELRO via LDFLAGS).
$(BUILD)/slxd-%: helpers/slxd-%.c $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(LIBSLXD) $(LDFLAGS) $(LDLIBS)

# The user's and admin's command for the registry (runs as the user).
$(REGCLI): registry/slxd-registry.c $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(LIBSLXD) $(LDFLAGS) $(LDLIBS)

# Registry client tests: a fake registry service (libmicrohttpd); the CLI
# test compiles registry/slxd-registry.c in.
$(BUILD)/tests/test_registry_client_cli: registry/slxd-registry.c
$(BUILD)/tests/test_registry_%: tests/unit/test_registry_%.c tests/unit/fake_registry.c \
		$(UNIT_SUPPORT) $(wildcard tests/unit/*.h) $(LIBSLXD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(shell pkg-config --cflags libmicrohttpd) -Itests/unit -o $@ $< tests/unit/fake_registry.c \
		$(UNIT_SUPPORT) $(LIBSLXD) $(LDFLAGS) $(LDLIBS) $(MHD_LIBS) -lcmocka -lpthread

$(BUILD)/tests/%: tests/unit/%.c $(UNIT_SUPPORT) $(wildcard tests/unit/*.h) $(LIBSLXD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(UNIT_SUPPORT) $(LIBSLXD) $(LDFLAGS) $(LDLIBS) -lcmocka -lpthread

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

# The same unit tests under AddressSanitizer and UndefinedBehaviorSanitizer.
unit-san:
	$(MAKE) BUILD=build-san CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	        LDFLAGS="-fsanitize=address,undefined" unit

# Debian packages needed to build and test (root; skips what is there).
deps:
	bash tests/cluster/setup.sh --packages-only

integration: all
	bash tests/integration/run.sh

# Everything, in order, from a fresh Debian 12 machine (as root).
# The cluster comes up first: some unit tests use the real munged.
check: deps
	$(MAKE) all
	bash tests/cluster/setup.sh
	$(MAKE) unit
	$(MAKE) unit-san
	$(MAKE) integration

demo: deps
	$(MAKE) all
	bash tests/cluster/demo.sh

bench: deps
	$(MAKE) all
	bash bench/run.sh

install: all
	install -D -m 0755 $(PLUGIN) $(DESTDIR)$(SLURM_PLUGIN_DIR)/spank_lxd.so
	install -D -m 0755 $(INIT) $(DESTDIR)$(LIBEXECDIR)/slxd-init
	install -D -m 0755 $(EPILOG) $(DESTDIR)$(SBINDIR)/slxd-epilog
	install -D -m 0755 $(REGCLI) $(DESTDIR)$(PREFIX)/bin/slxd-registry
	install -D -m 0644 etc/spank_lxd.conf $(DESTDIR)$(SYSCONFDIR)/slurm/spank_lxd.conf.example
	install -D -m 0644 etc/plugstack.conf.example $(DESTDIR)$(SYSCONFDIR)/slurm/plugstack.conf.d/lxd.conf.example
	install -D -m 0644 etc/lxd-images.conf.example $(DESTDIR)$(SYSCONFDIR)/slurm/lxd-images.conf.example

uninstall:
	rm -f $(DESTDIR)$(SLURM_PLUGIN_DIR)/spank_lxd.so $(DESTDIR)$(LIBEXECDIR)/slxd-init \
	      $(DESTDIR)$(SBINDIR)/slxd-epilog $(DESTDIR)$(PREFIX)/bin/slxd-registry \
	      $(DESTDIR)$(SYSCONFDIR)/slurm/spank_lxd.conf.example \
	      $(DESTDIR)$(SYSCONFDIR)/slurm/plugstack.conf.d/lxd.conf.example \
	      $(DESTDIR)$(SYSCONFDIR)/slurm/lxd-images.conf.example
	-rmdir $(DESTDIR)$(LIBEXECDIR)

clean:
	rm -rf build build-san
