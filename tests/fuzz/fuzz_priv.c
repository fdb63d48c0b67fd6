/* fuzz_priv - libFuzzer target for the privileged helper's message checks
 * (controller/priv/privd.c). An input is a sequence of datagrams, each a
 * 2-byte little-endian length and that many bytes (a length past the end
 * takes what is left), fed in order to privd_handle() of one helper, so
 * multi-message state (a firewall table in pieces) is reached. The
 * configuration (three zones, wired ports lan1 and lan2) is a memfd; the
 * firewall backend and the link writer are fakes that only count. After
 * each datagram the reply must be well-formed. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/fw_plan.h"
#include "log.h"
#include "priv/privd.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char conf[] =
	"[apgated]\nregistry = /nonexistent/r.db\nadmin_socket = /nonexistent/a.sock\noui_dir =\n"
	"[hostapd]\nctrl_dir = /nonexistent/ctrl\nclient_dir = /nonexistent/client\n"
	"[bss ap0]\nzone = work\n"
	"[zone work]\ninterface = br-work\naddress = 10.77.0.1/24\n"
	"[zone guest]\ninterface = br-guest\naddress = 10.78.0.1/24\n"
	"[zone onboarding]\ninterface = br-onb\naddress = 10.79.0.1/24\n"
	"[network]\nuplink = up0\nmasquerade = yes\nlan = 192.168.50.0/24\nwired_ports = lan1 lan2\n";

static int fake_commit(void *ud, const struct fw_table *t)
{
	(void)ud;
	return t->n_chains ? 0 : -EINVAL;
}

static int fake_flush(void *ud, int family, const char *table)
{
	(void)ud;
	(void)family;
	(void)table;
	return 0;
}

static int fake_read(void *ud, int family, const char *table, struct fw_ktable *out)
{
	(void)ud;
	(void)family;
	(void)table;
	out->n = 0;
	return 0;
}

static int fake_isolate(void *ud, const char *bridge, int ifindex)
{
	(void)ud;
	return bridge && *bridge && ifindex > 0 ? 0 : -EFAULT;
}

static int fake_move(void *ud, const char *port, const char *bridge, bool bounce)
{
	(void)ud;
	(void)bounce;
	return port && *port && bridge && *bridge ? 1 : -EFAULT;
}

static const struct fw_ops fw = { .name = "fuzz", .commit = fake_commit, .flush = fake_flush };
static const struct fw_read_ops rd = { .read = fake_read };
static const struct linkw_ops lw = { .isolate = fake_isolate, .move = fake_move };
static char path[64];
static struct priv_rep *rep;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	int mfd = memfd_create("apgate.conf", MFD_CLOEXEC);

	(void)argc;
	(void)argv;
	if (mfd < 0 || write(mfd, conf, sizeof(conf) - 1) != (ssize_t)(sizeof(conf) - 1))
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	rep = malloc(sizeof(*rep));
	if (!rep)
		abort();
	log_open("fuzz_priv", LOG_LVL_ERR, false);
	log_set_level(LOG_LVL_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct privd *p = NULL;

	/* a fresh helper per input: no state leaks between inputs */
	if (privd_new(path, &fw, &rd, &lw, NULL, &p) < 0)
		abort();
	while (size >= 2) {
		size_t n = (size_t)data[0] | (size_t)data[1] << 8;
		data += 2;
		size -= 2;
		if (n > size)
			n = size;
		/* a copy of exactly n bytes, so ASan sees any read past it */
		uint8_t *msg = malloc(n ? n : 1);
		if (!msg)
			abort();
		memcpy(msg, data, n);
		int r = privd_handle(p, msg, n, rep);
		free(msg);
		if (rep->h.type != PRIV_REP || rep->h.len != sizeof(*rep) || rep->result != r ||
		    rep->n > FW_CHECK_MAX || r > 1)
			abort();
		data += n;
		size -= n;
	}
	privd_free(p);
	return 0;
}
