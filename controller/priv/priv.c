/* priv.c - the privilege split, apgated's side: the helper's start and
 * the client of its messages; see priv.h. */
#include "priv/priv.h"

#include <cap-ng.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io/fw_plan.h"
#include "io/linkw.h"
#include "log.h"
#include "priv/priv_msg.h"
#include "priv/privd.h"
#include "util.h"

struct priv {
	int fd;
	pid_t pid;
	uint32_t seq;
	bool dead;
	struct priv_rep *rep;
};

/* ---- the helper (child) ---- */

/* Keeps CAP_NET_ADMIN and CAP_NET_RAW (those of them it has), nothing
 * else; the bounding set too when CAP_SETPCAP allows. */
static void helper_caps(void)
{
	static const int keep[] = { CAP_NET_ADMIN, CAP_NET_RAW };
	bool have[2];

	capng_get_caps_process();
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		have[i] = capng_have_capability(CAPNG_PERMITTED, (unsigned)keep[i]);
	capng_clear(CAPNG_SELECT_BOTH);
	for (size_t i = 0; i < ARRAY_SIZE(keep); i++)
		if (have[i])
			capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
				     (unsigned)keep[i]);
	if (capng_apply(CAPNG_SELECT_BOTH) < 0 && capng_apply(CAPNG_SELECT_CAPS) < 0)
		log_warn("privileged helper: cannot drop the capabilities it does not need");
}

static __attribute__((noreturn)) void helper_main(int fd, const char *cfg_path, bool use_syslog, pid_t parent)
{
	struct linkw *lw = NULL;
	struct privd *pd = NULL;
	int r;

	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN); /* apgated stops it by closing the socket */
	signal(SIGPIPE, SIG_IGN);
	/* every descriptor but stdin/out/err and the socket (as fd 3) */
	if (fd != 3 && dup2(fd, 3) < 0)
		_exit(1);
	close_range(4, ~0U, 0);
	fd = 3;
	prctl(PR_SET_NAME, "apgated-priv"); /* ps, top, ss -p */
	log_open("apgated-priv", log_get_level(), use_syslog);
	prctl(PR_SET_DUMPABLE, 0);
	helper_caps();
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	/* libiptc reads and writes a whole-table snapshot (about 2 MB with
	 * 5,000 devices) on every decision; with glibc's defaults that memory
	 * is unmapped and faulted in again each time, which costs more than
	 * the commit itself (tests/bench: p50 23-37 ms -> 5.5-7 ms at 5,000
	 * devices). Keep it: the process's peak is a few MB either way. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	r = linkw_new(&lw);
	if (r == 0)
		r = privd_new(cfg_path, &fw_ops_iptc, &fw_read_ops_iptc, &linkw_ops_direct, lw, &pd);
	if (r < 0) {
		log_err("privileged helper: cannot start: %s", strerror(-r));
		_exit(1);
	}
	r = privd_serve(pd, fd);
	if (r < 0)
		log_err("privileged helper: socket: %s", strerror(-r));
	privd_free(pd);
	linkw_free(lw);
	_exit(r < 0 ? 1 : 0);
}

int priv_start(const char *cfg_path, bool use_syslog, struct priv **out)
{
	struct priv *p = calloc(1, sizeof(*p));
	pid_t parent = getpid();
	int sv[2];

	if (!p || !(p->rep = malloc(sizeof(*p->rep)))) {
		free(p);
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int r = -errno;
		free(p->rep);
		free(p);
		return r;
	}
	p->pid = fork();
	if (p->pid < 0) {
		int r = -errno;
		close(sv[0]);
		close(sv[1]);
		free(p->rep);
		free(p);
		return r;
	}
	if (p->pid == 0) {
		close(sv[0]);
		helper_main(sv[1], cfg_path, use_syslog, parent);
	}
	close(sv[1]);
	p->fd = sv[0];
	*out = p;
	/* the helper has read its configuration when it answers */
	int r = priv_ping(p);
	if (r < 0) {
		log_err("privileged helper (pid %d) did not start: %s", (int)p->pid, strerror(-r));
		priv_free(p);
		*out = NULL;
		return r;
	}
	log_info("privileged helper running (pid %d): firewall and link writes go through it", (int)p->pid);
	return 0;
}

void priv_free(struct priv *p)
{
	if (!p)
		return;
	close(p->fd); /* the helper's loop ends */
	if (!p->dead) {
		for (int i = 0; i < 200; i++) { /* up to 2 s, then it is told */
			if (waitpid(p->pid, NULL, WNOHANG) != 0)
				goto reaped;
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		kill(p->pid, SIGTERM);
		waitpid(p->pid, NULL, 0);
	}
reaped:
	free(p->rep);
	free(p);
}

int priv_drop_caps(void)
{
	int r;

	capng_get_caps_process();
	r = capng_updatev(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_INHERITABLE | CAPNG_BOUNDING_SET,
			  CAP_NET_ADMIN, CAP_NET_RAW, -1);
	if (r < 0)
		return -EINVAL;
	if (capng_apply(CAPNG_SELECT_BOTH) < 0) {
		/* no CAP_SETPCAP: the bounding set stays, unusable under
		 * no_new_privs (nothing executed can gain a capability) */
		if (capng_apply(CAPNG_SELECT_CAPS) < 0)
			return -EPERM;
		log_info("CAP_NET_ADMIN/CAP_NET_RAW dropped (the bounding set is kept: no CAP_SETPCAP)");
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

bool priv_alive(const struct priv *p)
{
	return p && !p->dead;
}

int priv_pid(const struct priv *p)
{
	return p ? (int)p->pid : 0;
}

/* ---- requests ---- */

static void died(struct priv *p, const char *why)
{
	int st = 0;

	if (p->dead)
		return;
	p->dead = true;
	if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
		if (WIFSIGNALED(st))
			log_err("privileged helper (pid %d) killed by signal %d (%s): firewall and port changes fail "
				"until apgated is restarted; the rules in place stay",
				(int)p->pid, WTERMSIG(st), why);
		else
			log_err("privileged helper (pid %d) exited with status %d (%s): firewall and port changes fail "
				"until apgated is restarted; the rules in place stay",
				(int)p->pid, WEXITSTATUS(st), why);
	} else {
		log_err("privileged helper (pid %d) is gone (%s): firewall and port changes fail until apgated is "
			"restarted; the rules in place stay", (int)p->pid, why);
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Sends msg (len bytes, header filled here) and waits for its reply in
 * p->rep. Returns the helper's result or -EPIPE / -ETIMEDOUT. */
static int request(struct priv *p, void *msg, size_t len, uint32_t type)
{
	struct priv_hdr *h = msg;
	long long deadline;

	if (!p)
		return -EINVAL;
	if (p->dead)
		return -EPIPE;
	h->type = type;
	h->len = (uint32_t)len;
	h->seq = ++p->seq;
	h->zero = 0;
	if (send(p->fd, msg, len, MSG_NOSIGNAL) < 0) {
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN) {
			died(p, "send");
			return -EPIPE;
		}
		return -errno;
	}
	deadline = now_ms() + PRIV_WAIT_MS;
	for (;;) {
		long long left = deadline - now_ms();
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		if (left <= 0) {
			log_err("privileged helper: no answer within %d ms", PRIV_WAIT_MS);
			return -ETIMEDOUT;
		}
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			continue;
		ssize_t n = recv(p->fd, p->rep, sizeof(*p->rep), MSG_DONTWAIT);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			died(p, n == 0 ? "socket closed" : strerror(errno));
			return -EPIPE;
		}
		if ((size_t)n != sizeof(*p->rep) || p->rep->h.type != PRIV_REP || p->rep->h.len != sizeof(*p->rep))
			continue;
		if (p->rep->h.seq != p->seq)
			continue; /* the late answer to a request that timed out */
		return p->rep->result;
	}
}

int priv_ping(struct priv *p)
{
	struct priv_empty m;

	memset(&m, 0, sizeof(m));
	return request(p, &m, sizeof(m), PRIV_PING);
}

int priv_reload(struct priv *p)
{
	struct priv_reload m;

	memset(&m, 0, sizeof(m));
	m.log_level = (uint32_t)log_get_level();
	return request(p, &m, sizeof(m), PRIV_RELOAD);
}

static void dev_put(struct priv_dev *o, const struct fw_dev *d)
{
	memcpy(o->mac, d->mac, 6);
	o->access = (uint8_t)d->v;
	o->zero = 0;
}

static int fw_sync_remote(void *ud, const struct fw_dev *devs, unsigned n)
{
	struct priv *p = ud;
	struct priv_fw_sync_begin b;
	struct priv_empty e;
	int r;

	if (n > PRIV_DEVS_MAX)
		return -E2BIG;
	memset(&b, 0, sizeof(b));
	b.total = n;
	r = request(p, &b, sizeof(b), PRIV_FW_SYNC_BEGIN);
	if (r < 0)
		return r;
	struct priv_fw_sync_devs *m = malloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (unsigned i = 0; i < n && r == 0; i += PRIV_DEVS_PER_MSG) {
		unsigned k = n - i < PRIV_DEVS_PER_MSG ? n - i : PRIV_DEVS_PER_MSG;
		memset(m, 0, sizeof(*m));
		m->n = k;
		for (unsigned j = 0; j < k; j++)
			dev_put(&m->dev[j], &devs[i + j]);
		r = request(p, m, sizeof(*m), PRIV_FW_SYNC_DEVS);
	}
	free(m);
	if (r < 0)
		return r;
	memset(&e, 0, sizeof(e));
	return request(p, &e, sizeof(e), PRIV_FW_SYNC_END);
}

static int fw_update_remote(void *ud, const struct fw_dev *dev)
{
	struct priv_fw_update m;

	memset(&m, 0, sizeof(m));
	dev_put(&m.dev, dev);
	return request(ud, &m, sizeof(m), PRIV_FW_UPDATE);
}

static const char *const hooks[] = { "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING" };

static int fw_check_remote(void *ud, struct fw_check *out)
{
	struct priv *p = ud;
	struct priv_empty e;
	int r;

	memset(&e, 0, sizeof(e));
	out->n = 0;
	r = request(p, &e, sizeof(e), PRIV_FW_CHECK);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < p->rep->n && i < FW_CHECK_MAX; i++) {
		const struct priv_chain *c = &p->rep->chains[i];
		struct fw_check_chain *k = &out->chains[out->n++];
		*k = (struct fw_check_chain){
			.family = c->family == 6 ? AF_INET6 : AF_INET,
			.table = fw_tid_name(c->table < FW_TID_N ? (enum fw_tid)c->table : FW_TID_MANGLE),
			.hook = c->hook && c->hook <= ARRAY_SIZE(hooks) ? hooks[c->hook - 1] : NULL,
			.planned = c->planned, .present = c->present, .rules = c->rules,
			.want_rules = c->want_rules, .hook_pos = c->hook_pos, .hook_jumps = c->hook_jumps,
		};
		memcpy(k->chain, c->chain, sizeof(k->chain));
		k->chain[sizeof(k->chain) - 1] = 0;
	}
	return 0;
}

const struct fw_remote_ops priv_fw_ops = {
	.sync = fw_sync_remote,
	.update = fw_update_remote,
	.check = fw_check_remote,
};

static int name_put(char out[PRIV_IFNAMSIZ], const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n >= PRIV_IFNAMSIZ)
		return -EINVAL;
	memset(out, 0, PRIV_IFNAMSIZ);
	memcpy(out, s, n);
	return 0;
}

static int link_isolate_remote(void *ud, const char *bridge, int ifindex)
{
	struct priv_br_isolate m;

	memset(&m, 0, sizeof(m));
	if (name_put(m.bridge, bridge) < 0)
		return -EINVAL;
	m.ifindex = ifindex;
	return request(ud, &m, sizeof(m), PRIV_BR_ISOLATE);
}

static int link_move_remote(void *ud, const char *port, const char *bridge, bool bounce)
{
	struct priv_port_move m;

	memset(&m, 0, sizeof(m));
	if (name_put(m.port, port) < 0 || name_put(m.bridge, bridge) < 0)
		return -EINVAL;
	m.bounce = bounce;
	return request(ud, &m, sizeof(m), PRIV_PORT_MOVE);
}

const struct linkw_ops priv_link_ops = {
	.isolate = link_isolate_remote,
	.move = link_move_remote,
};
