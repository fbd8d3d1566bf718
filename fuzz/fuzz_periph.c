/* libFuzzer target for the peripheral handle protocol (lib/periph): decode
 * one datagram, check it as a request, and for a well-formed SPI transfer
 * walk its segments, checking the invariants a server relies on. A decoded
 * message re-encodes to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "periph/periph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[RP_PH_MSG_MAX];
	struct rp_ph_msg m;
	size_t off = 0, reads = 0, segs = 0, n;
	const uint8_t *d;
	uint16_t len;
	uint8_t dir;

	if (rp_ph_decode(data, size, &m))
		return 0;
	n = rp_ph_encode(&m, out, sizeof(out));
	if (n != size || memcmp(out, data, size) != 0)
		__builtin_trap();
	(void)rp_ph_op_name(m.op);
	if (rp_ph_check_request(&m) || m.op != RP_PH_SPI_XFER)
		return 0;
	while (rp_ph_spi_next(&m, &off, &dir, &len, &d)) {
		if (++segs > RP_PH_SPI_SEGS_MAX || len == 0 || len > RP_PH_DATA_MAX)
			__builtin_trap();
		if (dir == RP_PH_SPI_WRITE) {
			if (!d || d < m.data || d + len > m.data + m.len)
				__builtin_trap();
		} else if (dir == RP_PH_SPI_READ) {
			reads += len;
			if (d)
				__builtin_trap();
		} else {
			__builtin_trap();
		}
	}
	/* A checked request is walked to its end, its reads fit one reply. */
	if (off != m.len || segs == 0 || reads > RP_PH_DATA_MAX ||
	    reads != rp_ph_spi_read_len(&m))
		__builtin_trap();
	return 0;
}
