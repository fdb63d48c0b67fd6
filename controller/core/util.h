/* util.h - small helpers shared by every module (libc only).
 *
 * Scope cleanup in the style of ell's cleanup.h: a variable declared with
 * _cleanup_free_ is freed when it leaves scope; steal_ptr() hands ownership
 * over explicitly and leaves NULL behind.
 */
#ifndef APGATE_UTIL_H
#define APGATE_UTIL_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void util_freep(void *p) { free(*(void **)p); }
static inline void util_closep(int *fd) { if (*fd >= 0) close(*fd); }
static inline void util_fclosep(FILE **f) { if (*f) fclose(*f); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(util_freep)
#define _cleanup_close_ _cleanup_(util_closep)
#define _cleanup_fclose_ _cleanup_(util_fclosep)

/* Returns *pp and sets *pp to NULL: the caller now owns the value. */
#define steal_ptr(pp) ({ __typeof__(*(pp)) steal_tmp_ = *(pp); *(pp) = NULL; steal_tmp_; })

/* Returns fd and sets it to -1. */
static inline int steal_fd(int *fd) { int r = *fd; *fd = -1; return r; }

/* Milliseconds since the Unix epoch (wall clock, for timestamps). */
long long util_now_ms(void);

/* Length (1-4) of the valid UTF-8 sequence at p, of which at most left
 * bytes may be read (SIZE_MAX for a NUL-terminated string: the NUL ends
 * any sequence), or 0 when it is not one (a stray continuation byte, an
 * overlong form, a surrogate, above U+10FFFF, cut short). */
size_t util_utf8_len(const unsigned char *p, size_t left);
/* Monotonic milliseconds (for intervals and timeouts). */
long long util_mono_ms(void);
/* Monotonic nanoseconds (for latency measurement). */
long long util_mono_ns(void);

/* strlcpy-like: copies at most size-1 bytes, always terminates; returns strlen(src). */
size_t util_strlcpy(char *dst, const char *src, size_t size);

/* Value of one hex digit, or -1. */
int util_hexval(char c);

/* Returns 0 and stores the value if s is a whole decimal number in [min,max],
 * else -EINVAL (not a number) or -ERANGE. */
int util_parse_long(const char *s, long min, long max, long *out);

/* The directory part of path into dir ("." for a bare name, "/" for a
 * file in the root); 0 or -ENAMETOOLONG. */
int util_dir_of(const char *path, char dir[PATH_MAX]);
/* fsync() of the directory dir, so that a rename into it is durable; 0 or
 * -errno. */
int util_fsync_dir(const char *dir);

#endif
