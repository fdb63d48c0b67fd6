# apgate - one plain Makefile (STYLE 19). `make help` lists the targets.
#
#   make            build apgated, apgatectl and the test peers
#   make test       install what is missing, build, run every test
#   make asan       the same tests under AddressSanitizer + UBSan
#   make demo       the namespace lab with real hostapd and apgated on it
#   make bench      benchmarks; they print their figures

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=

PKGS     := libevent jansson inih sqlite3
TEST_PKG := cmocka
IPTC_PKG := libiptc
NL_PKG   := libnl-3.0 libnl-route-3.0

WARN    := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wformat=2 -Wno-format-nonliteral -Wvla
CFLAGS  ?= -O2 -g
VERSION := 0.1.0
CFLAGS  += -DAPGATE_VERSION=\"$(VERSION)\"
PORTALDIR ?= $(PREFIX)/share/apgate/portal
CFLAGS  += -DAPGATE_PORTAL_DIR=\"$(PORTALDIR)\"
CFLAGS  += -std=c11 -D_GNU_SOURCE -fno-strict-aliasing $(WARN) -MMD -MP \
           -Icontroller -Icontroller/core -Ihostapd-conf
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_CFLAGS = $(shell pkg-config --cflags $(TEST_PKG) 2>/dev/null)
CMOCKA_LIBS   = $(shell pkg-config --libs $(TEST_PKG) 2>/dev/null)
IPTC_LIBS     = $(shell pkg-config --libs $(IPTC_PKG) 2>/dev/null)
NL_CFLAGS     = $(shell pkg-config --cflags $(NL_PKG) 2>/dev/null)
NL_LIBS       = $(shell pkg-config --libs $(NL_PKG) 2>/dev/null)
CRYPTO_LIBS   = $(shell pkg-config --libs libcrypto 2>/dev/null)
QR_LIBS       = $(shell pkg-config --libs libqrencode 2>/dev/null)
SODIUM_LIBS   = $(shell pkg-config --libs libsodium 2>/dev/null)
SSL_LIBS      = $(shell pkg-config --libs libevent_openssl libssl 2>/dev/null)
SYSTEMD_LIBS  = $(shell pkg-config --libs libsystemd 2>/dev/null)

ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# ---- modules (one .c/.h pair each; includes go downward only) ----
CORE_SRC  := controller/core/util.c controller/core/log.c controller/core/mac.c
CFG_SRC   := controller/core/cfg.c
REG_SRC   := controller/model/reg.c
OUI_SRC   := controller/model/oui.c
POLICY_SRC := controller/model/policy.c
HAPD_SRC  := controller/io/hapd_ev.c controller/io/hapd.c
DNSM_SRC  := controller/io/dnsm.c
CTL_SRC   = controller/ctl/ctl.c controller/ctl/ctl_acl.c controller/ctl/ctl_repair.c \
            controller/ctl/ctl_keys.c controller/ctl/ctl_ports.c controller/model/place.c \
            $(WPORT_SRC) $(HFILES_SRC)
FW_SRC    := controller/io/fw.c controller/io/fw_plan.c
FW_IPTC_SRC := $(FW_SRC) controller/io/fw_iptc.c
FRONT_SRC = controller/front/adm.c controller/front/captive.c controller/front/staff.c \
            controller/front/web.c controller/front/auth.c controller/model/guess.c $(TLS_SRC) $(QR_SRC)
WEB_LIBS  = $(SSL_LIBS) $(CRYPTO_LIBS) $(SODIUM_LIBS) $(QR_LIBS)
NL_SRC    := controller/io/nl.c controller/io/nlsock.c
WPORT_SRC := controller/io/wport.c controller/io/nlsock.c
HFILES_SRC := controller/io/hfiles.c
QR_SRC    := controller/core/qr.c
TLS_SRC   := controller/front/tls.c
SDN_SRC   := controller/io/sdnotify.c

DAEMON_SRC := controller/main.c $(CORE_SRC) $(CFG_SRC) $(REG_SRC) $(OUI_SRC) \
              $(POLICY_SRC) $(HAPD_SRC) $(FW_IPTC_SRC) $(NL_SRC) $(DNSM_SRC) $(CTL_SRC) $(FRONT_SRC) \
              $(WPORT_SRC)
DAEMON_SRC += $(HFILES_SRC) $(QR_SRC)
DAEMON_SRC += $(SDN_SRC)
CLI_SRC    := controller/cli/apgatectl.c $(CORE_SRC)
CLI_SRC    += $(QR_SRC)
DHCP_SCRIPT_SRC := controller/cli/apgate-dhcp-script.c
HCONF_SRC  := hostapd-conf/gen.c
HCONF_BIN_SRC := hostapd-conf/apgate-hostapd-conf.c $(HCONF_SRC) $(CORE_SRC) $(CFG_SRC)
HCONF_BIN_SRC += $(HFILES_SRC)
PEER_SRC   := tests/peer/fakehapd.c tests/peer/hapd_peer.c $(CORE_SRC)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

# ---- unit tests: each links only the module it tests (plus core) ----
UNIT_TESTS := test_captive test_policy test_mac test_cfg test_hapd_ev test_hapd_conn test_reg test_oui test_adm test_dnsm
UNIT_TESTS += test_fw test_fw_iptc
UNIT_TESTS += test_brport
UNIT_TESTS += test_wport
UNIT_TESTS += test_hconf
UNIT_TESTS += test_ctl_acl test_ctl_repair test_place
UNIT_TESTS += test_hfiles test_qr
UNIT_TESTS += test_tls
UNIT_TESTS += test_auth test_web
test_captive_SRC   = tests/unit/test_captive.c $(CORE_SRC) $(CFG_SRC) $(REG_SRC) $(OUI_SRC) $(POLICY_SRC) \
                      $(HAPD_SRC) $(FW_SRC) $(DNSM_SRC) $(CTL_SRC) controller/front/captive.c \
                      controller/front/web.c controller/front/auth.c $(QR_SRC)
test_captive_LIBS  = $(NL_LIBS) $(WEB_LIBS)
test_policy_SRC    := tests/unit/test_policy.c $(POLICY_SRC)
test_mac_SRC       := tests/unit/test_mac.c $(CORE_SRC)
test_cfg_SRC       := tests/unit/test_cfg.c $(CORE_SRC) $(CFG_SRC)
test_hapd_ev_SRC   := tests/unit/test_hapd_ev.c $(CORE_SRC) controller/io/hapd_ev.c
test_hapd_conn_SRC := tests/unit/test_hapd_conn.c tests/peer/hapd_peer.c $(CORE_SRC) $(HAPD_SRC)
test_reg_SRC       := tests/unit/test_reg.c $(CORE_SRC) $(REG_SRC)
test_dnsm_SRC      := tests/unit/test_dnsm.c $(CORE_SRC) $(DNSM_SRC)
test_oui_SRC       := tests/unit/test_oui.c $(CORE_SRC) $(OUI_SRC)
test_adm_SRC       := tests/unit/test_adm.c $(CORE_SRC) $(CFG_SRC) $(REG_SRC) $(OUI_SRC) $(POLICY_SRC) \
                      $(HAPD_SRC) $(FW_SRC) $(DNSM_SRC) $(CTL_SRC) $(FRONT_SRC)
test_adm_LIBS      = $(NL_LIBS) $(WEB_LIBS)
test_fw_SRC        := tests/unit/test_fw.c $(CORE_SRC) $(FW_SRC)
test_fw_iptc_SRC   := tests/unit/test_fw_iptc.c $(CORE_SRC) $(FW_IPTC_SRC)
test_fw_iptc_LIBS  := $(IPTC_LIBS)
test_brport_SRC    := tests/unit/test_brport.c $(CORE_SRC) $(NL_SRC)
test_brport_LIBS   := $(NL_LIBS)
test_wport_SRC     := tests/unit/test_wport.c $(CORE_SRC) $(WPORT_SRC)
test_wport_LIBS    := $(NL_LIBS)
test_hconf_SRC     := tests/unit/test_hconf.c $(CORE_SRC) $(CFG_SRC) $(HCONF_SRC)
test_hfiles_SRC    := tests/unit/test_hfiles.c $(CORE_SRC) $(HFILES_SRC)
test_hfiles_LIBS   := $(CRYPTO_LIBS)
test_qr_SRC        := tests/unit/test_qr.c $(CORE_SRC) $(QR_SRC)
test_qr_LIBS       := $(QR_LIBS)
test_tls_SRC       := tests/unit/test_tls.c $(CORE_SRC) $(TLS_SRC)
test_tls_LIBS      := $(SSL_LIBS) $(CRYPTO_LIBS)
test_ctl_acl_SRC   := tests/unit/test_ctl_acl.c tests/peer/hapd_peer.c $(CORE_SRC) $(CFG_SRC) $(REG_SRC) \
                      $(OUI_SRC) $(POLICY_SRC) $(HAPD_SRC) $(FW_SRC) $(DNSM_SRC) $(CTL_SRC)
test_ctl_acl_LIBS  := $(NL_LIBS) $(CRYPTO_LIBS)
test_ctl_repair_SRC  := $(subst test_ctl_acl.c,test_ctl_repair.c,$(test_ctl_acl_SRC))
test_ctl_repair_LIBS := $(NL_LIBS) $(CRYPTO_LIBS)
test_auth_SRC      := tests/unit/test_auth.c $(CORE_SRC) controller/front/auth.c
test_auth_LIBS     := $(SODIUM_LIBS)
test_web_SRC       := tests/unit/test_web.c $(CORE_SRC) controller/front/web.c
test_place_SRC     := tests/unit/test_place.c controller/model/place.c $(POLICY_SRC) $(CORE_SRC) $(CFG_SRC)

BINS := $(BUILD)/apgated $(BUILD)/apgatectl $(BUILD)/fakehapd $(BUILD)/apgate-dhcp-script \
        $(BUILD)/apgate-hostapd-conf
UNIT_BINS := $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))

.PHONY: all build tests deps deps-build deps-lab test unit lab asan bench demo demo-stop \
        clean install help
all: build
build: $(BINS)
tests: $(UNIT_BINS) $(BINS)
tests: $(BUILD)/tests/hfiles_tool

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(CMOCKA_CFLAGS) $(NL_CFLAGS) -c $< -o $@

$(BUILD)/apgated: $(call obj,$(DAEMON_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(IPTC_LIBS) $(NL_LIBS) $(WEB_LIBS) $(SYSTEMD_LIBS)
$(BUILD)/apgatectl: $(call obj,$(CLI_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(QR_LIBS) $(SODIUM_LIBS)
$(BUILD)/fakehapd: $(call obj,$(PEER_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/fw_bench: $(call obj,tests/bench/fw_bench.c $(CORE_SRC) $(FW_IPTC_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(IPTC_LIBS)
$(BUILD)/approve_e2e: $(call obj,tests/bench/approve_e2e.c)
	$(CC) $(LDFLAGS) -o $@ $^
$(BUILD)/repair_bench: $(call obj,tests/bench/repair_bench.c tests/peer/hapd_peer.c $(CORE_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/seed_registry: $(call obj,tests/bench/seed_registry.c $(REG_SRC) $(CORE_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/apgate-dhcp-script: $(call obj,$(DHCP_SCRIPT_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
$(BUILD)/apgate-hostapd-conf: $(call obj,$(HCONF_BIN_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CRYPTO_LIBS)
$(BUILD)/tests/hfiles_tool: $(call obj,tests/system/hfiles_tool.c $(CORE_SRC) $(HFILES_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(CRYPTO_LIBS)

define unit_rule
$(BUILD)/tests/$(1): $$(call obj,$$($(1)_SRC))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS) $$(CMOCKA_LIBS) $$($(1)_LIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

# ---- dependencies (idempotent: apt-get runs only for what is missing) ----
BUILD_DEBS := build-essential pkg-config libevent-dev libjansson-dev libinih-dev \
              libsqlite3-dev libcmocka-dev ieee-data libiptc-dev iptables \
              libnl-3-dev libnl-route-3-dev
BUILD_DEBS += libssl-dev libqrencode-dev
BUILD_DEBS += libsodium-dev
# sd_notify: READY/RELOADING/STOPPING and the watchdog under systemd
BUILD_DEBS += libsystemd-dev
LAB_DEBS   := hostapd wpasupplicant dnsmasq-base iproute2 sqlite3 procps busybox python3 \
              iptables curl
# make bench only: wrk drives the portal benchmark (tests/bench/portal_bench.sh)
BENCH_DEBS := wrk
deps-build:
	@tests/install-deps.sh $(BUILD_DEBS)
deps-lab:
	@tests/install-deps.sh $(LAB_DEBS)
deps: deps-build deps-lab

# ---- tests ----
test: deps
	$(MAKE) tests
	@tests/run.sh $(BUILD)

unit: tests
	@UNIT_ONLY=1 tests/run.sh $(BUILD)

asan: deps
	$(MAKE) BUILD=build-asan SAN=1 tests
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tests/run.sh build-asan

bench: deps
	@tests/install-deps.sh $(BENCH_DEBS)
	$(MAKE) build $(BUILD)/fw_bench $(BUILD)/approve_e2e $(BUILD)/repair_bench $(BUILD)/seed_registry
	@tests/bench/run.sh $(BUILD)

demo: deps
	$(MAKE) build
	@tests/lab/demo.sh start $(BUILD)

demo-stop:
	@tests/lab/demo.sh stop $(BUILD)

install: build
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/apgated $(DESTDIR)$(PREFIX)/sbin/apgated
	install -m 0755 $(BUILD)/apgatectl $(DESTDIR)$(PREFIX)/bin/apgatectl
	install -m 0755 $(BUILD)/apgate-hostapd-conf $(DESTDIR)$(PREFIX)/sbin/apgate-hostapd-conf
	install -d $(DESTDIR)$(PREFIX)/libexec/apgate
	install -m 0755 $(BUILD)/apgate-dhcp-script $(DESTDIR)$(PREFIX)/libexec/apgate/apgate-dhcp-script
	install -d $(DESTDIR)$(PORTALDIR)/static $(DESTDIR)$(PORTALDIR)/i18n
	install -m 0644 portal/static/* $(DESTDIR)$(PORTALDIR)/static/
	install -m 0644 portal/i18n/*.json $(DESTDIR)$(PORTALDIR)/i18n/

clean:
	rm -rf build build-asan

help:
	@sed -n 's/^#   //p' Makefile

-include $(shell find $(BUILD) build-asan -name '*.d' 2>/dev/null)
