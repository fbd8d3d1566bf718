/* libFuzzer target: the payload archive reader over bytes in memory. It
 * must refuse or accept every input without reading out of bounds,
 * crashing or leaking; an accepted archive is walked a second time with
 * the iterator to check both paths agree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "format/archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_mem_src m = { data, size };
	struct rp_archive_iter it;
	struct rp_archive_entry *ent;
	struct rp_err e;
	uint64_t ne = 0, nb = 0, count = 0;
	int rc;

	rp_err_clear(&e);
	if (rp_archive_check(rp_mem_read_at, &m, size, &ne, &nb, &e) != 0)
		return 0;
	ent = malloc(sizeof(*ent));
	if (!ent)
		return 0;
	rp_archive_iter_init(&it, rp_mem_read_at, &m, size);
	while ((rc = rp_archive_next(&it, ent, &e)) == 0) {
		if (ent->type == RP_AR_FILE &&
		    (ent->data_off > size || ent->size > size - ent->data_off))
			abort();
		count++;
	}
	if (rc != 1 || count != ne)
		abort();
	free(ent);
	return 0;
}
