/* log.h - leveled logging to stderr (journald) and optionally syslog.
 *
 * Level policy (STYLE 6):
 *   err   - this operation failed
 *   warn  - unexpected but handled (bad input, peer went away)
 *   info  - rare lifecycle lines (start, stop, attach, new device, decision)
 *   debug - everything else
 * The logger is the one piece of process-wide state outside the daemon's
 * context, as in ell's l_log: set once at start-up by main.c.
 */
#ifndef APGATE_LOG_H
#define APGATE_LOG_H

#include <stdbool.h>

enum log_level { LOG_LVL_ERR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

/* ident is kept by reference (use a string literal). */
void log_open(const char *ident, enum log_level level, bool use_syslog);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
void log_close(void);
/* Parses "error|warn|info|debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)

#endif
