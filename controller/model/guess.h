/* guess.h - a first guess at what kind of device a record is, for people
 * deciding about it (the staff portal shows "printer?"), from what the
 * device told us: its DHCP vendor class and host name, its vendor (OUI),
 * and whether its MAC is a private (randomised) address. Pure: no I/O.
 * A guess is never a decision; the type people set always wins.
 */
#ifndef APGATE_GUESS_H
#define APGATE_GUESS_H

#include "model/reg.h"

/* REG_TYPE_NONE when nothing points anywhere. *why (may be NULL) gets a
 * static phrase naming the clue ("DHCP vendor class", "host name",
 * "vendor", "private address"). */
enum reg_type guess_type(const struct reg_device *d, const char **why);

#endif
