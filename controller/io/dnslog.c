/* dnslog.c - dnsmasq's query log: line parser and follower (contract in dnslog.h). */
#include "dnslog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "util.h"

#define POLL_S 2                    /* in case an inotify event was missed */
#define READ_CHUNK (64 * 1024)
#define READ_MAX_PER_TURN (4 * 1024 * 1024) /* then yield to the loop */
#define RECENT 64                   /* query lines remembered for their type */

/* ---- parser ---- */

/* Copies s[0..n) into out (size DNSLOG_NAME_MAX + 1), bytes outside
 * [A-Za-z0-9._-] as '?'; longer names are cut. */
static void name_copy(const char *s, size_t n, char *out)
{
	if (n > DNSLOG_NAME_MAX)
		n = DNSLOG_NAME_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '-' || c == '_';
		out[i] = ok ? (char)c : '?';
	}
	out[n] = '\0';
}

/* The last occurrence of needle in s[0..n), or NULL. */
static const char *mem_rfind(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	if (k > n)
		return NULL;
	for (size_t i = n - k + 1; i-- > 0;)
		if (memcmp(s + i, needle, k) == 0)
			return s + i;
	return NULL;
}

static bool starts(const char *p, const char *end, const char *pre)
{
	size_t k = strlen(pre);
	return (size_t)(end - p) >= k && memcmp(p, pre, k) == 0;
}

int dnslog_parse(const char *line, size_t len, struct dnslog_line *out)
{
	const char *p, *end = line + len, *sp, *slash;
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	unsigned long serial = 0;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!line)
		return 0;
	/* "<time> dnsmasq[<pid>]: " (the time has no ']') */
	p = memchr(line, ']', len);
	if (!p || !starts(p, end, "]: "))
		return 0;
	p += 3;
	/* "<serial> " */
	if (p == end || *p < '0' || *p > '9')
		return 0;
	while (p < end && *p >= '0' && *p <= '9') {
		if (serial > (ULONG_MAX - 9) / 10)
			return 0;
		serial = serial * 10 + (unsigned long)(*p++ - '0');
	}
	if (p == end || *p++ != ' ')
		return 0;
	/* "<client>/<port> " */
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp)
		return 0;
	slash = mem_rfind(p, (size_t)(sp - p), "/");
	if (!slash)
		return 0;
	n = (size_t)(slash - p);
	const char *client = p;
	p = sp + 1;
	if (starts(p, end, "query[")) {
		const char *rb = memchr(p, ']', (size_t)(end - p)), *from;
		if (!rb || rb - (p + 6) >= (ptrdiff_t)sizeof(out->qtype) || !starts(rb, end, "] "))
			return -EINVAL;
		from = mem_rfind(rb + 2, (size_t)(end - (rb + 2)), " from ");
		if (!from || from == rb + 2)
			return -EINVAL;
		out->kind = DNSLOG_QUERY;
		name_copy(p + 6, (size_t)(rb - (p + 6)), out->qtype);
		name_copy(rb + 2, (size_t)(from - (rb + 2)), out->name);
	} else if (starts(p, end, "config ")) {
		const char *is = mem_rfind(p + 7, (size_t)(end - (p + 7)), " is NXDOMAIN");
		if (!is || is + strlen(" is NXDOMAIN") != end)
			return 0; /* "config NAME is 10.0.0.1" etc. */
		if (is == p + 7)
			return -EINVAL;
		out->kind = DNSLOG_BLOCKED;
		name_copy(p + 7, (size_t)(is - (p + 7)), out->name);
	} else {
		return 0;
	}
	if (n == 0 || n >= sizeof(addr))
		goto bad;
	memcpy(addr, client, n);
	addr[n] = '\0';
	if (inet_pton(AF_INET, addr, bin) != 1 && inet_pton(AF_INET6, addr, bin) != 1)
		goto bad;
	memcpy(out->client, addr, n + 1);
	out->serial = serial;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

/* ---- follower ---- */

struct recent {
	unsigned long serial;
	char client[INET6_ADDRSTRLEN];
	char qtype[16];
};

struct dnslog {
	struct event_base *base;
	char *path;
	const char *fname;    /* base name of path, inside path */
	dnslog_cb cb;
	void *ud;
	int ino_fd;
	struct event *ino_ev, *timer;
	int fd;               /* the file, -1 until it exists */
	bool rw;              /* opened for writing: may truncate */
	dev_t dev;
	ino_t ino;
	off_t off;
	char buf[DNSLOG_LINE_MAX + 1];
	size_t blen;
	bool skipping;        /* inside a line longer than DNSLOG_LINE_MAX */
	struct recent recent[RECENT];
	unsigned recent_next;
	struct dnslog_stats st;
};

static void on_line(struct dnslog *l, const char *s, size_t n)
{
	struct dnslog_line ln;
	const char *qtype = "?";

	l->st.lines++;
	if (dnslog_parse(s, n, &ln) < 0) {
		l->st.skipped++;
		return;
	}
	if (ln.kind == DNSLOG_QUERY) {
		struct recent *r = &l->recent[l->recent_next++ % RECENT];
		r->serial = ln.serial;
		memcpy(r->client, ln.client, sizeof(r->client));
		memcpy(r->qtype, ln.qtype, sizeof(r->qtype));
		return;
	}
	if (ln.kind != DNSLOG_BLOCKED)
		return;
	for (unsigned i = 0; i < RECENT; i++) {
		const struct recent *r = &l->recent[i];
		if (r->serial == ln.serial && strcmp(r->client, ln.client) == 0) {
			qtype = r->qtype;
			break;
		}
	}
	l->st.blocked++;
	l->cb(ln.client, ln.name, qtype, l->ud);
}

static void feed(struct dnslog *l, const char *s, size_t n)
{
	while (n) {
		const char *nl = memchr(s, '\n', n);
		size_t k = nl ? (size_t)(nl - s) : n;

		if (!l->skipping) {
			if (l->blen + k > DNSLOG_LINE_MAX) {
				l->skipping = true;
				l->blen = 0;
				l->st.skipped++;
			} else {
				memcpy(l->buf + l->blen, s, k);
				l->blen += k;
			}
		}
		if (!nl)
			return;
		if (!l->skipping)
			on_line(l, l->buf, l->blen);
		l->skipping = false;
		l->blen = 0;
		s = nl + 1;
		n -= k + 1;
	}
}

static void file_close(struct dnslog *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	l->off = 0;
	l->blen = 0;
	l->skipping = false;
}

/* Opens path; at_end: skip what it holds. 0, or -errno (-ENOENT). */
static int file_open(struct dnslog *l, bool at_end)
{
	struct stat st;
	int fd;

	l->rw = true;
	fd = open(l->path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 && (errno == EACCES || errno == EROFS)) {
		l->rw = false;
		fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	}
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int e = S_ISREG(st.st_mode) ? -errno : -EINVAL;
		close(fd);
		return e;
	}
	file_close(l);
	l->fd = fd;
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->off = at_end ? st.st_size : 0;
	if (!l->rw)
		log_warn("dnslog: %s is not writable for apgated; it is read but not truncated", l->path);
	return 0;
}

/* Reads the rest of the open file; returns false when it stopped early
 * (more to read on the next turn). */
static bool read_rest(struct dnslog *l)
{
	char chunk[READ_CHUNK];
	size_t total = 0;

	while (total < READ_MAX_PER_TURN) {
		ssize_t r = pread(l->fd, chunk, sizeof(chunk), l->off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_warn("dnslog: reading %s: %s", l->path, strerror(errno));
			return true;
		}
		if (r == 0)
			return true;
		l->off += r;
		total += (size_t)r;
		feed(l, chunk, (size_t)r);
	}
	return false;
}

void dnslog_poll(struct dnslog *l)
{
	struct stat st;

	if (stat(l->path, &st) == 0 && (l->fd < 0 || st.st_dev != l->dev || st.st_ino != l->ino)) {
		/* new since start, or rotated: read whole (the old one first) */
		if (l->fd >= 0)
			read_rest(l);
		if (file_open(l, false) == 0)
			l->st.reopens++;
	}
	if (l->fd < 0)
		return;
	if (fstat(l->fd, &st) == 0 && st.st_size < l->off) { /* truncated by someone */
		l->off = 0;
		l->blen = 0;
		l->skipping = false;
	}
	if (!read_rest(l)) {
		event_active(l->timer, EV_TIMEOUT, 0);
		return;
	}
	/* Caught up: keep the file small. Only when nothing arrived after the
	 * last read and no line is half read. */
	if (l->rw && l->off >= DNSLOG_TRUNCATE_AT && l->blen == 0 && !l->skipping &&
	    fstat(l->fd, &st) == 0 && st.st_size == l->off) {
		if (ftruncate(l->fd, 0) == 0) {
			l->off = 0;
			l->st.truncations++;
		} else {
			log_warn("dnslog: truncating %s: %s", l->path, strerror(errno));
			l->rw = false;
		}
	}
}

static void on_inotify(evutil_socket_t fd, short what, void *ud)
{
	struct dnslog *l = ud;
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool ours = false;
	ssize_t n;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW || (ev->len && strcmp(ev->name, l->fname) == 0))
				ours = true;
			p += sizeof(*ev) + ev->len;
		}
	}
	if (ours)
		dnslog_poll(l);
}

static void on_timer(evutil_socket_t fd, short what, void *ud)
{
	(void)fd;
	(void)what;
	dnslog_poll(ud);
}

int dnslog_new(struct event_base *base, const char *path, dnslog_cb cb, void *ud,
	       struct dnslog **out)
{
	struct dnslog *l;
	char dir[PATH_MAX];
	struct timeval tv = { POLL_S, 0 };
	int r;

	if (!base || !path || path[0] != '/' || !cb || !out)
		return -EINVAL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->base = base;
	l->cb = cb;
	l->ud = ud;
	l->fd = -1;
	l->ino_fd = -1;
	l->path = strdup(path);
	if (!l->path) {
		dnslog_free(l);
		return -ENOMEM;
	}
	l->fname = strrchr(l->path, '/') + 1;
	r = util_dir_of(path, dir);
	if (r < 0) {
		dnslog_free(l);
		return r;
	}
	l->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (l->ino_fd < 0) {
		r = -errno;
		dnslog_free(l);
		return r;
	}
	/* the directory: the file may not exist yet, and may be replaced */
	if (inotify_add_watch(l->ino_fd, dir, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0)
		log_warn("dnslog: cannot watch %s (%s); reading %s every %d s", dir, strerror(errno),
			 path, POLL_S);
	l->ino_ev = event_new(base, l->ino_fd, EV_READ | EV_PERSIST, on_inotify, l);
	l->timer = event_new(base, -1, EV_PERSIST, on_timer, l);
	if (!l->ino_ev || !l->timer || event_add(l->ino_ev, NULL) < 0 || event_add(l->timer, &tv) < 0) {
		dnslog_free(l);
		return -ENOMEM;
	}
	r = file_open(l, true);
	if (r < 0 && r != -ENOENT)
		log_warn("dnslog: %s: %s; trying again", path, strerror(-r));
	*out = l;
	return 0;
}

void dnslog_free(struct dnslog *l)
{
	if (!l)
		return;
	if (l->ino_ev)
		event_free(l->ino_ev);
	if (l->timer)
		event_free(l->timer);
	if (l->ino_fd >= 0)
		close(l->ino_fd);
	file_close(l);
	free(l->path);
	free(l);
}

void dnslog_get_stats(const struct dnslog *l, struct dnslog_stats *st)
{
	*st = l ? l->st : (struct dnslog_stats){ 0 };
}
