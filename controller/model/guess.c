#include "model/guess.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util.h"

struct clue {
	const char *word; /* matched case-insensitively as a substring */
	enum reg_type type;
};

/* DHCP option 60 as the common client stacks send it. */
static const struct clue vendor_class[] = {
	{ "android-dhcp", REG_TYPE_PHONE }, { "MSFT", REG_TYPE_PC },
};

/* Words in host names; order matters (first match wins). */
static const struct clue host_words[] = {
	{ "ipad", REG_TYPE_TABLET },    { "tablet", REG_TYPE_TABLET }, { "galaxy-tab", REG_TYPE_TABLET },
	{ "iphone", REG_TYPE_PHONE },   { "android", REG_TYPE_PHONE }, { "galaxy", REG_TYPE_PHONE },
	{ "pixel", REG_TYPE_PHONE },    { "phone", REG_TYPE_PHONE },   { "xperia", REG_TYPE_PHONE },
	{ "printer", REG_TYPE_PRINTER }, { "epson", REG_TYPE_PRINTER }, { "brother", REG_TYPE_PRINTER },
	{ "canon", REG_TYPE_PRINTER },  { "ricoh", REG_TYPE_PRINTER }, { "kyocera", REG_TYPE_PRINTER },
	{ "xerox", REG_TYPE_PRINTER },  { "mfp", REG_TYPE_PRINTER },   { "npi", REG_TYPE_PRINTER },
	{ "pos", REG_TYPE_POS },        { "till", REG_TYPE_POS },      { "register", REG_TYPE_POS },
	{ "payment", REG_TYPE_PAYMENT }, { "verifone", REG_TYPE_PAYMENT }, { "ingenico", REG_TYPE_PAYMENT },
	{ "signage", REG_TYPE_SIGNAGE }, { "display", REG_TYPE_SIGNAGE }, { "chromecast", REG_TYPE_SIGNAGE },
	{ "desktop", REG_TYPE_PC },     { "laptop", REG_TYPE_PC },     { "macbook", REG_TYPE_PC },
	{ "imac", REG_TYPE_PC },        { "thinkpad", REG_TYPE_PC },   { "-pc", REG_TYPE_PC },
};

/* Vendor names of the IEEE registry. */
static const struct clue vendor_words[] = {
	{ "Seiko Epson", REG_TYPE_PRINTER }, { "Brother", REG_TYPE_PRINTER }, { "Canon", REG_TYPE_PRINTER },
	{ "Ricoh", REG_TYPE_PRINTER },      { "Kyocera", REG_TYPE_PRINTER }, { "Xerox", REG_TYPE_PRINTER },
	{ "Lexmark", REG_TYPE_PRINTER },    { "Ingenico", REG_TYPE_PAYMENT }, { "VeriFone", REG_TYPE_PAYMENT },
	{ "PAX Computer", REG_TYPE_PAYMENT }, { "Castles", REG_TYPE_PAYMENT },
};

static enum reg_type match(const char *s, const struct clue *c, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (strcasestr(s, c[i].word))
			return c[i].type;
	return REG_TYPE_NONE;
}

enum reg_type guess_type(const struct reg_device *d, const char **why)
{
	enum reg_type t;
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = NULL;
	if ((t = match(d->dhcp_vendor_class, vendor_class, ARRAY_SIZE(vendor_class)))) {
		*why = "DHCP vendor class";
		return t;
	}
	if ((t = match(d->dhcp_hostname, host_words, ARRAY_SIZE(host_words))) ||
	    (t = match(d->hostname, host_words, ARRAY_SIZE(host_words)))) {
		*why = "host name";
		return t;
	}
	if ((t = match(d->vendor, vendor_words, ARRAY_SIZE(vendor_words)))) {
		*why = "vendor";
		return t;
	}
	/* what its user said on the captive page */
	if (d->claim_cls == REG_CLASS_PERSONAL) {
		*why = "its user says it is personal";
		return REG_TYPE_PHONE;
	}
	/* locally administered unicast: phones and tablets randomise their
	 * address per network; fixed devices keep the vendor's (unless its
	 * user says it is a business device) */
	if (d->claim_cls != REG_CLASS_BUSINESS && util_hexval(d->mac[1]) >= 0 && (util_hexval(d->mac[1]) & 0x2)) {
		*why = "private address";
		return REG_TYPE_PHONE;
	}
	return REG_TYPE_NONE;
}
