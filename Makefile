# apgate - one plain Makefile (STYLE 19). `make help` lists the targets.
#
#   make            build apgated, apgatectl and the test peers
#   make test       install what is missing, build, run every test
#   make asan       the same tests under AddressSanitizer + UBSan
#   make demo       the namespace lab with real hostapd and apgated on it
#   make bench      benchmarks; they print their figures
#   make soak       the 30-minute soak (tests/lab/test_soak.sh, SOAK_SECS=1800)
#   make fuzz       libFuzzer targets (clang) in build-fuzz/, each run FUZZ_SECS s

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=

PKGS     := libevent jansson inih sqlite3 libcurl
# apgated drops CAP_NET_ADMIN/CAP_NET_RAW after forking its privileged helper
CAPNG_LIBS = $(shell pkg-config --libs libcap-ng 2>/dev/null)
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
POLICIESDIR ?= $(PREFIX)/share/apgate/policies
CFLAGS  += -DAPGATE_POLICIES_DIR=\"$(POLICIESDIR)\"
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
# FUZZ=1 (with CC=clang BUILD=build-fuzz, as `make fuzz` sets): coverage for
# libFuzzer plus ASan/UBSan in every object; the fuzz_* links add libFuzzer's main
ifeq ($(FUZZ),1)
CFLAGS  += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=fuzzer,address,undefined
endif

# ---- modules (one .c/.h pair each; includes go downward only) ----
CORE_SRC  := controller/core/util.c controller/core/log.c controller/core/mac.c
CORE_SRC  += controller/core/csv.c
CFG_SRC   := controller/core/cfg.c
REG_SRC   := controller/model/reg.c
OUI_SRC   := controller/model/oui.c
POLICY_SRC := controller/model/policy.c
HAPD_SRC  := controller/io/hapd_ev.c controller/io/hapd.c
DNSM_SRC  := controller/io/dnsm.c
DNSLOG_SRC := controller/io/dnslog.c
NOTIFY_SRC := controller/io/notify.c
CTL_SRC   = controller/ctl/ctl.c controller/ctl/ctl_acl.c controller/ctl/ctl_repair.c \
            controller/ctl/ctl_keys.c controller/ctl/ctl_ports.c controller/ctl/ctl_alert.c controller/model/place.c \
            controller/ctl/ctl_check.c controller/ctl/ctl_unmanaged.c controller/io/fdb.c \
            controller/ctl/ctl_ident.c controller/ctl/ctl_auto.c controller/model/guess.c \
            controller/ctl/ctl_dns.c $(DNSLOG_SRC) $(NOTIFY_SRC) \
            $(WPORT_SRC) $(HFILES_SRC)
FW_SRC    := controller/io/fw.c controller/io/fw_plan.c
FW_IPTC_SRC := $(FW_SRC) controller/io/fw_iptc.c
FRONT_SRC = controller/front/adm.c controller/front/captive.c controller/front/staff.c \
            controller/front/web.c controller/front/auth.c $(TLS_SRC) $(QR_SRC)
WEB_LIBS  = $(SSL_LIBS) $(CRYPTO_LIBS) $(SODIUM_LIBS) $(QR_LIBS)
NL_SRC    := controller/io/nl.c controller/io/nlsock.c controller/io/linkw.c
WPORT_SRC := controller/io/wport.c controller/io/nlsock.c controller/io/linkw.c
HFILES_SRC := controller/io/hfiles.c
QR_SRC    := controller/core/qr.c
TLS_SRC   := controller/front/tls.c
SDN_SRC   := controller/io/sdnotify.c
PRIVD_SRC := controller/priv/privd.c
PRIV_SRC  := controller/priv/priv.c $(PRIVD_SRC) controller/io/linkw.c

DAEMON_SRC := controller/main.c $(CORE_SRC) $(CFG_SRC) $(REG_SRC) $(OUI_SRC) \
              $(POLICY_SRC) $(HAPD_SRC) $(FW_IPTC_SRC) $(NL_SRC) $(DNSM_SRC) $(CTL_SRC) $(FRONT_SRC) \
              $(WPORT_SRC)
DAEMON_SRC += $(HFILES_SRC) $(QR_SRC)
DAEMON_SRC += $(SDN_SRC)
DAEMON_SRC += $(PRIV_SRC)
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
UNIT_TESTS += test_ctl_fw
UNIT_TESTS += test_ctl_check
UNIT_TESTS += test_hfiles test_qr
UNIT_TESTS += test_tls
UNIT_TESTS += test_auth test_web
UNIT_TESTS += test_csv
UNIT_TESTS += test_dnslog test_notify
UNIT_TESTS += test_privd
UNIT_TESTS += test_guess
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
test_ctl_fw_SRC    := tests/unit/test_ctl_fw.c $(CORE_SRC) $(CFG_SRC) $(REG_SRC) $(OUI_SRC) $(POLICY_SRC) \
                      $(HAPD_SRC) $(FW_SRC) $(DNSM_SRC) $(CTL_SRC)
test_ctl_fw_LIBS   := $(NL_LIBS) $(CRYPTO_LIBS)
test_ctl_check_SRC := $(subst test_ctl_fw.c,test_ctl_check.c,$(test_ctl_fw_SRC))
test_ctl_check_LIBS := $(NL_LIBS) $(CRYPTO_LIBS)
test_privd_SRC     := tests/unit/test_privd.c $(CORE_SRC) $(CFG_SRC) $(FW_SRC) $(PRIVD_SRC)
test_auth_SRC      := tests/unit/test_auth.c $(CORE_SRC) controller/front/auth.c
test_auth_LIBS     := $(SODIUM_LIBS)
test_web_SRC       := tests/unit/test_web.c $(CORE_SRC) controller/front/web.c
test_csv_SRC       := tests/unit/test_csv.c $(CORE_SRC)
test_dnslog_SRC    := tests/unit/test_dnslog.c $(CORE_SRC) $(DNSLOG_SRC)
test_notify_SRC    := tests/unit/test_notify.c $(CORE_SRC) $(NOTIFY_SRC) $(DNSM_SRC)
test_guess_SRC     := tests/unit/test_guess.c $(CORE_SRC) $(REG_SRC) controller/model/guess.c
test_place_SRC     := tests/unit/test_place.c controller/model/place.c $(POLICY_SRC) $(CORE_SRC) $(CFG_SRC)

# ---- fuzz targets (tests/fuzz/, libFuzzer): one per parser of outside input ----
FUZZ_TARGETS := fuzz_hapd fuzz_cfg fuzz_adm fuzz_web fuzz_http fuzz_dhcp
fuzz_hapd_SRC := tests/fuzz/fuzz_hapd.c $(CORE_SRC) controller/io/hapd_ev.c
fuzz_cfg_SRC  := tests/fuzz/fuzz_cfg.c $(CORE_SRC) $(CFG_SRC)
fuzz_adm_SRC   = tests/fuzz/fuzz_adm.c $(CORE_SRC) $(CFG_SRC) $(REG_SRC) $(OUI_SRC) $(POLICY_SRC) \
                 $(HAPD_SRC) $(FW_SRC) $(DNSM_SRC) $(CTL_SRC) $(FRONT_SRC)
fuzz_adm_LIBS  = $(NL_LIBS) $(WEB_LIBS)
fuzz_web_SRC  := tests/fuzz/fuzz_web.c $(CORE_SRC) controller/front/web.c
fuzz_http_SRC := tests/fuzz/fuzz_http.c $(CORE_SRC) controller/front/web.c
fuzz_dhcp_SRC := tests/fuzz/fuzz_dhcp.c
FUZZ_TARGETS  += fuzz_priv
fuzz_priv_SRC := tests/fuzz/fuzz_priv.c $(CORE_SRC) $(CFG_SRC) $(FW_SRC) controller/priv/privd.c
FUZZ_TARGETS  += fuzz_guess
fuzz_guess_SRC := tests/fuzz/fuzz_guess.c $(CORE_SRC) $(REG_SRC) controller/model/guess.c
FUZZ_TARGETS  += fuzz_dnslog
fuzz_dnslog_SRC := tests/fuzz/fuzz_dnslog.c $(CORE_SRC) $(DNSLOG_SRC)
FUZZ_TARGETS  += fuzz_blocklist
fuzz_blocklist_SRC := tests/fuzz/fuzz_blocklist.c $(CORE_SRC) $(DNSM_SRC)
FUZZ_BUILD := build-fuzz
FUZZ_SECS  ?= 60

BINS := $(BUILD)/apgated $(BUILD)/apgatectl $(BUILD)/fakehapd $(BUILD)/apgate-dhcp-script \
        $(BUILD)/apgate-hostapd-conf
UNIT_BINS := $(addprefix $(BUILD)/tests/,$(UNIT_TESTS))

.PHONY: all build tests deps deps-build deps-lab deps-browser test unit lab asan bench demo demo-stop \
        clean install deb help FORCE
.PHONY: fuzz fuzz-bins deps-fuzz
.PHONY: soak
all: build
build: $(BINS)
tests: $(UNIT_BINS) $(BINS)
tests: $(BUILD)/tests/hfiles_tool
# test_soak times approvals with real packets through approve_e2e
tests: $(BUILD)/approve_e2e

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(CMOCKA_CFLAGS) $(NL_CFLAGS) -c $< -o $@

$(BUILD)/apgated: $(call obj,$(DAEMON_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS) $(IPTC_LIBS) $(NL_LIBS) $(WEB_LIBS) $(SYSTEMD_LIBS) $(CAPNG_LIBS)
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
tests: $(BUILD)/tests/reg_seed
$(BUILD)/tests/reg_seed: $(call obj,tests/system/reg_seed.c $(CORE_SRC) $(REG_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

define unit_rule
$(BUILD)/tests/$(1): $$(call obj,$$($(1)_SRC))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS) $$(CMOCKA_LIBS) $$($(1)_LIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

define fuzz_rule
$(BUILD)/fuzz/$(1): $$(call obj,$$($(1)_SRC))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(PKG_LIBS) $$($(1)_LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))
fuzz-bins: $(addprefix $(BUILD)/fuzz/,$(FUZZ_TARGETS))

# ---- dependencies (idempotent: apt-get runs only for what is missing) ----
BUILD_DEBS := build-essential pkg-config libevent-dev libjansson-dev libinih-dev \
              libsqlite3-dev libcmocka-dev ieee-data libiptc-dev iptables \
              libnl-3-dev libnl-route-3-dev
BUILD_DEBS += libssl-dev libqrencode-dev
BUILD_DEBS += libsodium-dev
# libcurl: alert webhooks (HTTP/HTTPS POST on the event loop through curl's multi interface)
BUILD_DEBS += libcurl4-openssl-dev
# sd_notify: READY/RELOADING/STOPPING and the watchdog under systemd
BUILD_DEBS += libsystemd-dev
# the privilege split: apgated drops CAP_NET_ADMIN/CAP_NET_RAW (controller/priv/)
BUILD_DEBS += libcap-ng-dev
LAB_DEBS   := hostapd wpasupplicant dnsmasq-base iproute2 sqlite3 procps busybox python3 \
              iptables curl
# wrk: the portal benchmark (tests/bench/portal_bench.sh) and the soak test's
# portal load (tests/lab/test_soak.sh)
LAB_DEBS   += wrk
BENCH_DEBS := wrk
# the browser test (tests/lab/test_portal_browser.sh): Debian's chromium, never
# a browser downloaded by playwright; a CJK font for the Japanese screenshots
BROWSER_DEBS := chromium fonts-ipafont-gothic
# node: the machine's if it is >= 18 (tests/browser/package.json engines),
# else Debian's nodejs + npm
NODE_DEBS  := nodejs npm
NODE_MIN   := 18
deps-build:
	@tests/install-deps.sh $(BUILD_DEBS)
deps-lab:
	@tests/install-deps.sh $(LAB_DEBS)
deps-browser:
	@tests/install-deps.sh $(BROWSER_DEBS)
	@node -e 'process.exit(+process.versions.node.split(".")[0] >= $(NODE_MIN) ? 0 : 1)' 2>/dev/null && \
	  command -v npm >/dev/null || tests/install-deps.sh $(NODE_DEBS)
	@$(MAKE) -s --no-print-directory tests/browser/node_modules/.package-lock.json
# npm ci only when node_modules is missing or older than the lock
tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json tests/browser/package.json
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix tests/browser --no-audit --no-fund
	@touch $@
# the fuzz targets (make fuzz, tests/system/test_fuzz_regress.sh): Debian's
# clang, whose compiler-rt has libFuzzer and the sanitizers
FUZZ_DEBS  := clang
deps-fuzz:
	@tests/install-deps.sh $(FUZZ_DEBS)
deps: deps-build deps-lab deps-browser deps-fuzz

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

# each target over its seed corpus (tests/fuzz/corpus/<target>, read only:
# new inputs go to build-fuzz/corpus/<target>), FUZZ_SECS seconds each
fuzz: deps-build deps-fuzz
	$(MAKE) CC=clang BUILD=$(FUZZ_BUILD) FUZZ=1 fuzz-bins
	@tests/fuzz/run.sh $(FUZZ_BUILD)/fuzz $(FUZZ_SECS) $(FUZZ_TARGETS)

bench: deps
	@tests/install-deps.sh $(BENCH_DEBS)
	$(MAKE) build $(BUILD)/fw_bench $(BUILD)/approve_e2e $(BUILD)/repair_bench $(BUILD)/seed_registry
	@tests/bench/run.sh $(BUILD)

# the soak test at full length (make test runs it for SOAK_SECS=40)
SOAK_SECS ?= 1800
soak: deps-build deps-lab
	$(MAKE) tests
	SOAK_SECS=$(SOAK_SECS) APGATE_BUILD=$(CURDIR)/$(BUILD) tests/lab/test_soak.sh

demo: deps
	$(MAKE) build
	@tests/lab/demo.sh start $(BUILD)

demo-stop:
	@tests/lab/demo.sh stop $(BUILD)

# ---- install (FHS) and the Debian package ----
# PREFIX=/usr is the system layout the package uses: /etc/apgate, /var/lib/apgate,
# units in /lib/systemd/system. Any other PREFIX (the default /usr/local, or a
# user's own directory) keeps everything under it: PREFIX/etc, PREFIX/var and
# PREFIX/lib/systemd/system, and the installed apgate.conf and units name the
# paths of that PREFIX. The compiled-in defaults follow PREFIX (PORTALDIR,
# POLICIESDIR, LIBEXECDIR); $(BUILD)/paths.stamp rebuilds what uses them when they change.
BINDIR     ?= $(PREFIX)/bin
SBINDIR    ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
ifeq ($(PREFIX),/usr)
SYSCONFDIR    ?= /etc
LOCALSTATEDIR ?= /var
UNITDIR       ?= /lib/systemd/system
else
SYSCONFDIR    ?= $(PREFIX)/etc
LOCALSTATEDIR ?= $(PREFIX)/var
UNITDIR       ?= $(PREFIX)/lib/systemd/system
endif
CFLAGS  += -DAPGATE_DHCP_SCRIPT=\"$(LIBEXECDIR)/apgate/apgate-dhcp-script\"
MAN5 := man/apgate.conf.5
MAN8 := man/apgated.8 man/apgatectl.8 man/apgate-hostapd-conf.8
# the units, drop-ins and anything else systemd/ holds (paths relative to it)
UNIT_FILES = $(patsubst systemd/%,%,$(shell find systemd -type f ! -name '*.md' ! -name 'README*' 2>/dev/null))
POLICY_FILES = $(filter-out policies/README.md,$(wildcard policies/*))
# the installed config and units name this PREFIX's paths (identity for /usr)
INSTALL_SED = -e 's|/usr/sbin/apgated|$(SBINDIR)/apgated|g' \
              -e 's|/usr/sbin/apgate-hostapd-conf|$(SBINDIR)/apgate-hostapd-conf|g' \
              -e 's|/usr/bin/apgatectl|$(BINDIR)/apgatectl|g' \
              -e 's|/usr/libexec/apgate/|$(LIBEXECDIR)/apgate/|g' \
              -e 's|/usr/share/apgate/portal|$(PORTALDIR)|g' \
              -e 's|/usr/share/apgate/policies|$(POLICIESDIR)|g' \
              -e 's|/etc/apgate/|$(SYSCONFDIR)/apgate/|g'
CONF_SED    = $(INSTALL_SED) -e 's|/var/lib/apgate|$(LOCALSTATEDIR)/lib/apgate|g'

$(BUILD)/paths.stamp: FORCE
	@mkdir -p $(BUILD)
	@echo '$(PORTALDIR) $(POLICIESDIR) $(LIBEXECDIR)' | cmp -s - $@ || echo '$(PORTALDIR) $(POLICIESDIR) $(LIBEXECDIR)' >$@
$(call obj,$(CFG_SRC)): $(BUILD)/paths.stamp
FORCE:

install: build
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/apgate
	install -m 0755 $(BUILD)/apgated $(DESTDIR)$(SBINDIR)/apgated
	install -m 0755 $(BUILD)/apgate-hostapd-conf $(DESTDIR)$(SBINDIR)/apgate-hostapd-conf
	install -m 0755 $(BUILD)/apgatectl $(DESTDIR)$(BINDIR)/apgatectl
	install -m 0755 $(BUILD)/apgate-dhcp-script $(DESTDIR)$(LIBEXECDIR)/apgate/apgate-dhcp-script
	install -d $(DESTDIR)$(PORTALDIR)/static $(DESTDIR)$(PORTALDIR)/i18n
	install -m 0644 portal/static/* $(DESTDIR)$(PORTALDIR)/static/
	install -m 0644 portal/i18n/*.json $(DESTDIR)$(PORTALDIR)/i18n/
	$(if $(POLICY_FILES),install -d $(DESTDIR)$(POLICIESDIR))
	$(if $(POLICY_FILES),install -m 0644 $(POLICY_FILES) $(DESTDIR)$(POLICIESDIR)/)
	install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MAN5) $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/apgate
	@# the configuration is the admin's: never overwritten
	if [ -e $(DESTDIR)$(SYSCONFDIR)/apgate/apgate.conf ]; then \
	  echo "keeping $(DESTDIR)$(SYSCONFDIR)/apgate/apgate.conf"; \
	else \
	  sed $(CONF_SED) controller/apgate.conf.example >$(BUILD)/apgate.conf.inst && \
	  install -m 0644 $(BUILD)/apgate.conf.inst $(DESTDIR)$(SYSCONFDIR)/apgate/apgate.conf; \
	fi
	install -d -m 0750 $(DESTDIR)$(LOCALSTATEDIR)/lib/apgate
	@set -e; for f in $(UNIT_FILES); do \
	  install -d $(DESTDIR)$(UNITDIR)/$$(dirname $$f); \
	  sed $(INSTALL_SED) systemd/$$f >$(BUILD)/unit.inst; \
	  echo "install systemd/$$f -> $(DESTDIR)$(UNITDIR)/$$f"; \
	  install -m 0644 $(BUILD)/unit.inst $(DESTDIR)$(UNITDIR)/$$f; \
	done; rm -f $(BUILD)/unit.inst

# make deb: build/apgate_<version>_<arch>.deb with dpkg-deb (pkg/deb/: control
# template and maintainer scripts). Built in its own directory with PREFIX=/usr
# so the compiled-in paths are the package's; Depends from dpkg-shlibdeps.
DEB_ARCH  = $(shell dpkg --print-architecture)
DEB_OBJ   := build/deb-obj
DEB_ROOT  := build/deb-root
DEB_FILE   = build/apgate_$(VERSION)_$(DEB_ARCH).deb
DEB_UNITS  = $(notdir $(shell grep -l '^\[Install\]' $(wildcard systemd/*.service systemd/*.socket systemd/*.timer) /dev/null))
deb: deps-build
	rm -rf $(DEB_ROOT)
	$(MAKE) --no-print-directory BUILD=$(DEB_OBJ) PREFIX=/usr install DESTDIR=$(CURDIR)/$(DEB_ROOT)
	cd $(DEB_ROOT) && find usr -type f -perm -0100 -exec strip --strip-unneeded \
	  --remove-section=.comment --remove-section=.note {} +
	find $(DEB_ROOT)/usr/share/man -type f -name '*.[0-9]' -exec gzip -9n {} +
	install -d $(DEB_ROOT)/usr/share/doc/apgate
	gzip -9nc README.md >$(DEB_ROOT)/usr/share/doc/apgate/README.md.gz
	install -m 0644 pkg/deb/copyright $(DEB_ROOT)/usr/share/doc/apgate/copyright
	install -d $(DEB_ROOT)/DEBIAN
	@# the maintainer scripts enable/stop every unit in systemd/ with an [Install] section
	for s in postinst prerm postrm; do \
	  sed 's|@UNITS@|$(DEB_UNITS)|' pkg/deb/$$s >$(DEB_ROOT)/DEBIAN/$$s && chmod 0755 $(DEB_ROOT)/DEBIAN/$$s; \
	done
	cd $(DEB_ROOT) && find etc -type f -printf '/%p\n' >DEBIAN/conffiles
	@# not shipped: /var/lib/apgate is made by postinst, so that dpkg -r keeps it
	rm -rf $(DEB_ROOT)/var
	@mkdir -p build/deb-tmp/debian
	printf 'Source: apgate\n\nPackage: apgate\nArchitecture: any\n' >build/deb-tmp/debian/control
	cd build/deb-tmp && dpkg-shlibdeps -O -e$(CURDIR)/$(DEB_ROOT)/usr/sbin/apgated \
	  -e$(CURDIR)/$(DEB_ROOT)/usr/sbin/apgate-hostapd-conf -e$(CURDIR)/$(DEB_ROOT)/usr/bin/apgatectl \
	  -e$(CURDIR)/$(DEB_ROOT)/usr/libexec/apgate/apgate-dhcp-script >../deb-shlibs
	sed -e 's|@VERSION@|$(VERSION)|' -e 's|@ARCH@|$(DEB_ARCH)|' \
	    -e "s|@SHLIBS@|$$(sed -n 's/^shlibs:Depends=//p' build/deb-shlibs)|" \
	    -e "s|@SIZE@|$$(du -sk --exclude=DEBIAN $(DEB_ROOT) | cut -f1)|" \
	    pkg/deb/control.in >$(DEB_ROOT)/DEBIAN/control
	cd $(DEB_ROOT) && find . -path ./DEBIAN -prune -o -path ./etc -prune -o -type f -printf '%P\n' | \
	  LC_ALL=C sort | xargs -d '\n' md5sum >DEBIAN/md5sums
	dpkg-deb --root-owner-group -Zxz --build $(DEB_ROOT) $(DEB_FILE)
	@echo "built $(DEB_FILE)"

clean:
	rm -rf build build-asan $(FUZZ_BUILD)

help:
	@sed -n 's/^#   //p' Makefile

-include $(shell find $(BUILD) build-asan -name '*.d' -type f 2>/dev/null)
