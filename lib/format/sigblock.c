#include "format/sigblock.h"

#include <stdio.h>
#include <string.h>

#include "base/bytes.h"
#include "base/file.h"
#include "base/rd.h"

#define SIG_MAGIC "RAMPSIG\0"
#define END_MAGIC "RAMPEND\0"

const char *rp_sig_alg_name(uint8_t alg)
{
	const char *n = NULL;

	if (alg == RP_KEY_ED25519 || alg == RP_KEY_P256)
		n = rp_key_type_name((enum rp_key_type)alg);
	return n ? n : "unknown";
}

static int bad_len(uint8_t alg, size_t len)
{
	if (alg == RP_KEY_ED25519)
		return len != RP_SIGBLOCK_ED25519_LEN;
	if (alg == RP_KEY_P256)
		return len < RP_SIGBLOCK_ECDSA_MIN || len > RP_SIGBLOCK_ECDSA_MAX;
	return 1;
}

int rp_sigblock_parse(const uint8_t *b, size_t len, size_t max_sigs,
		      struct rp_sigblock *sb, struct rp_err *e)
{
	uint8_t magic[8];
	uint16_t ver, count;
	uint32_t rsv;
	struct rp_rd r;
	size_t i, j;

	memset(sb, 0, sizeof(*sb));
	if (max_sigs > RP_SIGBLOCK_SIGS_MAX)
		max_sigs = RP_SIGBLOCK_SIGS_MAX;
	if (len < RP_SIGBLOCK_MIN)
		return rp_err_set(e, RP_EFORMAT, "signature block: too short");
	if (len > RP_SIGBLOCK_MAX)
		return rp_err_set(e, RP_EFORMAT, "signature block: %zu bytes is too long",
				  len);
	if (rp_dec32le(b + len - RP_SIGBLOCK_TRAILER_LEN) != len ||
	    memcmp(b + len - 8, END_MAGIC, 8) != 0)
		return rp_err_set(e, RP_EFORMAT, "signature block: bad trailer");
	rp_rd_init(&r, b, len - RP_SIGBLOCK_TRAILER_LEN);
	if (rp_rd_copy(&r, magic, 8) || rp_rd_u16(&r, &ver) ||
	    rp_rd_u16(&r, &count) || rp_rd_u32(&r, &rsv))
		return rp_err_set(e, RP_EFORMAT, "signature block: truncated");
	if (memcmp(magic, SIG_MAGIC, 8) != 0)
		return rp_err_set(e, RP_EFORMAT, "signature block: bad magic");
	if (ver != 1)
		return rp_err_set(e, RP_EFORMAT,
				  "signature block: unsupported version %u",
				  (unsigned)ver);
	if (count < 1 || count > max_sigs)
		return rp_err_set(e, RP_EFORMAT,
				  "signature block: %u signatures (must be 1..%zu)",
				  (unsigned)count, max_sigs);
	if (rsv != 0)
		return rp_err_set(e, RP_EFORMAT,
				  "signature block: reserved field is not zero");
	for (i = 0; i < count; i++) {
		struct rp_sig *s = &sb->s[i];
		uint8_t r8;

		if (rp_rd_u8(&r, &s->alg) || rp_rd_u8(&r, &r8) ||
		    rp_rd_u16(&r, &s->len) ||
		    rp_rd_copy(&r, s->key_id, RP_KEYID_LEN))
			return rp_err_set(e, RP_EFORMAT,
					  "signature block: signature %zu: truncated",
					  i + 1);
		if (s->alg != RP_KEY_ED25519 && s->alg != RP_KEY_P256)
			return rp_err_set(e, RP_EFORMAT,
					  "signature block: signature %zu: unknown algorithm %u",
					  i + 1, (unsigned)s->alg);
		if (r8 != 0)
			return rp_err_set(e, RP_EFORMAT,
					  "signature block: signature %zu: reserved byte is not zero",
					  i + 1);
		if (bad_len(s->alg, s->len))
			return rp_err_set(e, RP_EFORMAT,
					  "signature block: signature %zu: bad length %u for %s",
					  i + 1, (unsigned)s->len, rp_sig_alg_name(s->alg));
		if (rp_rd_copy(&r, s->bytes, s->len))
			return rp_err_set(e, RP_EFORMAT,
					  "signature block: signature %zu: truncated",
					  i + 1);
		for (j = 0; j < i; j++)
			if (memcmp(sb->s[j].key_id, s->key_id, RP_KEYID_LEN) == 0)
				return rp_err_set(e, RP_EFORMAT,
						  "signature block: signature %zu: same key as signature %zu",
						  i + 1, j + 1);
	}
	sb->n = count;
	if (rp_rd_left(&r) != 0)
		return rp_err_set(e, RP_EFORMAT,
				  "signature block: %zu unexpected bytes before the trailer",
				  rp_rd_left(&r));
	return 0;
}

size_t rp_sigblock_encode(const struct rp_sigblock *sb, uint8_t *out)
{
	size_t off = RP_SIGBLOCK_HDR_LEN, i;

	memcpy(out, SIG_MAGIC, 8);
	rp_enc16le(out + 8, 1);
	rp_enc16le(out + 10, (uint16_t)sb->n);
	rp_enc32le(out + 12, 0);
	for (i = 0; i < sb->n; i++) {
		const struct rp_sig *s = &sb->s[i];

		out[off] = s->alg;
		out[off + 1] = 0;
		rp_enc16le(out + off + 2, s->len);
		memcpy(out + off + 4, s->key_id, RP_KEYID_LEN);
		memcpy(out + off + RP_SIGBLOCK_SIG_FIXED_LEN, s->bytes, s->len);
		off += RP_SIGBLOCK_SIG_FIXED_LEN + s->len;
	}
	rp_enc32le(out + off, (uint32_t)(off + RP_SIGBLOCK_TRAILER_LEN));
	memcpy(out + off + 4, END_MAGIC, 8);
	return off + RP_SIGBLOCK_TRAILER_LEN;
}

int rp_sigblock_sign(struct rp_sigblock *sb, size_t max_sigs,
		     const struct rp_key *k, const uint8_t *msg, size_t len,
		     struct rp_err *e)
{
	enum rp_key_type t = rp_key_type(k);
	struct rp_sig *s;
	size_t siglen = 0, i;
	int rc;

	if (max_sigs > RP_SIGBLOCK_SIGS_MAX)
		max_sigs = RP_SIGBLOCK_SIGS_MAX;
	if (sb->n >= max_sigs)
		return rp_err_set(e, RP_ERANGE, "already %zu signatures (the maximum)",
				  max_sigs);
	for (i = 0; i < sb->n; i++)
		if (memcmp(sb->s[i].key_id, rp_key_id(k), RP_KEYID_LEN) == 0)
			return rp_err_set(e, RP_EUSAGE,
					  "already signed by this key (signature %zu)",
					  i + 1);
	s = &sb->s[sb->n];
	memset(s, 0, sizeof(*s));
	rc = rp_sign(k, msg, len, s->bytes, &siglen, e);
	if (rc)
		return rp_err_prefix(e, "signing");
	if (siglen > UINT16_MAX || bad_len((uint8_t)t, siglen))
		return rp_err_set(e, RP_ECRYPTO, "signing: unexpected signature");
	s->alg = (uint8_t)t;
	s->len = (uint16_t)siglen;
	memcpy(s->key_id, rp_key_id(k), RP_KEYID_LEN);
	sb->n++;
	return 0;
}

int rp_sigblock_add(struct rp_sigblock *sb, size_t max_sigs, uint8_t alg,
		    const uint8_t key_id[RP_KEYID_LEN], const uint8_t *sig,
		    size_t len, struct rp_err *e)
{
	struct rp_sig *s;
	size_t i;

	if (max_sigs > RP_SIGBLOCK_SIGS_MAX)
		max_sigs = RP_SIGBLOCK_SIGS_MAX;
	if (sb->n >= max_sigs)
		return rp_err_set(e, RP_ERANGE, "already %zu signatures (the maximum)",
				  max_sigs);
	if ((alg != RP_KEY_ED25519 && alg != RP_KEY_P256) || !sig ||
	    len > RP_SIG_MAX || bad_len(alg, len))
		return rp_err_set(e, RP_EINVAL, "signature: bad algorithm or length");
	for (i = 0; i < sb->n; i++)
		if (memcmp(sb->s[i].key_id, key_id, RP_KEYID_LEN) == 0)
			return rp_err_set(e, RP_EUSAGE,
					  "already signed by this key (signature %zu)",
					  i + 1);
	s = &sb->s[sb->n];
	memset(s, 0, sizeof(*s));
	s->alg = alg;
	s->len = (uint16_t)len;
	memcpy(s->key_id, key_id, RP_KEYID_LEN);
	memcpy(s->bytes, sig, len);
	sb->n++;
	return 0;
}

int rp_sigblock_verify(struct rp_sigblock *sb, const uint8_t *msg, size_t len,
		       const struct rp_key *const *trusted, size_t ntrusted,
		       struct rp_err *e)
{
	char signers[RP_SIGBLOCK_SIGS_MAX * 18 + 1], hex[2 * RP_KEYID_LEN + 1];
	size_t i, j, nvalid = 0, off = 0;
	int rc;

	for (i = 0; i < sb->n; i++) {
		struct rp_sig *s = &sb->s[i];

		s->valid = 0;
		for (j = 0; j < ntrusted; j++) {
			const struct rp_key *k = trusted[j];

			if (!rp_ct_equal(rp_key_id(k), s->key_id, RP_KEYID_LEN))
				continue;
			rp_hex(s->key_id, 8, hex); /* 16 digits name a key here */
			if (rp_key_type(k) != (enum rp_key_type)s->alg)
				return rp_err_set(e, RP_EVERIFY,
						  "signature %zu: algorithm %s does not match trusted key %s",
						  i + 1, rp_sig_alg_name(s->alg), hex);
			rc = rp_verify(k, msg, len, s->bytes, s->len, e);
			if (rc)
				return rp_err_prefix(e, "signature %zu by trusted key %s",
						     i + 1, hex);
			s->valid = 1;
			nvalid++;
			break;
		}
	}
	if (ntrusted == 0 || nvalid > 0)
		return 0;
	signers[0] = '\0';
	for (i = 0; i < sb->n && off < sizeof(signers); i++) {
		int w;

		rp_hex(sb->s[i].key_id, 8, hex);
		w = snprintf(signers + off, sizeof(signers) - off, "%s%s",
			     i ? ", " : "", hex);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return rp_err_set(e, RP_EUNTRUSTED, "signed by no trusted key (signers: %s)",
			  signers);
}
