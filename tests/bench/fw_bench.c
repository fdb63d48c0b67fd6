/* fw_bench - firewall figures, in a private network namespace it creates
 * (unshare(CLONE_NEWNET)); exit 77 when not root or without namespaces.
 * Prints figures only; the goals are printed beside them.
 *
 *   full sync (fw_sync) at 1,000 and 5,000 devices
 *   approve-to-enforced (fw_update_device: both mangle tables committed)
 *     with 1, 1,000 and 5,000 devices registered, p50/p99
 *   1,000 authorizations one by one: fw_update_device() against one
 *     `iptables-legacy -w -t mangle -A ...` process per rule (fork/exec with
 *     an argv vector, as shell-based captive portals do it, minus the shell)
 *
 * FW_BENCH_SHELL=n changes the number of iptables processes (default 1000).
 * FW_BENCH_MALLOPT=1 first raises glibc's trim and mmap thresholds: each
 * libiptc snapshot of a 5,000-rule table is ~2 MB of small blocks, and with
 * the defaults glibc hands that memory back after every commit, so the next
 * one page-faults it in again (expensive in a VM). Whether apgated does the
 * same is main.c's decision; both figures are printed by make bench.
 */
#include <errno.h>
#include <malloc.h>
#include <stdbool.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "io/fw.h"
#include "log.h"
#include "util.h"

#define UPDATES 200
#define SYNC_RUNS 7

static struct fw_net bench_net(void)
{
	static struct fw_cidr4 lan[2];
	struct fw_net n = { 0 };

	util_strlcpy(n.zone[FW_ZONE_WORK].ifname, "wlan0", IFNAMSIZ);
	inet_pton(AF_INET, "10.10.0.1", &n.zone[FW_ZONE_WORK].gw4);
	n.zone[FW_ZONE_WORK].len4 = 24;
	util_strlcpy(n.zone[FW_ZONE_GUEST].ifname, "wlan0_1", IFNAMSIZ);
	inet_pton(AF_INET, "10.20.0.1", &n.zone[FW_ZONE_GUEST].gw4);
	n.zone[FW_ZONE_GUEST].len4 = 24;
	util_strlcpy(n.uplink, "eth0", IFNAMSIZ);
	n.masquerade = true;
	n.captive_port = 8080;
	inet_pton(AF_INET, "192.168.1.10", &lan[0].addr);
	lan[0].len = 32;
	inet_pton(AF_INET, "192.168.2.0", &lan[1].addr);
	lan[1].len = 24;
	n.lan4 = lan;
	n.n_lan4 = 2;
	return n;
}

static void mac_of(unsigned i, uint8_t mac[6], uint8_t tag)
{
	mac[0] = 0x02;
	mac[1] = tag;
	mac[2] = (uint8_t)(i >> 24);
	mac[3] = (uint8_t)(i >> 16);
	mac[4] = (uint8_t)(i >> 8);
	mac[5] = (uint8_t)i;
}

static struct fw_dev *devices(unsigned n)
{
	struct fw_dev *d = calloc(n ? n : 1, sizeof(*d));
	if (!d)
		exit(1);
	for (unsigned i = 0; i < n; i++) {
		mac_of(i, d[i].mac, 0);
		d[i].v = i % 10 == 9 ? FW_GUEST : FW_WORK;
	}
	return d;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;
	return x < y ? -1 : x > y;
}

static double pct(long long *v, unsigned n, double p)
{
	qsort(v, n, sizeof(*v), cmp_ll);
	unsigned i = (unsigned)(p * (n - 1) + 0.5);
	return (double)v[i] / 1e6;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "fw_bench: %s: %s\n", what, strerror(-r));
	exit(1);
}

static void bench_sync(struct fw *fw, const struct fw_net *net, unsigned n)
{
	struct fw_dev *d = devices(n);
	long long t[SYNC_RUNS];
	int r;

	for (unsigned i = 0; i < SYNC_RUNS; i++) {
		long long t0 = util_mono_ns();
		if ((r = fw_sync(fw, net, d, n)) < 0)
			die("fw_sync", r);
		t[i] = util_mono_ns() - t0;
	}
	char label[64];
	snprintf(label, sizeof(label), "full sync, %u devices (p50 of %d)", n, SYNC_RUNS);
	printf("%-44s %8.2f ms   %s\n", label, pct(t, SYNC_RUNS, 0.5),
	       n == 5000 ? "goal < 100 ms" : "");
	free(d);
}

static void bench_update(struct fw *fw, const struct fw_net *net, unsigned n)
{
	struct fw_dev *d = devices(n);
	long long t[UPDATES];
	int r;

	if ((r = fw_sync(fw, net, d, n)) < 0)
		die("fw_sync", r);
	for (unsigned i = 0; i < UPDATES; i++) {
		/* approve a new device, next round forget it again: n stays n..n+1 */
		struct fw_dev x = { .v = i % 2 ? FW_ONBOARDING : FW_WORK };
		mac_of(i / 2, x.mac, 0xee);
		long long t0 = util_mono_ns();
		if ((r = fw_update_device(fw, &x)) < 0)
			die("fw_update_device", r);
		t[i] = util_mono_ns() - t0;
	}
	double p99 = pct(t, UPDATES, 0.99), p50 = pct(t, UPDATES, 0.5);
	char label[64];
	snprintf(label, sizeof(label), "approve-to-enforced, %u registered", n);
	printf("%-44s p50 %6.2f ms  p99 %6.2f ms   %s\n", label, p50, p99,
	       n == 1000 ? "goal p50 < 5 ms" : "");
	free(d);
}

static int run_iptables(char *const argv[])
{
	pid_t pid = fork();
	int st;
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static void bench_versus_shell(struct fw *fw, const struct fw_net *net, unsigned n)
{
	long long t0, lib_ns, sh_ns;
	int r;

	if ((r = fw_sync(fw, net, NULL, 0)) < 0)
		die("fw_sync", r);
	t0 = util_mono_ns();
	for (unsigned i = 0; i < n; i++) {
		struct fw_dev x = { .v = FW_WORK };
		mac_of(i, x.mac, 0x55);
		if ((r = fw_update_device(fw, &x)) < 0)
			die("fw_update_device", r);
	}
	lib_ns = util_mono_ns() - t0;

	char *mk[] = { "iptables-legacy", "-w", "-t", "mangle", "-N", "SHELLPORTAL", NULL };
	if (run_iptables(mk) < 0) {
		fprintf(stderr, "fw_bench: iptables-legacy -N failed\n");
		exit(1);
	}
	t0 = util_mono_ns();
	for (unsigned i = 0; i < n; i++) {
		uint8_t m[6];
		char mac[18];
		mac_of(i, m, 0x66);
		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
			 m[4], m[5]);
		char *argv[] = { "iptables-legacy", "-w", "-t", "mangle", "-A", "SHELLPORTAL", "-m",
				 "mac", "--mac-source", mac, "-j", "MARK", "--set-xmark",
				 "0x10000/0xff0000", NULL };
		if (run_iptables(argv) < 0) {
			fprintf(stderr, "fw_bench: iptables-legacy -A failed\n");
			exit(1);
		}
	}
	sh_ns = util_mono_ns() - t0;
	printf("%-44s %8.2f s  (%.2f ms each, IPv4 and IPv6)\n",
	       "authorizations one by one, fw_update_device", lib_ns / 1e9, lib_ns / 1e6 / n);
	printf("%-44s %8.2f s  (%.2f ms each, IPv4 only)\n",
	       "same, one iptables-legacy process per rule", sh_ns / 1e9, sh_ns / 1e6 / n);
	printf("%-44s %8.1fx\n", "ratio (iptables processes / libiptc)", (double)sh_ns / lib_ns);
}

int main(void)
{
	struct fw *fw = NULL;
	struct fw_net net = bench_net();
	const char *e = getenv("FW_BENCH_SHELL");
	unsigned shell_n = e && *e ? (unsigned)atoi(e) : 1000;

	log_open("fw_bench", LOG_LVL_WARN, false);
	bool tuned = getenv("FW_BENCH_MALLOPT") && *getenv("FW_BENCH_MALLOPT") == '1';
	if (tuned) {
		mallopt(M_TRIM_THRESHOLD, 64 << 20);
		mallopt(M_MMAP_THRESHOLD, 32 << 20);
	}
	if (geteuid() != 0 || unshare(CLONE_NEWNET) != 0) {
		printf("skip - fw_bench needs root and network namespaces\n");
		return 77;
	}
	if (fw_new(&fw_ops_iptc, NULL, &fw) < 0)
		return 1;
	printf("== firewall (libiptc, private network namespace; IPv4 + IPv6 unless noted)%s\n",
	       tuned ? "\n   with mallopt(M_TRIM_THRESHOLD 64 MB, M_MMAP_THRESHOLD 32 MB)" : "");
	bench_sync(fw, &net, 1000);
	bench_sync(fw, &net, 5000);
	bench_update(fw, &net, 1);
	bench_update(fw, &net, 1000);
	bench_update(fw, &net, 5000);
	if (shell_n)
		bench_versus_shell(fw, &net, shell_n);
	fw_free(fw);
	printf("(machine: %ld cores; reproduce: make bench, or build/fw_bench as root)\n",
	       sysconf(_SC_NPROCESSORS_ONLN));
	return 0;
}
