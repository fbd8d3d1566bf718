/* libFuzzer target: targets documents (docs/formats/targets.md).
 *
 * Every input is verified against the committed test-only key
 * tests/vectors/targets/keys/targets-test.pub, so the envelope, the
 * signature block and the signature path run on mutated signed seeds.
 * The fuzzer cannot forge an Ed25519 signature, so two more modes reach
 * the code behind it:
 *   'P' | payload   the payload decoder alone (rp_targets_parse_payload),
 *                   and on success the acceptance rules against a fixed
 *                   state and the encoder, whose output must parse back
 *                   to the same document;
 *   'S' | bytes     the state-file decoder, and on success its encoder,
 *                   which must reproduce the input exactly. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "format/targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char targets_test_pub[] =
	"-----BEGIN PUBLIC KEY-----\n"
	"MCowBQYDK2VwAyEA04DJ+RiUPBMvHTTCdOIVeMvUp2S/fmf4JjZLd98nOco=\n"
	"-----END PUBLIC KEY-----\n";

static void same_doc(const struct rp_targets *a, const struct rp_targets *b)
{
	size_t i;

	if (memcmp(a->tenant, b->tenant, sizeof(a->tenant)) ||
	    memcmp(a->product, b->product, sizeof(a->product)) ||
	    memcmp(a->group, b->group, sizeof(a->group)) ||
	    memcmp(a->device, b->device, sizeof(a->device)) ||
	    a->version != b->version || a->issued_at != b->issued_at ||
	    a->expires != b->expires || a->nimages != b->nimages)
		abort();
	for (i = 0; i < a->nimages; i++)
		if (memcmp(&a->images[i], &b->images[i], sizeof(a->images[i])))
			abort();
}

static void payload(const uint8_t *p, size_t n)
{
	struct rp_targets *t = NULL, *back = NULL;
	struct rp_targets_state st;
	struct rp_targets_expect x;
	struct rp_buf enc;
	struct rp_err e;

	rp_buf_init(&enc, 0);
	t = malloc(sizeof(*t));
	back = malloc(sizeof(*back));
	if (!t || !back)
		goto out;
	if (rp_targets_parse_payload(p, n, t, &e))
		goto out;
	if (t->nimages > RP_TARGETS_IMAGES_MAX || t->expires <= t->issued_at)
		abort();
	/* The acceptance rules on a decoded document: must not crash, and a
	 * replay of what the state holds must be refused. */
	rp_targets_state_init(&st);
	rp_targets_state_accept(&st, t);
	memset(&x, 0, sizeof(x));
	x.tenant = t->tenant;
	x.device = t->device;
	x.now = t->issued_at;
	if (rp_targets_check(t, &st, &x, &e) != RP_EPOLICY)
		abort();
	if (t->nimages > 0 &&
	    rp_targets_state_note_installed(&st, t->images[0].component_id,
					    UINT32_MAX, &e) == 0 &&
	    rp_targets_check(t, &st, &x, &e) == 0)
		abort(); /* still a replay, whatever else */
	/* Decode -> encode -> decode is the identity on the values. */
	if (rp_targets_encode_payload(t, &enc, &e))
		abort();
	if (rp_targets_parse_payload(enc.data, enc.len, back, &e))
		abort();
	same_doc(t, back);
out:
	rp_buf_free(&enc);
	free(t);
	free(back);
}

static void state(const uint8_t *p, size_t n)
{
	struct rp_targets_state st;
	struct rp_buf enc;
	struct rp_err e;

	if (rp_targets_state_decode(p, n, &st, &e))
		return;
	if (rp_targets_state_encode(&st, &enc, &e))
		abort();
	if (enc.len != n || memcmp(enc.data, p, n))
		abort();
	rp_buf_free(&enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Loaded once; lives for the whole process (a harness, not a
	 * library: the no-globals rule is about library state). */
	static struct rp_key *key;
	static int loaded;
	const struct rp_key *trusted[1];
	struct rp_targets *t;
	struct rp_err e;

	if (!loaded) {
		loaded = 1;
		if (rp_key_load_pem((const uint8_t *)targets_test_pub,
				    strlen(targets_test_pub), 0, &key, &e))
			abort();
	}
	if (size > 0 && data[0] == 'P') {
		payload(data + 1, size - 1);
		return 0;
	}
	if (size > 0 && data[0] == 'S') {
		state(data + 1, size - 1);
		return 0;
	}
	t = malloc(sizeof(*t));
	if (!t)
		return 0;
	trusted[0] = key;
	if (rp_targets_verify(data, size, trusted, 1, t, &e) == 0) {
		if (t->nimages > RP_TARGETS_IMAGES_MAX ||
		    memcmp(t->signer, rp_key_id(key), RP_KEYID_LEN))
			abort();
	}
	free(t);
	return 0;
}
