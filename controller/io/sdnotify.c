/* sdnotify.c - systemd notification and watchdog; see sdnotify.h. */
#include "io/sdnotify.h"

#include <errno.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "log.h"

struct sdn {
	const struct sdn_ops *ops;
	bool enabled;          /* NOTIFY_SOCKET was set */
	uint64_t interval_us;  /* watchdog ping period, 0 = off */
	struct event *wd;      /* the watchdog timer */
	unsigned wd_failures;  /* consecutive failed pings, logged once */
};

/* ---- the real side effects: libsystemd ---- */

static int real_notify(const char *state, void *ud)
{
	(void)ud;
	/* keep the environment: later messages need NOTIFY_SOCKET too */
	return sd_notify(0, state);
}

static int real_watchdog(uint64_t *usec, void *ud)
{
	(void)ud;
	return sd_watchdog_enabled(0, usec);
}

const struct sdn_ops sdn_ops_systemd = { .notify = real_notify, .watchdog = real_watchdog, .ud = NULL };

/* ---- */

static int send_state(struct sdn *s, const char *state)
{
	int r;

	if (!s || !s->enabled)
		return 0;
	r = s->ops->notify(state, s->ops->ud);
	if (r < 0)
		log_debug("sdnotify: cannot send '%.*s': %s", (int)strcspn(state, "\n"), state, strerror(-r));
	return r;
}

static void on_watchdog(evutil_socket_t fd, short what, void *ud)
{
	struct sdn *s = ud;
	int r;

	(void)fd;
	(void)what;
	r = send_state(s, "WATCHDOG=1");
	if (r < 0 && s->wd_failures++ == 0)
		log_warn("sdnotify: watchdog ping failed: %s (systemd may restart apgated)", strerror(-r));
	else if (r > 0)
		s->wd_failures = 0;
}

int sdn_new(struct event_base *base, const struct sdn_ops *ops, struct sdn **out)
{
	struct sdn *s = calloc(1, sizeof(*s));
	const char *sock = getenv("NOTIFY_SOCKET");
	uint64_t usec = 0;
	int r;

	if (!s)
		return -ENOMEM;
	s->ops = ops ? ops : &sdn_ops_systemd;
	s->enabled = sock && *sock;
	if (s->enabled) {
		r = s->ops->watchdog(&usec, s->ops->ud);
		if (r < 0)
			log_warn("sdnotify: WATCHDOG_USEC is not usable: %s; no watchdog pings", strerror(-r));
		else if (r > 0 && usec > 0)
			s->interval_us = usec / 2 ? usec / 2 : 1;
	}
	if (s->interval_us) {
		struct timeval tv = { .tv_sec = (time_t)(s->interval_us / 1000000),
				      .tv_usec = (suseconds_t)(s->interval_us % 1000000) };
		s->wd = event_new(base, -1, EV_PERSIST, on_watchdog, s);
		if (!s->wd || event_add(s->wd, &tv) < 0) {
			sdn_free(s);
			return -ENOMEM;
		}
		log_info("sdnotify: watchdog ping every %llu ms", (unsigned long long)(s->interval_us / 1000));
	}
	if (s->enabled)
		log_debug("sdnotify: notifying the service manager on %s", sock);
	*out = s;
	return 0;
}

void sdn_free(struct sdn *s)
{
	if (!s)
		return;
	if (s->wd)
		event_free(s->wd);
	free(s);
}

int sdn_enabled(const struct sdn *s)
{
	return s && s->enabled;
}

uint64_t sdn_watchdog_interval_usec(const struct sdn *s)
{
	return s ? s->interval_us : 0;
}

/* "STATUS=" + text with newlines flattened (one assignment per line). */
static void status_line(char *buf, size_t size, const char *prefix, const char *fmt, va_list ap)
{
	size_t n = (size_t)snprintf(buf, size, "%s", prefix);

	if (n >= size)
		return;
	vsnprintf(buf + n, size - n, fmt, ap);
	for (char *p = buf + n; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
}

static void status_fmt(char *buf, size_t size, const char *prefix, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void status_fmt(char *buf, size_t size, const char *prefix, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	status_line(buf, size, prefix, fmt, ap);
	va_end(ap);
}

void sdn_ready(struct sdn *s, const char *status)
{
	char buf[512];

	if (!s || !s->enabled)
		return;
	if (status)
		status_fmt(buf, sizeof(buf), "READY=1\nSTATUS=", "%s", status);
	else
		snprintf(buf, sizeof(buf), "READY=1");
	send_state(s, buf);
}

void sdn_reloading(struct sdn *s)
{
	struct timespec ts;
	char buf[96];

	if (!s || !s->enabled)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(buf, sizeof(buf), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the configuration",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000ULL);
	send_state(s, buf);
}

void sdn_stopping(struct sdn *s)
{
	send_state(s, "STOPPING=1\nSTATUS=shutting down");
}

void sdn_status(struct sdn *s, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!s || !s->enabled)
		return;
	va_start(ap, fmt);
	status_line(buf, sizeof(buf), "STATUS=", fmt, ap);
	va_end(ap);
	send_state(s, buf);
}
