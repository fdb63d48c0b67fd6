/* fuzz_cfg - libFuzzer target for the configuration parser
 * (controller/core/cfg.c): each input becomes the content of one file in
 * memory (a memfd, opened by cfg_load() as /proc/self/fd/N: a file on
 * /tmp costs a block device's latency per input) and is loaded with
 * cfg_load(); a snapshot it returns is checked and freed. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* libFuzzer's entry points carry no user data */
static int mfd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	mfd = memfd_create("apgate.conf", MFD_CLOEXEC);
	if (mfd < 0)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", mfd);
	log_open("fuzz_cfg", LOG_LVL_ERR, false);
	log_set_level(LOG_LVL_ERR);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *errs = fopen("/dev/null", "w");
	struct cfg *c = NULL;

	if (!errs || ftruncate(mfd, 0) < 0 || (size && pwrite(mfd, data, size, 0) != (ssize_t)size))
		abort();
	int r = cfg_load(path, errs, &c);
	fclose(errs);
	if (r == 0) {
		/* every BSS the snapshot lists is found by its name */
		for (unsigned i = 0; i < c->n_bss; i++)
			if (cfg_find_bss(c, c->bss[i].ifname) != &c->bss[i] &&
			    cfg_find_bss(c, c->bss[i].ifname) == NULL)
				abort();
		cfg_free(c);
	} else if (c) {
		abort(); /* no snapshot on failure */
	}
	return 0;
}
