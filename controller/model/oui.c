/* oui.c - IEEE vendor prefixes (contract in oui.h).
 *
 * Every file of the IEEE registry in Debian's ieee-data has the same shape:
 *
 *   00-22-72   (hex)		American Micro-Fuel Device Corp.
 *   002272     (base 16)		American Micro-Fuel Device Corp.
 *   				(address lines)
 *
 * where MA-M (mam.txt) and MA-S (oui36.txt) give a range on the base-16
 * line ("B00000-BFFFFF" is a 28-bit prefix, "F2F000-F2FFFF" a 36-bit one).
 * A "(hex)" line alone makes a 24-bit entry; a following range line turns
 * it into a longer prefix. Everything else is skipped.
 *
 * Storage: one sorted array of uint64 per prefix length, each packing the
 * prefix (36 bits max) above the name's offset in a pool of NUL-terminated,
 * deduplicated names (28 bits, 256 MB). Building uses a temporary array and
 * a temporary hash table for the deduplication; no allocation per entry.
 */
#include "oui.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define OFF_BITS 28
#define OFF_MASK ((UINT64_C(1) << OFF_BITS) - 1)
#define POOL_MAX (UINT64_C(1) << OFF_BITS)

/* Prefix lengths, longest first (lookup order). */
static const unsigned lens[] = { 36, 28, 24 };
#define NLENS ARRAY_SIZE(lens)

struct oui {
	uint64_t *ent;          /* [prefix << OFF_BITS | name offset] */
	size_t start[NLENS + 1]; /* ent[start[i] .. start[i+1]) has lens[i] bits */
	char *pool;
	size_t pool_len;
};

/* ---- building ---- */

struct raw {
	uint64_t key;
	uint32_t off;
	uint32_t seq;   /* file order: the first of duplicate prefixes wins */
	unsigned len;
};

struct builder {
	struct raw *raw;
	size_t nraw, capraw;
	char *pool;
	size_t pool_len, pool_cap;
	uint32_t *hash;  /* name offset + 1, 0 = empty; open addressing */
	size_t hash_cap, hash_used;
	/* the "(hex)" line waiting for its base-16 line */
	bool pending;
	uint32_t pend_prefix, pend_off;
	unsigned skipped;
};

static uint32_t fnv1a(const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}

static int hash_grow(struct builder *b)
{
	size_t cap = b->hash_cap ? b->hash_cap * 2 : 4096;
	uint32_t *h = calloc(cap, sizeof(*h));

	if (!h)
		return -ENOMEM;
	for (size_t i = 0; i < b->hash_cap; i++) {
		uint32_t v = b->hash[i];
		if (!v)
			continue;
		const char *s = b->pool + v - 1;
		size_t j = fnv1a(s, strlen(s)) & (cap - 1);
		while (h[j])
			j = (j + 1) & (cap - 1);
		h[j] = v;
	}
	free(b->hash);
	b->hash = h;
	b->hash_cap = cap;
	return 0;
}

/* Offset of name (n bytes) in the pool, adding it if new. */
static int intern(struct builder *b, const char *name, size_t n, uint32_t *off)
{
	size_t j;
	int ret;

	if ((b->hash_used + 1) * 2 > b->hash_cap && (ret = hash_grow(b)) < 0)
		return ret;
	j = fnv1a(name, n) & (b->hash_cap - 1);
	for (; b->hash[j]; j = (j + 1) & (b->hash_cap - 1)) {
		const char *s = b->pool + b->hash[j] - 1;
		if (strncmp(s, name, n) == 0 && s[n] == '\0') {
			*off = b->hash[j] - 1;
			return 0;
		}
	}
	if (b->pool_len + n + 1 >= POOL_MAX)
		return -EFBIG;
	if (b->pool_len + n + 1 > b->pool_cap) {
		size_t cap = b->pool_cap ? b->pool_cap : 65536;
		while (cap < b->pool_len + n + 1)
			cap *= 2;
		char *p = realloc(b->pool, cap);
		if (!p)
			return -ENOMEM;
		b->pool = p;
		b->pool_cap = cap;
	}
	memcpy(b->pool + b->pool_len, name, n);
	b->pool[b->pool_len + n] = '\0';
	*off = (uint32_t)b->pool_len;
	b->hash[j] = (uint32_t)b->pool_len + 1;
	b->hash_used++;
	b->pool_len += n + 1;
	return 0;
}

static int add(struct builder *b, uint64_t key, unsigned len, uint32_t off)
{
	if (b->nraw == b->capraw) {
		size_t cap = b->capraw ? b->capraw * 2 : 4096;
		struct raw *p = reallocarray(b->raw, cap, sizeof(*p));
		if (!p)
			return -ENOMEM;
		b->raw = p;
		b->capraw = cap;
	}
	b->raw[b->nraw] = (struct raw){ .key = key, .off = off, .len = len,
					.seq = (uint32_t)b->nraw };
	b->nraw++;
	return 0;
}

static int flush_pending(struct builder *b)
{
	if (!b->pending)
		return 0;
	b->pending = false;
	return add(b, b->pend_prefix, 24, b->pend_off);
}

/* Reads 6 hex digits, with sep between the pairs when sep != 0 ("00-22-72").
 * Returns the position after them, or NULL. */
static const char *hex24(const char *s, char sep, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 6; i++) {
		int d = util_hexval(*s);
		if (d < 0)
			return NULL;
		v = v << 4 | (uint32_t)d;
		s++;
		if (sep && (i == 1 || i == 3)) {
			if (*s != sep)
				return NULL;
			s++;
		}
	}
	*out = v;
	return s;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* "tag" after blanks, then blanks; returns the rest or NULL. */
static const char *expect(const char *s, const char *tag)
{
	const char *p = skip_ws(s);
	size_t n = strlen(tag);

	if (p == s || strncmp(p, tag, n) != 0)
		return NULL;
	return skip_ws(p + n);
}

/* Length of the name at s without trailing blanks and line end. */
static size_t name_len(const char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' ||
		     s[n - 1] == '\t'))
		n--;
	return n;
}

/* Number of low bits a range low-high leaves free, or -1 when it is not an
 * aligned power-of-two block. */
static int range_bits(uint32_t lo, uint32_t hi)
{
	uint32_t x = lo ^ hi;

	if (hi < lo || (x & (x + 1)) != 0 || (lo & x) != 0 || (hi & x) != x)
		return -1;
	return __builtin_popcount(x);
}

static int parse_line(struct builder *b, const char *line)
{
	uint32_t prefix, lo, hi;
	const char *p, *name;
	size_t n;
	int ret;

	/* "00-22-72   (hex)\t\tName" */
	if ((p = hex24(line, '-', &prefix)) && (name = expect(p, "(hex)"))) {
		ret = flush_pending(b);
		if (ret < 0)
			return ret;
		n = name_len(name);
		if (!n) {
			b->skipped++;
			return 0;
		}
		ret = intern(b, name, n, &b->pend_off);
		if (ret < 0)
			return ret;
		b->pend_prefix = prefix;
		b->pending = true;
		return 0;
	}
	/* "002272     (base 16)..." or "B00000-BFFFFF     (base 16)..." */
	if ((p = hex24(line, 0, &lo))) {
		int free_bits;

		if (expect(p, "(base 16)"))
			return flush_pending(b); /* a plain MA-L entry */
		if (*p != '-' || !(p = hex24(p + 1, 0, &hi)) || !expect(p, "(base 16)"))
			return 0;
		free_bits = range_bits(lo, hi);
		if (!b->pending || (free_bits != 20 && free_bits != 12)) {
			b->skipped++;
			b->pending = false;
			return 0;
		}
		b->pending = false;
		unsigned len = 48 - (unsigned)free_bits;
		uint64_t key = (uint64_t)b->pend_prefix << (len - 24) | lo >> free_bits;
		return add(b, key, len, b->pend_off);
	}
	if (strstr(line, "(hex)"))
		b->skipped++;
	return 0;
}

static int load_file(struct builder *b, const char *path)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	int ret;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) >= 0) {
		ret = parse_line(b, line);
		if (ret < 0)
			return ret;
	}
	if (ferror(f))
		return -EIO;
	return flush_pending(b);
}

static int cmp_raw(const void *pa, const void *pb)
{
	const struct raw *a = pa, *b = pb;

	if (a->len != b->len)
		return a->len > b->len ? -1 : 1; /* longest first, as lens[] */
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int finish(struct builder *b, struct oui **out)
{
	struct oui *o = calloc(1, sizeof(*o));
	size_t n = 0;

	if (!o)
		return -ENOMEM;
	if (b->nraw)
		qsort(b->raw, b->nraw, sizeof(*b->raw), cmp_raw);
	o->ent = malloc((b->nraw ? b->nraw : 1) * sizeof(*o->ent));
	if (!o->ent) {
		free(o);
		return -ENOMEM;
	}
	for (size_t l = 0, i = 0; l < NLENS; l++) {
		o->start[l] = n;
		for (; i < b->nraw && b->raw[i].len == lens[l]; i++) {
			if (n > o->start[l] && o->ent[n - 1] >> OFF_BITS == b->raw[i].key)
				continue; /* duplicate prefix: keep the first */
			o->ent[n++] = b->raw[i].key << OFF_BITS | b->raw[i].off;
		}
	}
	o->start[NLENS] = n;
	/* Trim the spare capacity (shrinking realloc keeps the data). */
	if (n) {
		uint64_t *e = realloc(o->ent, n * sizeof(*e));
		if (e)
			o->ent = e;
	}
	o->pool = steal_ptr(&b->pool);
	o->pool_len = b->pool_len;
	if (o->pool_len) {
		char *p = realloc(o->pool, o->pool_len);
		if (p)
			o->pool = p;
	}
	*out = o;
	return 0;
}

int oui_load_files(const char *const *paths, unsigned n, struct oui **out)
{
	struct builder b = { 0 };
	unsigned found = 0;
	int ret = 0;

	if (!out || (n && !paths))
		return -EINVAL;
	for (unsigned i = 0; i < n && ret == 0; i++) {
		size_t before = b.nraw;
		unsigned skipped = b.skipped;

		if (!paths[i]) {
			ret = -EINVAL;
			break;
		}
		ret = load_file(&b, paths[i]);
		if (ret == -ENOENT) {
			log_debug("oui: %s: not found", paths[i]);
			ret = 0;
			continue;
		}
		if (ret < 0) {
			log_err("oui: %s: %s", paths[i], strerror(-ret));
			break;
		}
		found++;
		log_debug("oui: %s: %zu prefixes, %u malformed entries skipped", paths[i],
			  b.nraw - before, b.skipped - skipped);
	}
	if (ret == 0 && !found)
		ret = -ENOENT;
	if (ret == 0)
		ret = finish(&b, out);
	free(b.raw);
	free(b.pool);
	free(b.hash);
	return ret;
}

int oui_load(const char *path, struct oui **out)
{
	if (!path)
		return -EINVAL;
	return oui_load_files(&path, 1, out);
}

/* ---- queries ---- */

const char *oui_lookup(const struct oui *o, const struct mac *m)
{
	uint64_t m48 = 0;

	if (!o || !m || mac_is_local(m) || mac_is_multicast(m))
		return NULL;
	for (int i = 0; i < 6; i++)
		m48 = m48 << 8 | m->b[i];
	for (size_t l = 0; l < NLENS; l++) {
		uint64_t key = m48 >> (48 - lens[l]);
		size_t lo = o->start[l], hi = o->start[l + 1];

		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			uint64_t k = o->ent[mid] >> OFF_BITS;
			if (k == key)
				return o->pool + (o->ent[mid] & OFF_MASK);
			if (k < key)
				lo = mid + 1;
			else
				hi = mid;
		}
	}
	return NULL;
}

unsigned oui_count(const struct oui *o)
{
	return o ? (unsigned)o->start[NLENS] : 0;
}

void oui_free(struct oui *o)
{
	if (!o)
		return;
	free(o->ent);
	free(o->pool);
	free(o);
}
