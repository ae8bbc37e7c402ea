# slurm-lxd — plain GNU make.  `make` builds, `make check` tests everything
# (setting up a one-node cluster as root), `make demo` shows a job.

PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
DESTDIR     ?=
MULTIARCH   := $(shell dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || gcc -print-multiarch)
# Slurm's Debian packages put plugins here; override with SLURM_PLUGIN_DIR=.
SLURM_PLUGIN_DIR ?= $(shell pkg-config --variable=libdir slurm 2>/dev/null | sed 's,$$,/slurm,' | grep . || echo /usr/lib/$(MULTIARCH)/slurm-wlm)
LIBEXECDIR  ?= $(PREFIX)/libexec/slurm-lxd
SYSTEMDUNITDIR ?= /etc/systemd/system

CC      ?= cc
PKGS    := libcurl jansson libcrypto munge
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fstack-clash-protection
CFLAGS  ?= -O2 -g
override CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-format-truncation \
           -fPIC $(HARDEN) -Ilib $(shell pkg-config --cflags $(PKGS))
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
HELPERS := $(INIT) $(EPILOG) $(GC) $(PROLOG)
REGCLI  := $(BUILD)/slxd-registry
SBINDIR ?= $(PREFIX)/sbin

# The registry service: its own libraries, on its own link lines only (the
# SPANK plugin loads into slurmstepd and must not drag them in).
REG_PKGS     := sqlite3 libmicrohttpd libarchive jansson
REG_CFLAGS   := $(shell pkg-config --cflags $(REG_PKGS))
REG_LDLIBS   := $(shell pkg-config --libs $(REG_PKGS))
REG_OBJ      := $(patsubst registry/%.c,$(BUILD)/registry/%.o,registry/store.c registry/tarcheck.c registry/api.c registry/regconf.c)
REGISTRYD    := $(BUILD)/slxd-registryd

UNIT_SRC  := $(wildcard tests/unit/test_*.c)
UNIT_BIN  := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# fake_registry.c needs libmicrohttpd: only the registry client tests link it.
UNIT_SUPPORT := $(filter-out $(UNIT_SRC) tests/unit/fake_registry.c,$(wildcard tests/unit/*.c))
MHD_LIBS  = $(shell pkg-config --libs libmicrohttpd)

.PHONY: all deps install uninstall unit unit-san check integration demo clean bench registry
all: $(PLUGIN) $(HELPERS) registry

registry: $(REGISTRYD) $(REGCLI)

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

# The only program that asks slurmctld about jobs, so the only one linked
# against libslurm.
$(GC): helpers/slxd-gc.c $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(LIBSLXD) $(LDFLAGS) $(LDLIBS) -lslurm

$(BUILD)/registry/%.o: registry/%.c $(wildcard registry/*.h) $(wildcard lib/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(REG_CFLAGS) -c -o $@ $<

$(REGISTRYD): $(BUILD)/registry/slxd-registryd.o $(REG_OBJ) $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $^ $(LDFLAGS) $(REG_LDLIBS) $(LDLIBS) -lpthread

# Registry tests link the registry's objects and libraries; the end-to-end
# one runs the daemon, so it depends on it and is told where it is.
$(BUILD)/tests/test_registry_%: tests/unit/test_registry_%.c $(UNIT_SUPPORT) $(wildcard tests/unit/*.h) $(REG_OBJ) $(LIBSLXD) $(REGISTRYD)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(REG_CFLAGS) -Itests/unit -Iregistry -DSLXD_REGISTRYD='"$(abspath $(REGISTRYD))"' \
		-o $@ $< $(UNIT_SUPPORT) $(REG_OBJ) $(LIBSLXD) $(LDFLAGS) $(REG_LDLIBS) $(LDLIBS) -lcmocka -lpthread

# The user's and admin's command for the registry (runs as the user).
$(REGCLI): registry/slxd-registry.c $(LIBSLXD)
	$(CC) $(CFLAGS) -fPIE -pie -o $@ $< $(LIBSLXD) $(LDFLAGS) $(LDLIBS)

# Registry client tests (test_registry_client*, the more specific pattern):
# a fake registry service (libmicrohttpd); the CLI test compiles
# registry/slxd-registry.c in.
$(BUILD)/tests/test_registry_client_cli: registry/slxd-registry.c
REGCLIENT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_registry_client*.c))
$(REGCLIENT_TESTS): $(BUILD)/tests/%: tests/unit/%.c tests/unit/fake_registry.c \
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
	install -D -m 0755 $(GC) $(DESTDIR)$(SBINDIR)/slxd-gc
	install -D -m 0755 $(PROLOG) $(DESTDIR)$(SBINDIR)/slxd-prolog
	install -D -m 0755 $(REGISTRYD) $(DESTDIR)$(SBINDIR)/slxd-registryd
	install -D -m 0644 etc/registryd.conf.example $(DESTDIR)$(SYSCONFDIR)/slurm-lxd/registryd.conf.example
	install -D -m 0644 etc/slxd-registryd.service $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-registryd.service
	install -D -m 0755 $(REGCLI) $(DESTDIR)$(PREFIX)/bin/slxd-registry
	install -D -m 0644 etc/spank_lxd.conf $(DESTDIR)$(SYSCONFDIR)/slurm/spank_lxd.conf.example
	install -D -m 0644 etc/plugstack.conf.example $(DESTDIR)$(SYSCONFDIR)/slurm/plugstack.conf.d/lxd.conf.example
	install -D -m 0644 etc/lxd-images.conf.example $(DESTDIR)$(SYSCONFDIR)/slurm/lxd-images.conf.example
	sed 's,/usr/local/sbin,$(SBINDIR),' etc/slxd-gc.service >$(BUILD)/slxd-gc.service
	install -D -m 0644 $(BUILD)/slxd-gc.service $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-gc.service
	install -D -m 0644 etc/slxd-gc.timer $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-gc.timer

uninstall:
	rm -f $(DESTDIR)$(SLURM_PLUGIN_DIR)/spank_lxd.so $(DESTDIR)$(LIBEXECDIR)/slxd-init \
	      $(DESTDIR)$(SBINDIR)/slxd-epilog $(DESTDIR)$(SBINDIR)/slxd-gc \
	      $(DESTDIR)$(SBINDIR)/slxd-prolog $(DESTDIR)$(SBINDIR)/slxd-registryd \
	      $(DESTDIR)$(PREFIX)/bin/slxd-registry \
	      $(DESTDIR)$(SYSCONFDIR)/slurm-lxd/registryd.conf.example \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-registryd.service \
	      $(DESTDIR)$(SYSCONFDIR)/slurm/spank_lxd.conf.example \
	      $(DESTDIR)$(SYSCONFDIR)/slurm/plugstack.conf.d/lxd.conf.example \
	      $(DESTDIR)$(SYSCONFDIR)/slurm/lxd-images.conf.example \
	      $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-gc.service $(DESTDIR)$(SYSTEMDUNITDIR)/slxd-gc.timer
	-rmdir $(DESTDIR)$(LIBEXECDIR)

clean:
	rm -rf build build-san
