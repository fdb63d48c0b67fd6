/* notify.c - alert delivery: webhook (libcurl multi on libevent) and
 * sendmail (contract in notify.h). */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>

#include "log.h"
#include "util.h"

#define SUBJECT_MAX 150   /* bytes of the message in the Subject */
#define BODY_TEXT_MAX 2000
#define MAIL_POLL_MS 500  /* reaping without a pidfd */

/* ---- pure parts ---- */

unsigned notify_backoff_s(unsigned failed, unsigned max_s)
{
	unsigned s = 1;

	if (max_s < 1)
		max_s = 1;
	for (unsigned i = 1; i < failed && s < max_s; i++)
		s = s > max_s / 2 ? max_s : s * 2;
	return s < max_s ? s : max_s;
}

/* A JSON string from s: as it is when it is UTF-8, else bytes >= 0x80
 * as '?' (jansson refuses invalid UTF-8). */
static json_t *jstr(const char *s)
{
	json_t *j = json_string(s);
	char *copy;

	if (j)
		return j;
	copy = strdup(s);
	if (!copy)
		return NULL;
	for (char *p = copy; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

static void jset(json_t *o, const char *key, const char *s)
{
	if (s && *s)
		json_object_set_new(o, key, jstr(s));
}

char *notify_json(const struct notify_alert *a, const char *ap)
{
	json_t *o = json_object(), *dev;
	char *s;

	if (!o)
		return NULL;
	json_object_set_new(o, "id", json_integer(a->id));
	json_object_set_new(o, "ts", json_integer(a->ts));
	jset(o, "kind", a->kind);
	json_object_set_new(o, "mac", a->mac ? jstr(a->mac) : json_null());
	jset(o, "message", a->message);
	jset(o, "ap", ap);
	if ((a->label && *a->label) || (a->ip && *a->ip) || (a->zone && *a->zone)) {
		dev = json_object();
		jset(dev, "label", a->label);
		jset(dev, "ip", a->ip);
		jset(dev, "zone", a->zone);
		json_object_set_new(o, "device", dev);
	}
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* Appends s to out with every control byte (CR, LF, TAB, ...) and DEL as
 * a space, at most max bytes, not cutting a UTF-8 sequence. */
static void put_clean(FILE *out, const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		fputc(c < 0x20 || c == 0x7f ? ' ' : c, out);
	}
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_b64(FILE *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) |
			     (i + 2 < n ? p[i + 2] : 0);
		fputc(b64[v >> 18 & 63], out);
		fputc(b64[v >> 12 & 63], out);
		fputc(i + 1 < n ? b64[v >> 6 & 63] : '=', out);
		fputc(i + 2 < n ? b64[v & 63] : '=', out);
	}
}

/* "Subject: ..." plain when ASCII, else RFC 2047 encoded words of at
 * most 36 bytes each (60 characters per word, lines under 78), folded. */
static void put_subject(FILE *out, const char *text)
{
	bool ascii = true;
	size_t n = strlen(text);

	for (size_t i = 0; i < n; i++)
		ascii &= (unsigned char)text[i] < 0x80;
	fputs("Subject: ", out);
	if (ascii) {
		fputs(text, out);
	} else {
		for (size_t off = 0; off < n;) {
			size_t k = n - off > 36 ? 36 : n - off;
			while (off + k < n && k > 0 && ((unsigned char)text[off + k] & 0xc0) == 0x80)
				k--;
			if (k == 0)
				k = 1;
			fputs(off ? "\n =?UTF-8?B?" : "=?UTF-8?B?", out);
			put_b64(out, (const unsigned char *)text + off, k);
			fputs("?=", out);
			off += k;
		}
	}
	fputc('\n', out);
}

char *notify_mail(const struct notify_alert *a, const char *to, const char *ap, int64_t now)
{
	char *buf = NULL, *subj = NULL, date[64], when[64];
	size_t len = 0, slen = 0;
	struct tm tm;
	time_t t = (time_t)now, at = (time_t)(a->ts / 1000);
	FILE *out, *s;

	s = open_memstream(&subj, &slen);
	if (!s)
		return NULL;
	fputs("[apgate ", s);
	put_clean(s, ap, 64);
	fputs("] ", s);
	put_clean(s, a->message, SUBJECT_MAX);
	if (fclose(s) != 0) {
		free(subj);
		return NULL;
	}
	out = open_memstream(&buf, &len);
	if (!out) {
		free(subj);
		return NULL;
	}
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	gmtime_r(&at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fputs("To: ", out);
	put_clean(out, to, 1000);
	fputc('\n', out);
	put_subject(out, subj);
	fprintf(out, "Date: %s\n"
		"MIME-Version: 1.0\n"
		"Content-Type: text/plain; charset=UTF-8\n"
		"Content-Transfer-Encoding: 8bit\n"
		"Auto-Submitted: auto-generated\n"
		"X-Apgate-Alert: ", date);
	put_clean(out, a->kind, 32);
	fputs("\n\n", out);
	put_clean(out, a->message, BODY_TEXT_MAX);
	fputs("\n\nKind:         ", out);
	put_clean(out, a->kind, 32);
	if (a->mac) {
		fputs("\nDevice:       ", out);
		put_clean(out, a->mac, 32);
	}
	if (a->label && *a->label) {
		fputs("\nName:         ", out);
		put_clean(out, a->label, 200);
	}
	if (a->ip && *a->ip) {
		fputs("\nAddress:      ", out);
		put_clean(out, a->ip, 64);
	}
	if (a->zone && *a->zone) {
		fputs("\nZone:         ", out);
		put_clean(out, a->zone, 32);
	}
	fputs("\nAccess point: ", out);
	put_clean(out, ap, 64);
	fprintf(out, "\nTime:         %s\nAlert:        #%lld\n\n-- \n"
		"apgate: see `apgatectl alerts` or the staff portal.\n", when, (long long)a->id);
	free(subj);
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- state ---- */

struct wh_item {
	char *body;
	int64_t id;
};

struct mail_child {
	struct notify *n;
	bool used;
	pid_t pid;
	int pidfd, wfd;
	struct event *wev, *pev, *kill_ev;
	char *msg;
	size_t len, off;
	int64_t id;
};

struct notify {
	struct event_base *base;
	char *webhook, *mail_to, *sendmail;
	unsigned timeout_ms, retry_max_s;
	char ap[256];

	CURLM *multi;
	struct event *curl_timer, *retry_ev;
	CURL *easy;                 /* the attempt in flight, or NULL */
	struct curl_slist *hdrs;
	char errbuf[CURL_ERROR_SIZE];
	struct wh_item q[NOTIFY_QUEUE_MAX];
	unsigned qhead, qn;
	unsigned attempt;           /* failed attempts of q[qhead] */
	int64_t next_retry_ms;

	struct mail_child mail[NOTIFY_MAIL_MAX];
	struct notify_stats st;
};

static void set_error(struct notify *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct notify *n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(n->st.last_error, sizeof(n->st.last_error), fmt, ap);
	va_end(ap);
}

/* ---- webhook: libcurl multi on the loop ---- */

static void wh_pop(struct notify *n)
{
	free(n->q[n->qhead].body);
	n->q[n->qhead].body = NULL;
	n->qhead = (n->qhead + 1) % NOTIFY_QUEUE_MAX;
	n->qn--;
	n->attempt = 0;
}

static void wh_abort(struct notify *n)
{
	if (!n->easy)
		return;
	curl_multi_remove_handle(n->multi, n->easy);
	curl_easy_cleanup(n->easy);
	n->easy = NULL;
}

static size_t discard(char *p, size_t size, size_t nmemb, void *ud)
{
	(void)p;
	(void)ud;
	return size * nmemb;
}

static void wh_start(struct notify *n)
{
	struct wh_item *it = &n->q[n->qhead];
	CURL *e;

	if (n->easy || n->qn == 0 || !n->webhook || evtimer_pending(n->retry_ev, NULL))
		return;
	e = curl_easy_init();
	if (!e) {
		log_err("alerts: webhook: cannot start a request (out of memory)");
		return;
	}
	n->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, n->webhook);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, it->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(it->body));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, n->hdrs);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "apgate/" APGATE_VERSION);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)n->timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)n->timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, n->errbuf);
	if (curl_multi_add_handle(n->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		log_err("alerts: webhook: cannot start a request");
		return;
	}
	n->easy = e;
}

static void on_retry(evutil_socket_t fd, short what, void *ud)
{
	struct notify *n = ud;

	(void)fd;
	(void)what;
	n->next_retry_ms = 0;
	wh_start(n);
}

static void wh_done(struct notify *n, CURLcode res)
{
	long code = 0;
	int64_t id = n->q[n->qhead].id;

	curl_easy_getinfo(n->easy, CURLINFO_RESPONSE_CODE, &code);
	wh_abort(n);
	if (res == CURLE_OK && code >= 200 && code < 300) {
		if (n->attempt)
			log_info("alerts: webhook: alert #%lld delivered after %u failed attempts",
				 (long long)id, n->attempt);
		n->st.delivered++;
		n->st.last_ok_ms = util_now_ms();
		wh_pop(n);
		wh_start(n);
		return;
	}
	if (res == CURLE_OK && code >= 300 && code < 500 && code != 408 && code != 429) {
		n->st.refused++;
		set_error(n, "HTTP %ld", code);
		n->st.last_fail_ms = util_now_ms();
		log_err("alerts: webhook refused alert #%lld with HTTP %ld; not retried", (long long)id,
			code);
		wh_pop(n);
		wh_start(n);
		return;
	}
	if (res == CURLE_OK)
		set_error(n, "HTTP %ld", code);
	else
		set_error(n, "%s", n->errbuf[0] ? n->errbuf : curl_easy_strerror(res));
	n->attempt++;
	n->st.attempts_failed++;
	n->st.last_fail_ms = util_now_ms();
	unsigned wait = notify_backoff_s(n->attempt, n->retry_max_s);
	struct timeval tv = { (time_t)wait, 0 };
	n->next_retry_ms = util_now_ms() + (int64_t)wait * 1000;
	/* the first failure is worth a warning; later ones are expected
	 * while the receiver is down */
	if (n->attempt == 1)
		log_warn("alerts: webhook: alert #%lld not delivered (%s); retrying in %u s",
			 (long long)id, n->st.last_error, wait);
	else
		log_debug("alerts: webhook: attempt %u for alert #%lld failed (%s); next in %u s",
			  n->attempt, (long long)id, n->st.last_error, wait);
	evtimer_add(n->retry_ev, &tv);
}

static void check_done(struct notify *n)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(n->multi, &left))) {
		if (m->msg == CURLMSG_DONE && m->easy_handle == n->easy)
			wh_done(n, m->data.result);
	}
}

static void on_curl_socket(evutil_socket_t fd, short what, void *ud)
{
	struct notify *n = ud;
	int flags = (what & EV_READ ? CURL_CSELECT_IN : 0) | (what & EV_WRITE ? CURL_CSELECT_OUT : 0);
	int running = 0;

	curl_multi_socket_action(n->multi, fd, flags, &running);
	check_done(n);
}

static void on_curl_timer(evutil_socket_t fd, short what, void *ud)
{
	struct notify *n = ud;
	int running = 0;

	(void)fd;
	(void)what;
	curl_multi_socket_action(n->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(n);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl wants, on the loop. */
static int curl_sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct notify *n = userp;
	struct event *ev = socketp;
	short kind;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (ev)
			event_free(ev);
		curl_multi_assign(n->multi, s, NULL);
		return 0;
	}
	kind = (short)((what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0) |
		       EV_PERSIST);
	if (ev) {
		event_del(ev);
		event_assign(ev, n->base, s, kind, on_curl_socket, n);
	} else {
		ev = event_new(n->base, s, kind, on_curl_socket, n);
		if (!ev)
			return -1;
		curl_multi_assign(n->multi, s, ev);
	}
	return event_add(ev, NULL) < 0 ? -1 : 0;
}

/* CURLMOPT_TIMERFUNCTION: one timer; -1 removes it. */
static int curl_timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	struct notify *n = userp;
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };

	(void)m;
	if (timeout_ms < 0)
		return evtimer_del(n->curl_timer) < 0 ? -1 : 0;
	return evtimer_add(n->curl_timer, &tv) < 0 ? -1 : 0;
}

static void wh_queue(struct notify *n, const struct notify_alert *a)
{
	char *body = notify_json(a, n->ap);
	unsigned slot;

	if (!body) {
		log_err("alerts: webhook: alert #%lld not queued (out of memory)", (long long)a->id);
		return;
	}
	if (n->qn == NOTIFY_QUEUE_MAX) {
		/* drop the oldest one that is not being sent right now */
		unsigned victim = n->easy ? (n->qhead + 1) % NOTIFY_QUEUE_MAX : n->qhead;
		log_warn("alerts: webhook: %u alerts waiting; dropping the oldest waiting one (#%lld)",
			 n->qn, (long long)n->q[victim].id);
		n->st.dropped++;
		free(n->q[victim].body);
		if (victim == n->qhead) {
			n->q[victim].body = NULL;
			n->qhead = (n->qhead + 1) % NOTIFY_QUEUE_MAX;
			n->qn--;
		} else { /* close the gap behind the one in flight */
			for (unsigned i = 1; i + 1 < n->qn; i++)
				n->q[(n->qhead + i) % NOTIFY_QUEUE_MAX] =
					n->q[(n->qhead + i + 1) % NOTIFY_QUEUE_MAX];
			n->qn--;
		}
	}
	slot = (n->qhead + n->qn) % NOTIFY_QUEUE_MAX;
	n->q[slot] = (struct wh_item){ body, a->id };
	n->qn++;
	wh_start(n);
}

/* ---- sendmail ---- */

static void mail_end(struct mail_child *m)
{
	if (m->wev)
		event_free(m->wev);
	if (m->pev)
		event_free(m->pev);
	if (m->kill_ev)
		event_free(m->kill_ev);
	if (m->wfd >= 0)
		close(m->wfd);
	if (m->pidfd >= 0)
		close(m->pidfd);
	free(m->msg);
	*m = (struct mail_child){ .pidfd = -1, .wfd = -1 };
}

static void mail_close_pipe(struct mail_child *m)
{
	if (m->wev)
		event_free(m->wev);
	m->wev = NULL;
	if (m->wfd >= 0)
		close(m->wfd);
	m->wfd = -1;
}

static void on_mail_write(evutil_socket_t fd, short what, void *ud)
{
	struct mail_child *m = ud;

	(void)what;
	while (m->off < m->len) {
		ssize_t w = write(fd, m->msg + m->off, m->len - m->off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w < 0) { /* EPIPE: sendmail exited early; its status tells */
			log_warn("alerts: mail: writing to %s: %s", m->n->sendmail, strerror(errno));
			break;
		}
		m->off += (size_t)w;
	}
	mail_close_pipe(m); /* EOF ends the message (-i: a lone '.' does not) */
}

static void on_mail_exit(evutil_socket_t fd, short what, void *ud)
{
	struct mail_child *m = ud;
	struct notify *n = m->n;
	int status = 0;
	pid_t r;

	(void)fd;
	(void)what;
	r = waitpid(m->pid, &status, WNOHANG);
	if (r == 0)
		return; /* still running (polling without a pidfd) */
	if (r < 0 && errno == EINTR)
		return;
	if (r < 0) { /* ECHILD: reaped elsewhere; status unknown */
		log_warn("alerts: mail for alert #%lld: %s exit status unknown: %s", (long long)m->id,
			 n->sendmail, strerror(errno));
		n->st.mails_sent++;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && m->off == m->len) {
		log_debug("alerts: mail for alert #%lld handed to %s", (long long)m->id, n->sendmail);
		n->st.mails_sent++;
	} else {
		n->st.mails_failed++;
		if (WIFEXITED(status))
			set_error(n, "%s exited with %d", n->sendmail, WEXITSTATUS(status));
		else
			set_error(n, "%s killed by signal %d", n->sendmail,
				  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
		log_err("alerts: mail for alert #%lld not sent: %s", (long long)m->id, n->st.last_error);
	}
	mail_end(m);
}

static void on_mail_timeout(evutil_socket_t fd, short what, void *ud)
{
	struct mail_child *m = ud;

	(void)fd;
	(void)what;
	log_warn("alerts: %s (pid %ld) still running after %d s; killing it", m->n->sendmail,
		 (long)m->pid, NOTIFY_MAIL_TIMEOUT_S);
	if (m->pidfd >= 0)
		pidfd_send_signal(m->pidfd, SIGKILL, NULL, 0);
	else
		kill(m->pid, SIGKILL);
	mail_close_pipe(m);
}

static int mail_spawn(struct notify *n, struct mail_child *m, char *msg, int64_t id)
{
	char *argv[] = { n->sendmail, (char *)"-t", (char *)"-i", NULL };
	char *envp[] = { (char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	posix_spawn_file_actions_t fa;
	struct timeval kill_tv = { NOTIFY_MAIL_TIMEOUT_S, 0 }, poll_tv = { 0, MAIL_POLL_MS * 1000 };
	int p[2], r;

	*m = (struct mail_child){ .n = n, .used = true, .pidfd = -1, .wfd = -1, .msg = msg,
				  .len = strlen(msg), .id = id };
	if (pipe2(p, O_CLOEXEC) < 0) {
		r = -errno;
		goto fail;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	r = posix_spawn(&m->pid, n->sendmail, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	m->wfd = p[1];
	if (r != 0) {
		r = -r;
		goto fail;
	}
	fcntl(m->wfd, F_SETFL, fcntl(m->wfd, F_GETFL) | O_NONBLOCK);
	m->pidfd = pidfd_open(m->pid, 0);
	if (m->pidfd >= 0)
		m->pev = event_new(n->base, m->pidfd, EV_READ | EV_PERSIST, on_mail_exit, m);
	else
		m->pev = event_new(n->base, -1, EV_PERSIST, on_mail_exit, m);
	m->wev = event_new(n->base, m->wfd, EV_WRITE | EV_PERSIST, on_mail_write, m);
	m->kill_ev = evtimer_new(n->base, on_mail_timeout, m);
	if (!m->pev || !m->wev || !m->kill_ev)
		log_err("alerts: mail: out of memory watching %s (pid %ld)", n->sendmail, (long)m->pid);
	if (m->pev)
		event_add(m->pev, m->pidfd >= 0 ? NULL : &poll_tv);
	if (m->wev)
		event_add(m->wev, NULL);
	if (m->kill_ev)
		evtimer_add(m->kill_ev, &kill_tv);
	return 0;
fail:
	n->st.mails_failed++;
	set_error(n, "cannot run %s: %s", n->sendmail, strerror(-r));
	log_err("alerts: mail for alert #%lld: %s", (long long)id, n->st.last_error);
	mail_end(m);
	return r;
}

static void mail_queue(struct notify *n, const struct notify_alert *a)
{
	char *msg;

	for (unsigned i = 0; i < NOTIFY_MAIL_MAX; i++) {
		if (n->mail[i].used)
			continue;
		msg = notify_mail(a, n->mail_to, n->ap, util_now_ms() / 1000);
		if (!msg) {
			log_err("alerts: mail for alert #%lld: out of memory", (long long)a->id);
			return;
		}
		mail_spawn(n, &n->mail[i], msg, a->id);
		return;
	}
	n->st.mails_dropped++;
	log_warn("alerts: %d mails being sent already; alert #%lld is not mailed", NOTIFY_MAIL_MAX,
		 (long long)a->id);
}

/* ---- life ---- */

static int set_str(char **dst, const char *src)
{
	char *s = src && *src ? strdup(src) : NULL;

	if (src && *src && !s)
		return -ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

int notify_set_cfg(struct notify *n, const struct notify_cfg *cfg)
{
	bool url_changed = (n->webhook == NULL) != (cfg->webhook == NULL) ||
			   (n->webhook && strcmp(n->webhook, cfg->webhook) != 0);

	if (set_str(&n->webhook, cfg->webhook) < 0 || set_str(&n->mail_to, cfg->mail_to) < 0 ||
	    set_str(&n->sendmail, cfg->sendmail) < 0)
		return -ENOMEM;
	n->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 5000;
	n->retry_max_s = cfg->retry_max_s ? cfg->retry_max_s : 1;
	if (url_changed) { /* start over at once with the new receiver */
		wh_abort(n);
		evtimer_del(n->retry_ev);
		n->next_retry_ms = 0;
		n->attempt = 0;
		if (!n->webhook && n->qn) {
			log_warn("alerts: webhook removed; %u alerts not delivered", n->qn);
			while (n->qn)
				wh_pop(n);
		}
		wh_start(n);
	}
	return 0;
}

int notify_new(struct event_base *base, const struct notify_cfg *cfg, struct notify **out)
{
	struct notify *n;

	if (!base || !cfg || !out)
		return -EINVAL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -EIO;
	n = calloc(1, sizeof(*n));
	if (!n) {
		curl_global_cleanup();
		return -ENOMEM;
	}
	n->base = base;
	for (unsigned i = 0; i < NOTIFY_MAIL_MAX; i++)
		n->mail[i] = (struct mail_child){ .pidfd = -1, .wfd = -1 };
	if (gethostname(n->ap, sizeof(n->ap) - 1) < 0)
		snprintf(n->ap, sizeof(n->ap), "apgate");
	n->multi = curl_multi_init();
	n->curl_timer = evtimer_new(base, on_curl_timer, n);
	n->retry_ev = evtimer_new(base, on_retry, n);
	n->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
	if (!n->multi || !n->curl_timer || !n->retry_ev || !n->hdrs) {
		notify_free(n);
		return -ENOMEM;
	}
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETFUNCTION, curl_sock_cb);
	curl_multi_setopt(n->multi, CURLMOPT_SOCKETDATA, n);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERFUNCTION, curl_timer_cb);
	curl_multi_setopt(n->multi, CURLMOPT_TIMERDATA, n);
	if (notify_set_cfg(n, cfg) < 0) {
		notify_free(n);
		return -ENOMEM;
	}
	*out = n;
	return 0;
}

void notify_free(struct notify *n)
{
	if (!n)
		return;
	if (n->qn)
		log_warn("alerts: webhook: %u alerts not delivered at exit", n->qn);
	if (n->multi) {
		wh_abort(n);
		curl_multi_cleanup(n->multi); /* removes its sockets: their events go too */
	}
	while (n->qn)
		wh_pop(n);
	for (unsigned i = 0; i < NOTIFY_MAIL_MAX; i++)
		if (n->mail[i].used)
			mail_end(&n->mail[i]);
	if (n->curl_timer)
		event_free(n->curl_timer);
	if (n->retry_ev)
		event_free(n->retry_ev);
	curl_slist_free_all(n->hdrs);
	free(n->webhook);
	free(n->mail_to);
	free(n->sendmail);
	free(n);
	curl_global_cleanup();
}

void notify_send(struct notify *n, const struct notify_alert *a)
{
	if (!n || !a || !a->kind || !a->message)
		return;
	if (n->webhook)
		wh_queue(n, a);
	if (n->mail_to && n->sendmail)
		mail_queue(n, a);
}

void notify_get_stats(const struct notify *n, struct notify_stats *st)
{
	if (!n) {
		*st = (struct notify_stats){ 0 };
		return;
	}
	*st = n->st;
	st->webhook = n->webhook != NULL;
	st->mail = n->mail_to && n->sendmail;
	st->queued = n->qn;
	st->attempt = n->attempt;
	st->next_retry_ms = n->next_retry_ms;
}
