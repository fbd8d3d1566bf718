/* libFuzzer target for the hardware-definition parser: parse one file,
 * walk its peripherals and generate the header, freeing everything. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "format/board.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rp_board *b = NULL;
	struct rp_buf out;
	struct rp_err e;
	size_t i, n;

	rp_err_clear(&e);
	if (rp_board_parse(data, size, "fuzz.json", &b, &e))
		return 0;
	n = rp_board_count(b);
	for (i = 0; i < n; i++) {
		const struct rp_board_periph *p = rp_board_at(b, i);

		/* Every name can be found again, and finds the first holder. */
		if (!p || rp_board_find(b, p->name) != p || !p->header_value)
			__builtin_trap();
	}
	if (rp_board_header(b, &out, &e) == 0)
		rp_buf_free(&out);
	(void)rp_board_name(b);
	(void)rp_board_header_name(b);
	rp_board_free(b);
	return 0;
}
