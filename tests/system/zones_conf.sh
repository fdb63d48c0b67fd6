# zones_conf.sh - the apgated configuration the namespace tests and the
# end-to-end bench share: one work BSS (ap0) watched through fakehapd, the
# three zones (guest on br-guest, onboarding on br-onb), uplink up0, and the
# [dnsmasq] files under DIR. Source it, then:
#   zones_conf DIR BUILD WORK_IF [LOG_LEVEL=debug] [PING_MS=200] [LAN=192.168.50.0/24] > DIR/apgate.conf
# (LAN "" leaves the lan key out.)
ZONES_CONF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
zones_conf() {
	local w=$1 b=$2 work=$3 level=${4:-debug} ping=${5:-200} lan=${6-192.168.50.0/24}
	cat <<EOC
[apgated]
registry = $w/registry.db
admin_socket = $w/admin.sock
log_level = $level
oui_dir =
[hostapd]
ctrl_dir = $w/ctrl
client_dir = $w/client
ping_interval_ms = $ping
data_dir = $w/hostapd-lists
[bss ap0]
zone = work
[zone work]
interface = $work
address = 10.77.0.1/24
[zone guest]
interface = br-guest
address = 10.78.0.1/24
[zone onboarding]
interface = br-onb
address = 10.79.0.1/24
[network]
uplink = up0
masquerade = yes
${lan:+lan = $lan}
captive_port = 8080
[dnsmasq]
conf_file = $w/dnsmasq.conf
hosts_file = $w/dhcp-hosts
pid_file = $w/dnsmasq.pid
lease_file = $w/dnsmasq.leases
script = $b/apgate-dhcp-script
[portal]
dir = $ZONES_CONF_ROOT/portal
https_port = 8443
http_port = 8090
cert = $w/portal.crt
key = $w/portal.key
EOC
}
