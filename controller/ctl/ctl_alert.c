/* ctl_alert.c - alerts: stored, logged, told to watchers, delivered.
 * (Delivery to [alerts] webhook and mail_to arrives with issue 8.) */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ctl_int.h"
#include "log.h"
#include "util.h"

int64_t ctl_alert(struct ctl *c, const char *kind, const char *mac, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int64_t id;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	id = reg_alert_open(c->reg, kind, mac);
	if (id > 0)
		return 0;
	id = reg_alert_add(c->reg, kind, mac, msg, util_now_ms());
	if (id < 0) {
		log_err("alert %s %s not stored: %s", kind, mac ? mac : "-", strerror((int)-id));
		return id;
	}
	log_warn("alert %s %s: %s", kind, mac ? mac : "-", msg);
	ctl_notify(c);
	return id;
}
