#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

static struct {
	const char *ident;
	enum log_level level;
	bool use_syslog;
} logger = { "apgate", LOG_LVL_INFO, false };

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_open(const char *ident, enum log_level level, bool use_syslog)
{
	logger.ident = ident;
	logger.level = level;
	logger.use_syslog = use_syslog;
	if (use_syslog)
		openlog(ident, LOG_PID, LOG_DAEMON);
}

void log_set_level(enum log_level level) { logger.level = level; }
enum log_level log_get_level(void) { return logger.level; }

void log_close(void)
{
	if (logger.use_syslog)
		closelog();
	logger.use_syslog = false;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcmp(s, "err") == 0) {
		*out = LOG_LVL_ERR;
		return 0;
	}
	return -EINVAL;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	char buf[1024];
	va_list ap;
	int saved = errno;

	if (level > logger.level)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	/* journald adds its own time stamp; "<N>" lets it keep the priority. */
	fprintf(stderr, "<%d>%s: %s: %s\n", prio[level], logger.ident, level_names[level], buf);
	if (logger.use_syslog)
		syslog(prio[level], "%s", buf);
	errno = saved;
}
