/* libFuzzer target for everything rampartd decodes from a peer: control
 * requests (from the CLI), control responses (the CLI decodes them),
 * app channel requests (from apps) and replies (the app side), and the
 * error-report records read back from disk. The first byte picks the
 * decoder; the rest is the input. A request that decodes must re-encode
 * and decode to the same request. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "store/apps.h"
#include "store/reports.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void request(const uint8_t *p, size_t n)
{
	struct rp_ctl_req r, back;
	struct rp_buf b;
	struct rp_err e;

	if (rp_ctl_req_decode(p, n, &r, &e))
		return;
	if (rp_ctl_req_encode(&r, &b, &e))
		abort(); /* decoded requests always re-encode */
	if (rp_ctl_req_decode(b.data, b.len, &back, &e) ||
	    memcmp(&r, &back, sizeof(r)) != 0)
		abort();
	rp_buf_free(&b);
}

static void response(const uint8_t *p, size_t n)
{
	struct rp_err e, remote;
	json_t *res = NULL;

	if (rp_ctl_resp_decode(p, n, &res, &remote, &e) == 0 && !res &&
	    remote.code >= 0)
		abort(); /* an error reply always carries a negative code */
	json_decref(res);
}

static void channel(const uint8_t *p, size_t n)
{
	uint8_t id[16];
	const char *kind;
	char buf[RP_CTL_CHAN_MAX];
	struct rp_err e, remote;
	size_t len;

	if (rp_ctl_chan_decode(p, n, id, &e) == 0 &&
	    rp_ctl_chan_encode("connected", id, buf, sizeof(buf), &len, &e) != 0)
		abort();
	if (rp_ctl_chan_decode_reply(p, n, &kind, id, &remote, &e) == 0 &&
	    strcmp(kind, "error") == 0 &&
	    rp_ctl_chan_encode_err(&remote, buf, sizeof(buf), &len, &e) != 0)
		abort();
}

static void record(const uint8_t *p, size_t n)
{
	uint8_t rec[RP_REPORT_LEN];
	struct rp_report r;
	struct rp_err e;
	char desc[320];

	memset(rec, 0, sizeof(rec));
	memcpy(rec, p, n < sizeof(rec) ? n : sizeof(rec));
	/* Let the fuzzer reach past the CRC: fix it up on request. */
	if (n > sizeof(rec)) {
		uint32_t c = rp_crc32(rec, RP_REPORT_LEN - 4);

		rec[252] = (uint8_t)c;
		rec[253] = (uint8_t)(c >> 8);
		rec[254] = (uint8_t)(c >> 16);
		rec[255] = (uint8_t)(c >> 24);
	}
	if (rp_report_decode(rec, &r, &e) == 0)
		rp_report_describe(&r, desc, sizeof(desc));
}

static void state(const uint8_t *p, size_t n)
{
	struct rp_app_state st;
	struct rp_err e;

	if (rp_app_state_decode(p, n, &st, &e) == 0 && st.uid == 0)
		abort(); /* uid 0 is never a valid app uid */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 5) {
	case 0: request(data + 1, size - 1); break;
	case 1: response(data + 1, size - 1); break;
	case 2: channel(data + 1, size - 1); break;
	case 3: record(data + 1, size - 1); break;
	default: state(data + 1, size - 1); break;
	}
	return 0;
}
