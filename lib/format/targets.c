/* Targets documents: build and sign (service), verify then parse and
 * accept (device), and the device's persistent acceptance state.
 * docs/formats/targets.md is the byte-level spec; this file follows it
 * section by section. */
#include "format/targets.h"
#include "format/sigblock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/bytes.h"
#include "base/file.h"
#include "base/json.h"
#include "base/rd.h"
#include "format/manifest.h"

/* Envelope header. */
#define MAGIC "RAMPTGT\0"
#define H_VER 8
#define H_FLAGS 10
#define H_PLEN 12
#define FORMAT_VERSION 1

/* Signature block: the package's layout (docs/formats/image-package.md). */
#define SB_MIN RP_SIGBLOCK_MIN
#define PAYLOAD_MIN 2 /* "{}" */

/* State file. */
#define ST_MAGIC "RAMPTST\0"
#define ST_VER 8
#define ST_COUNT 10
#define ST_FLAGS 12
#define ST_VERSION 16
#define ST_ISSUED 24
#define ST_EXPIRES 32
#define ST_TENANT 40
#define ST_PRODUCT 56
#define ST_GROUP 72
#define ST_DIGEST 88
#define ST_RESERVED 120
#define ST_FLAG_ACCEPTED 1u

_Static_assert(ST_RESERVED + 8 == RP_TARGETS_STATE_HEADER_LEN,
	       "state header layout");
_Static_assert(RP_TARGETS_SIGBLOCK_MAX >= RP_SIGBLOCK_HDR_LEN + RP_TARGETS_SIGS_MAX *
	       (RP_SIGBLOCK_SIG_FIXED_LEN + RP_SIGBLOCK_ECDSA_MAX) + RP_SIGBLOCK_TRAILER_LEN,
	       "signature block cap fits the maximum signatures");
_Static_assert(RP_TARGETS_SIGS_MAX <= RP_SIGBLOCK_SIGS_MAX, "signature count");

static const char *const top_keys[] = {
	"tenant", "product", "device_group", "device", "version", "issued_at",
	"expires", "images", NULL,
};

static const char *const image_keys[] = {
	"component_id", "image_id", "version", "security_version", "type",
	"size", "sha256", NULL,
};

/* ---- small validators shared by the encoder and the decoder -------- */

static int version_char(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z') || c == '.' || c == '+' || c == '~' ||
	       c == '-';
}

static int valid_version_text(const char *s, size_t len)
{
	size_t i;

	if (len < 1 || len > RP_PKG_VERSION_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!version_char(s[i]))
			return 0;
	return 1;
}

static int valid_type(enum rp_image_type t)
{
	return t == RP_IMAGE_APP || t == RP_IMAGE_BOARD ||
	       t == RP_IMAGE_RUNTIME || t == RP_IMAGE_FIRMWARE;
}

static int lower_hex(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Rules on the values, whichever side made them: the encoder checks them
 * before writing, the decoder after reading. */
static int check_image(const struct rp_targets_image *im, size_t i,
		       struct rp_err *e)
{
	if (!valid_version_text(im->version, strnlen(im->version,
						     sizeof(im->version))))
		return rp_err_set(e, RP_EFORMAT,
				  "images[%zu].version: must be 1..%d characters of [0-9A-Za-z.+~-]",
				  i, RP_PKG_VERSION_LEN);
	if (!valid_type(im->type))
		return rp_err_set(e, RP_EFORMAT, "images[%zu].type: unknown", i);
	if (im->size < 1 || im->size > RP_TARGETS_INT_MAX)
		return rp_err_set(e, RP_EFORMAT, "images[%zu].size: out of range", i);
	return 0;
}

static int check_doc(const struct rp_targets *t, struct rp_err *e)
{
	size_t i, j;
	int rc;

	if (t->version < 1 || t->version > RP_TARGETS_INT_MAX)
		return rp_err_set(e, RP_EFORMAT, "version: must be 1..2^53-1");
	if (t->issued_at > RP_TARGETS_INT_MAX || t->expires > RP_TARGETS_INT_MAX)
		return rp_err_set(e, RP_EFORMAT, "issued_at/expires: above 2^53-1");
	if (t->expires <= t->issued_at)
		return rp_err_set(e, RP_EFORMAT, "expires: not after issued_at");
	if (t->expires - t->issued_at > RP_TARGETS_LIFETIME_MAX)
		return rp_err_set(e, RP_EFORMAT,
				  "expires: more than 366 days after issued_at");
	if (t->nimages > RP_TARGETS_IMAGES_MAX)
		return rp_err_set(e, RP_EFORMAT, "images: more than %d",
				  RP_TARGETS_IMAGES_MAX);
	for (i = 0; i < t->nimages; i++) {
		rc = check_image(&t->images[i], i, e);
		if (rc)
			return rc;
		for (j = 0; j < i; j++) {
			if (memcmp(t->images[j].component_id,
				   t->images[i].component_id, RP_GUID_LEN) == 0)
				return rp_err_set(e, RP_EFORMAT,
						  "images[%zu].component_id: same component as images[%zu]",
						  i, j);
			if (memcmp(t->images[j].image_id, t->images[i].image_id,
				   RP_GUID_LEN) == 0)
				return rp_err_set(e, RP_EFORMAT,
						  "images[%zu].image_id: same image as images[%zu]",
						  i, j);
		}
	}
	return 0;
}

/* ---- payload encoder ---------------------------------------------- */

int rp_targets_encode_payload(const struct rp_targets *t, struct rp_buf *out,
			      struct rp_err *e)
{
	char tenant[37], product[37], group[37], device[2 * RP_KEYID_LEN + 1];
	struct rp_buf b;
	size_t i;
	int rc;

	rp_buf_init(&b, RP_TARGETS_PAYLOAD_MAX);
	rc = check_doc(t, e);
	if (rc) {
		rp_err_prefix(e, "targets: payload");
		goto out;
	}
	rp_guid_format(t->tenant, tenant);
	rp_guid_format(t->product, product);
	rp_guid_format(t->group, group);
	rp_hex(t->device, RP_KEYID_LEN, device);
	rc = rp_buf_printf(&b,
			   "{\"tenant\":\"%s\",\"product\":\"%s\",\"device_group\":\"%s\","
			   "\"device\":\"%s\",\"version\":%llu,\"issued_at\":%llu,"
			   "\"expires\":%llu,\"images\":[",
			   tenant, product, group, device,
			   (unsigned long long)t->version,
			   (unsigned long long)t->issued_at,
			   (unsigned long long)t->expires);
	for (i = 0; rc == 0 && i < t->nimages; i++) {
		const struct rp_targets_image *im = &t->images[i];
		char cid[37], iid[37], sha[2 * RP_SHA256_LEN + 1];

		rp_guid_format(im->component_id, cid);
		rp_guid_format(im->image_id, iid);
		rp_hex(im->sha256, RP_SHA256_LEN, sha);
		rc = rp_buf_printf(&b,
				   "%s{\"component_id\":\"%s\",\"image_id\":\"%s\","
				   "\"version\":\"%s\",\"security_version\":%u,"
				   "\"type\":\"%s\",\"size\":%llu,\"sha256\":\"%s\"}",
				   i ? "," : "", cid, iid, im->version,
				   (unsigned)im->security_version,
				   rp_image_type_name(im->type),
				   (unsigned long long)im->size, sha);
	}
	if (rc == 0)
		rc = rp_buf_printf(&b, "]}");
	if (rc) {
		rc = rp_err_set(e, rc, "targets: payload: over %u bytes",
				RP_TARGETS_PAYLOAD_MAX);
		goto out;
	}
	*out = b;
	rp_buf_init(&b, 0);
out:
	rp_buf_free(&b);
	return rc;
}

/* ---- payload decoder ---------------------------------------------- */

static int get_str(json_t *obj, const char *key, const char *path,
		   const char **s, size_t *len, struct rp_err *e)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return rp_err_set(e, RP_EFORMAT, "%s%s: missing", path, key);
	if (!json_is_string(v))
		return rp_err_set(e, RP_EFORMAT, "%s%s: expected a string, got %s",
				  path, key, rp_json_type_name(v));
	*s = json_string_value(v);
	*len = json_string_length(v);
	return 0;
}

static int get_guid(json_t *obj, const char *key, const char *path,
		    uint8_t out[RP_GUID_LEN], struct rp_err *e)
{
	const char *s;
	size_t len;
	char canon[37];
	int rc;

	rc = get_str(obj, key, path, &s, &len, e);
	if (rc)
		return rc;
	if (rp_guid_parse(s, len, out))
		return rp_err_set(e, RP_EFORMAT, "%s%s: not a GUID", path, key);
	rp_guid_format(out, canon);
	if (memcmp(canon, s, 36) != 0)
		return rp_err_set(e, RP_EFORMAT, "%s%s: GUID not in lower case",
				  path, key);
	return 0;
}

static int get_hex(json_t *obj, const char *key, const char *path,
		   uint8_t *out, size_t n, struct rp_err *e)
{
	const char *s;
	size_t len;
	int rc;

	rc = get_str(obj, key, path, &s, &len, e);
	if (rc)
		return rc;
	if (len != 2 * n || !lower_hex(s, len) || rp_unhex(s, len, out, n))
		return rp_err_set(e, RP_EFORMAT,
				  "%s%s: expected %zu lower-case hex digits", path,
				  key, 2 * n);
	return 0;
}

static int get_uint(json_t *obj, const char *key, const char *path,
		    uint64_t max, uint64_t *out, struct rp_err *e)
{
	json_t *v = json_object_get(obj, key);
	json_int_t i;

	if (!v)
		return rp_err_set(e, RP_EFORMAT, "%s%s: missing", path, key);
	if (!json_is_integer(v))
		return rp_err_set(e, RP_EFORMAT, "%s%s: expected an integer, got %s",
				  path, key, rp_json_type_name(v));
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > max)
		return rp_err_set(e, RP_EFORMAT, "%s%s: out of range (0..%llu)",
				  path, key, (unsigned long long)max);
	*out = (uint64_t)i;
	return 0;
}

static int parse_image(json_t *v, size_t i, struct rp_targets_image *im,
		       struct rp_err *e)
{
	char path[32];
	const char *s;
	size_t len;
	uint64_t u;
	int rc;

	if (!json_is_object(v))
		return rp_err_set(e, RP_EFORMAT, "images[%zu]: expected an object, got %s",
				  i, rp_json_type_name(v));
	(void)snprintf(path, sizeof(path), "images[%zu]", i);
	rc = rp_json_only_keys(v, image_keys, path, e);
	if (rc)
		return rc;
	(void)snprintf(path, sizeof(path), "images[%zu].", i);
	memset(im, 0, sizeof(*im));
	rc = get_guid(v, "component_id", path, im->component_id, e);
	if (rc == 0)
		rc = get_guid(v, "image_id", path, im->image_id, e);
	if (rc == 0)
		rc = get_str(v, "version", path, &s, &len, e);
	if (rc)
		return rc;
	if (!valid_version_text(s, len))
		return rp_err_set(e, RP_EFORMAT,
				  "%sversion: must be 1..%d characters of [0-9A-Za-z.+~-]",
				  path, RP_PKG_VERSION_LEN);
	memcpy(im->version, s, len);
	rc = get_uint(v, "security_version", path, UINT32_MAX, &u, e);
	if (rc)
		return rc;
	im->security_version = (uint32_t)u;
	rc = get_str(v, "type", path, &s, &len, e);
	if (rc)
		return rc;
	/* Only the canonical names; rp_image_type_parse also takes aliases. */
	if (rp_image_type_parse(s, &im->type) ||
	    strcmp(s, rp_image_type_name(im->type)) != 0)
		return rp_err_set(e, RP_EFORMAT,
				  "%stype: must be application, board, runtime or firmware",
				  path);
	rc = get_uint(v, "size", path, RP_TARGETS_INT_MAX, &im->size, e);
	if (rc == 0)
		rc = get_hex(v, "sha256", path, im->sha256, RP_SHA256_LEN, e);
	return rc;
}

static int parse_json(json_t *root, struct rp_targets *t, struct rp_err *e)
{
	json_t *imgs;
	size_t i;
	int rc;

	if (!json_is_object(root))
		return rp_err_set(e, RP_EFORMAT, "expected an object, got %s",
				  rp_json_type_name(root));
	rc = rp_json_only_keys(root, top_keys, "", e);
	if (rc == 0)
		rc = get_guid(root, "tenant", "", t->tenant, e);
	if (rc == 0)
		rc = get_guid(root, "product", "", t->product, e);
	if (rc == 0)
		rc = get_guid(root, "device_group", "", t->group, e);
	if (rc == 0)
		rc = get_hex(root, "device", "", t->device, RP_KEYID_LEN, e);
	if (rc == 0)
		rc = get_uint(root, "version", "", RP_TARGETS_INT_MAX, &t->version, e);
	if (rc == 0)
		rc = get_uint(root, "issued_at", "", RP_TARGETS_INT_MAX,
			      &t->issued_at, e);
	if (rc == 0)
		rc = get_uint(root, "expires", "", RP_TARGETS_INT_MAX, &t->expires, e);
	if (rc)
		return rc;
	imgs = json_object_get(root, "images");
	if (!imgs)
		return rp_err_set(e, RP_EFORMAT, "images: missing");
	if (!json_is_array(imgs))
		return rp_err_set(e, RP_EFORMAT, "images: expected an array, got %s",
				  rp_json_type_name(imgs));
	if (json_array_size(imgs) > RP_TARGETS_IMAGES_MAX)
		return rp_err_set(e, RP_EFORMAT, "images: more than %d",
				  RP_TARGETS_IMAGES_MAX);
	t->nimages = json_array_size(imgs);
	for (i = 0; i < t->nimages; i++) {
		rc = parse_image(json_array_get(imgs, i), i, &t->images[i], e);
		if (rc)
			return rc;
	}
	return check_doc(t, e);
}

static int parse_payload(const uint8_t *buf, size_t len, struct rp_targets *t,
			 struct rp_err *e)
{
	json_t *root = NULL;
	size_t i;
	int rc;

	if (len < PAYLOAD_MIN || len > RP_TARGETS_PAYLOAD_MAX) {
		rc = rp_err_set(e, RP_EFORMAT, "%zu bytes (must be %d..%u)", len,
				PAYLOAD_MIN, RP_TARGETS_PAYLOAD_MAX);
		goto out;
	}
	/* ASCII only: every string field has an ASCII grammar, so no
	 * Unicode normalisation question can arise. */
	for (i = 0; i < len; i++)
		if (buf[i] >= 0x80) {
			rc = rp_err_set(e, RP_EFORMAT,
					"byte %zu is not ASCII", i);
			goto out;
		}
	rc = rp_json_parse(buf, len, RP_TARGETS_PAYLOAD_MAX, &root, e);
	if (rc)
		goto out;
	memset(t, 0, sizeof(*t));
	rc = parse_json(root, t, e);
out:
	if (root)
		json_decref(root);
	return rc;
}

int rp_targets_parse_payload(const uint8_t *buf, size_t len,
			     struct rp_targets *out, struct rp_err *e)
{
	struct rp_targets t;
	int rc;

	rc = parse_payload(buf, len, &t, e);
	if (rc)
		return rp_err_prefix(e, "targets: payload");
	*out = t;
	return 0;
}

/* ---- signature block --------------------------------------------- */

/* ---- build and verify --------------------------------------------- */

int rp_targets_encode_region(const struct rp_targets *t, struct rp_buf *out,
			     struct rp_err *e)
{
	uint8_t hdr[RP_TARGETS_HEADER_LEN];
	struct rp_buf payload, doc;
	struct rp_targets check;
	int rc;

	rp_buf_init(&payload, 0);
	rp_buf_init(&doc, RP_TARGETS_MAX);
	rc = rp_targets_encode_payload(t, &payload, e);
	if (rc)
		goto out;
	/* The device's own decoder must agree with what is about to be
	 * signed: a service bug must not produce documents devices refuse. */
	rc = parse_payload(payload.data, payload.len, &check, e);
	if (rc) {
		rp_err_prefix(e, "targets: built payload does not parse");
		goto out;
	}
	memcpy(hdr, MAGIC, 8);
	rp_enc16le(hdr + H_VER, FORMAT_VERSION);
	rp_enc16le(hdr + H_FLAGS, 0);
	rp_enc32le(hdr + H_PLEN, (uint32_t)payload.len);
	rc = rp_buf_append(&doc, hdr, sizeof(hdr));
	if (rc == 0)
		rc = rp_buf_append(&doc, payload.data, payload.len);
	if (rc) {
		rc = rp_err_set(e, rc, "targets: out of memory");
		goto out;
	}
	*out = doc;
	rp_buf_init(&doc, 0);
out:
	rp_buf_free(&payload);
	rp_buf_free(&doc);
	return rc;
}

int rp_targets_parse_region(const uint8_t *buf, size_t len,
			    struct rp_targets *out, struct rp_err *e)
{
	struct rp_targets t;
	size_t plen;
	int rc;

	if (len < RP_TARGETS_HEADER_LEN || memcmp(buf, MAGIC, 8) != 0)
		return rp_err_set(e, RP_EFORMAT, "targets: not a targets signed region");
	if (rp_dec16le(buf + H_VER) != FORMAT_VERSION || rp_dec16le(buf + H_FLAGS) != 0)
		return rp_err_set(e, RP_EFORMAT, "targets: unsupported version or flags");
	plen = rp_dec32le(buf + H_PLEN);
	if (plen < PAYLOAD_MIN || plen > RP_TARGETS_PAYLOAD_MAX ||
	    plen != len - RP_TARGETS_HEADER_LEN)
		return rp_err_set(e, RP_EFORMAT,
				  "targets: payload length %zu does not match the region",
				  plen);
	memset(&t, 0, sizeof(t));
	rc = parse_payload(buf + RP_TARGETS_HEADER_LEN, plen, &t, e);
	if (rc)
		return rp_err_prefix(e, "targets: payload");
	*out = t;
	return 0;
}

int rp_targets_assemble(const uint8_t *region, size_t len,
			const struct rp_sigblock *sb, struct rp_buf *out,
			struct rp_err *e)
{
	uint8_t sbraw[RP_SIGBLOCK_MAX];
	struct rp_buf doc;
	size_t sblen;
	int rc;

	if (!sb || sb->n < 1 || sb->n > RP_TARGETS_SIGS_MAX ||
	    len < RP_TARGETS_HEADER_LEN + PAYLOAD_MIN ||
	    len > RP_TARGETS_HEADER_LEN + RP_TARGETS_PAYLOAD_MAX)
		return rp_err_set(e, RP_EUSAGE, "targets: bad region or signatures");
	sblen = rp_sigblock_encode(sb, sbraw);
	if (sblen > RP_TARGETS_SIGBLOCK_MAX)
		return rp_err_set(e, RP_EUSAGE, "targets: signature block too large");
	rp_buf_init(&doc, RP_TARGETS_MAX);
	rc = rp_buf_append(&doc, region, len);
	if (rc == 0)
		rc = rp_buf_append(&doc, sbraw, sblen);
	if (rc) {
		rp_buf_free(&doc);
		return rp_err_set(e, rc, "targets: out of memory");
	}
	*out = doc;
	return 0;
}

int rp_targets_build(const struct rp_targets *t,
		     const struct rp_key *const *keys, size_t nkeys,
		     struct rp_buf *out, struct rp_err *e)
{
	struct rp_buf region;
	struct rp_sigblock sb;
	size_t i;
	int rc;

	rp_buf_init(&region, 0);
	memset(&sb, 0, sizeof(sb));
	if (!keys || nkeys < 1 || nkeys > RP_TARGETS_SIGS_MAX)
		return rp_err_set(e, RP_EUSAGE, "targets: 1..%d signing keys needed",
				  RP_TARGETS_SIGS_MAX);
	rc = rp_targets_encode_region(t, &region, e);
	for (i = 0; rc == 0 && i < nkeys; i++) {
		rc = rp_sigblock_sign(&sb, RP_TARGETS_SIGS_MAX, keys[i], region.data,
				      region.len, e);
		if (rc)
			rp_err_prefix(e, "targets: signing key %zu", i + 1);
	}
	if (rc == 0)
		rc = rp_targets_assemble(region.data, region.len, &sb, out, e);
	rp_buf_free(&region);
	return rc;
}

static int verify(const uint8_t *buf, size_t len,
		  const struct rp_key *const *trusted, size_t ntrusted,
		  struct rp_targets *t, struct rp_err *e)
{
	uint8_t signer[RP_KEYID_LEN];
	struct rp_sigblock sb;
	size_t plen, signed_len, i;
	int rc;

	if (!trusted || ntrusted == 0)
		return rp_err_set(e, RP_EUSAGE, "no trusted keys given");
	if (len < 8 || memcmp(buf, MAGIC, 8) != 0)
		return rp_err_set(e, RP_EFORMAT, "not a Rampart targets document");
	if (len > RP_TARGETS_MAX)
		return rp_err_set(e, RP_EFORMAT, "%zu bytes is over the limit of %u",
				  len, (unsigned)RP_TARGETS_MAX);
	if (len < RP_TARGETS_HEADER_LEN + PAYLOAD_MIN + SB_MIN)
		return rp_err_set(e, RP_EFORMAT, "truncated (%zu bytes)", len);
	/* The payload length is read before it is verified only to find the
	 * signed region; it is bounded here and then covered by the
	 * signature, so a forged value cannot pass. */
	plen = rp_dec32le(buf + H_PLEN);
	if (plen < PAYLOAD_MIN || plen > RP_TARGETS_PAYLOAD_MAX)
		return rp_err_set(e, RP_EFORMAT, "payload length %zu (must be %d..%u)",
				  plen, PAYLOAD_MIN, RP_TARGETS_PAYLOAD_MAX);
	signed_len = RP_TARGETS_HEADER_LEN + plen;
	if (signed_len > len - SB_MIN)
		return rp_err_set(e, RP_EFORMAT,
				  "truncated (%zu bytes, header says at least %zu)",
				  len, signed_len + SB_MIN);
	if (len - signed_len > RP_TARGETS_SIGBLOCK_MAX)
		return rp_err_set(e, RP_EFORMAT,
				  "signature block: %zu bytes (must be %d..%u)",
				  len - signed_len, SB_MIN, RP_TARGETS_SIGBLOCK_MAX);
	rc = rp_sigblock_parse(buf + signed_len, len - signed_len,
			       RP_TARGETS_SIGS_MAX, &sb, e);
	if (rc)
		return rc;
	rc = rp_sigblock_verify(&sb, buf, signed_len, trusted, ntrusted, e);
	if (rc)
		return rc;
	for (i = 0; i < sb.n; i++)
		if (sb.s[i].valid) {
			memcpy(signer, sb.s[i].key_id, RP_KEYID_LEN);
			break;
		}
	/* Verified: now interpret. */
	if (rp_dec16le(buf + H_VER) != FORMAT_VERSION)
		return rp_err_set(e, RP_EFORMAT, "unsupported format version %u",
				  (unsigned)rp_dec16le(buf + H_VER));
	if (rp_dec16le(buf + H_FLAGS) != 0)
		return rp_err_set(e, RP_EFORMAT, "unknown flags 0x%04x",
				  (unsigned)rp_dec16le(buf + H_FLAGS));
	rc = parse_payload(buf + RP_TARGETS_HEADER_LEN, plen, t, e);
	if (rc)
		return rp_err_prefix(e, "payload");
	memcpy(t->signer, signer, RP_KEYID_LEN);
	rc = rp_sha256(buf, signed_len, t->digest);
	if (rc)
		return rp_err_set(e, RP_ECRYPTO, "SHA-256 failed");
	return 0;
}

int rp_targets_verify(const uint8_t *buf, size_t len,
		      const struct rp_key *const *trusted, size_t ntrusted,
		      struct rp_targets *out, struct rp_err *e)
{
	struct rp_targets t;
	int rc;

	memset(&t, 0, sizeof(t));
	rc = verify(buf, len, trusted, ntrusted, &t, e);
	if (rc)
		return rp_err_prefix(e, "targets");
	*out = t;
	return 0;
}

/* ---- acceptance --------------------------------------------------- */

void rp_targets_state_init(struct rp_targets_state *st)
{
	memset(st, 0, sizeof(*st));
}

uint32_t rp_targets_state_installed(const struct rp_targets_state *st,
				    const uint8_t component_id[RP_GUID_LEN])
{
	size_t i;

	for (i = 0; i < st->ncomponents && i < RP_TARGETS_STATE_COMPONENTS_MAX; i++)
		if (memcmp(st->components[i].component_id, component_id,
			   RP_GUID_LEN) == 0)
			return st->components[i].security_version;
	return 0;
}

int rp_targets_state_note_installed(struct rp_targets_state *st,
				    const uint8_t component_id[RP_GUID_LEN],
				    uint32_t security_version, struct rp_err *e)
{
	size_t i;

	for (i = 0; i < st->ncomponents; i++) {
		struct rp_targets_component *c = &st->components[i];

		if (memcmp(c->component_id, component_id, RP_GUID_LEN) == 0) {
			if (security_version > c->security_version)
				c->security_version = security_version;
			return 0;
		}
	}
	if (st->ncomponents >= RP_TARGETS_STATE_COMPONENTS_MAX)
		return rp_err_set(e, RP_ERANGE,
				  "targets state: more than %d components",
				  RP_TARGETS_STATE_COMPONENTS_MAX);
	memcpy(st->components[i].component_id, component_id, RP_GUID_LEN);
	st->components[i].security_version = security_version;
	st->ncomponents++;
	return 0;
}

int rp_targets_check(const struct rp_targets *t,
		     const struct rp_targets_state *st,
		     const struct rp_targets_expect *x, struct rp_err *e)
{
	char a[37], b[37];
	uint64_t now;
	size_t i;

	if (!x->tenant || !x->device)
		return rp_err_set(e, RP_EUSAGE,
				  "targets: tenant and device must be given");
	/* Mix-and-match: the document must name this device, in this
	 * tenant; a device id is unique, so a document for another device
	 * or another group's devices cannot be moved here. */
	if (memcmp(t->tenant, x->tenant, RP_GUID_LEN) != 0) {
		rp_guid_format(t->tenant, a);
		return rp_err_set(e, RP_EPOLICY,
				  "targets: for tenant %s, not this device's", a);
	}
	if (memcmp(t->device, x->device, RP_KEYID_LEN) != 0) {
		rp_hex(t->device, 8, a);
		return rp_err_set(e, RP_EPOLICY,
				  "targets: for device %s..., not this one", a);
	}
	if (x->group && memcmp(t->group, x->group, RP_GUID_LEN) != 0) {
		rp_guid_format(t->group, a);
		return rp_err_set(e, RP_EPOLICY,
				  "targets: for device group %s, not this device's", a);
	}
	if (x->product && memcmp(t->product, x->product, RP_GUID_LEN) != 0) {
		rp_guid_format(t->product, a);
		return rp_err_set(e, RP_EPOLICY,
				  "targets: for product %s, not this device's", a);
	}
	/* Freshness (anti-freeze). The clock never counts as earlier than the
	 * last accepted issued_at: time the device has seen signed stays
	 * seen, even if its clock is reset. */
	now = x->now;
	if (t->issued_at > now && t->issued_at - now > RP_TARGETS_CLOCK_SKEW)
		return rp_err_set(e, RP_EPOLICY,
				  "targets: not yet valid (issued at %llu, device time %llu)",
				  (unsigned long long)t->issued_at,
				  (unsigned long long)now);
	if (st->accepted && st->issued_at > now)
		now = st->issued_at;
	if (now > t->expires && now - t->expires > RP_TARGETS_CLOCK_SKEW)
		return rp_err_set(e, RP_EPOLICY,
				  "targets: expired at %llu (device time %llu)",
				  (unsigned long long)t->expires,
				  (unsigned long long)now);
	/* Replay and rollback. */
	if (st->accepted) {
		if (memcmp(t->group, st->group, RP_GUID_LEN) == 0) {
			if (t->version == st->version)
				return rp_err_set(e, RP_EPOLICY,
						  "targets: replay of version %llu, already accepted",
						  (unsigned long long)t->version);
			if (t->version < st->version)
				return rp_err_set(e, RP_EPOLICY,
						  "targets: rollback to version %llu (accepted %llu)",
						  (unsigned long long)t->version,
						  (unsigned long long)st->version);
			if (t->issued_at < st->issued_at)
				return rp_err_set(e, RP_EPOLICY,
						  "targets: issued at %llu, before the accepted document (%llu)",
						  (unsigned long long)t->issued_at,
						  (unsigned long long)st->issued_at);
		} else if (t->issued_at <= st->issued_at) {
			rp_guid_format(t->group, a);
			rp_guid_format(st->group, b);
			return rp_err_set(e, RP_EPOLICY,
					  "targets: group %s document issued at %llu, not after the accepted group %s document (%llu)",
					  a, (unsigned long long)t->issued_at, b,
					  (unsigned long long)st->issued_at);
		}
	}
	for (i = 0; i < t->nimages; i++) {
		const struct rp_targets_image *im = &t->images[i];
		uint32_t have = rp_targets_state_installed(st, im->component_id);

		if (im->security_version < have) {
			rp_guid_format(im->component_id, a);
			return rp_err_set(e, RP_EPOLICY,
					  "targets: images[%zu] (component %s): security version %u is below the installed %u",
					  i, a, (unsigned)im->security_version,
					  (unsigned)have);
		}
	}
	return 0;
}

void rp_targets_state_accept(struct rp_targets_state *st,
			     const struct rp_targets *t)
{
	st->accepted = 1;
	st->version = t->version;
	st->issued_at = t->issued_at;
	st->expires = t->expires;
	memcpy(st->tenant, t->tenant, RP_GUID_LEN);
	memcpy(st->product, t->product, RP_GUID_LEN);
	memcpy(st->group, t->group, RP_GUID_LEN);
	memcpy(st->digest, t->digest, RP_SHA256_LEN);
}

/* ---- state file ----------------------------------------------------- */

int rp_targets_state_encode(const struct rp_targets_state *st,
			    struct rp_buf *out, struct rp_err *e)
{
	uint8_t b[RP_TARGETS_STATE_FILE_MAX];
	size_t i, off, len;
	struct rp_buf o;
	int rc;

	if (st->ncomponents > RP_TARGETS_STATE_COMPONENTS_MAX)
		return rp_err_set(e, RP_ERANGE, "targets state: too many components");
	memset(b, 0, sizeof(b));
	memcpy(b, ST_MAGIC, 8);
	rp_enc16le(b + ST_VER, 1);
	rp_enc16le(b + ST_COUNT, (uint16_t)st->ncomponents);
	rp_enc32le(b + ST_FLAGS, st->accepted ? ST_FLAG_ACCEPTED : 0);
	rp_enc64le(b + ST_VERSION, st->version);
	rp_enc64le(b + ST_ISSUED, st->issued_at);
	rp_enc64le(b + ST_EXPIRES, st->expires);
	memcpy(b + ST_TENANT, st->tenant, RP_GUID_LEN);
	memcpy(b + ST_PRODUCT, st->product, RP_GUID_LEN);
	memcpy(b + ST_GROUP, st->group, RP_GUID_LEN);
	memcpy(b + ST_DIGEST, st->digest, RP_SHA256_LEN);
	off = RP_TARGETS_STATE_HEADER_LEN;
	for (i = 0; i < st->ncomponents; i++) {
		memcpy(b + off, st->components[i].component_id, RP_GUID_LEN);
		rp_enc32le(b + off + 16, st->components[i].security_version);
		off += RP_TARGETS_STATE_ENTRY_LEN;
	}
	rc = rp_sha256(b, off, b + off);
	if (rc)
		return rp_err_set(e, RP_ECRYPTO, "targets state: SHA-256 failed");
	len = off + RP_SHA256_LEN;
	rp_buf_init(&o, RP_TARGETS_STATE_FILE_MAX);
	rc = rp_buf_append(&o, b, len);
	if (rc) {
		rp_buf_free(&o);
		return rp_err_set(e, rc, "targets state: out of memory");
	}
	*out = o;
	return 0;
}

int rp_targets_state_decode(const uint8_t *buf, size_t len,
			    struct rp_targets_state *out, struct rp_err *e)
{
	struct rp_targets_state st;
	uint8_t sum[RP_SHA256_LEN];
	size_t n, i, off, body;
	uint32_t flags;

	if (len < RP_TARGETS_STATE_HEADER_LEN + RP_SHA256_LEN ||
	    len > RP_TARGETS_STATE_FILE_MAX)
		return rp_err_set(e, RP_EFORMAT, "targets state: %zu bytes (truncated or extended)",
				  len);
	if (memcmp(buf, ST_MAGIC, 8) != 0)
		return rp_err_set(e, RP_EFORMAT, "targets state: bad magic");
	n = rp_dec16le(buf + ST_COUNT);
	if (n > RP_TARGETS_STATE_COMPONENTS_MAX)
		return rp_err_set(e, RP_EFORMAT, "targets state: %zu components", n);
	body = RP_TARGETS_STATE_HEADER_LEN + n * RP_TARGETS_STATE_ENTRY_LEN;
	if (len != body + RP_SHA256_LEN)
		return rp_err_set(e, RP_EFORMAT,
				  "targets state: %zu bytes, expected %zu (truncated or extended)",
				  len, body + RP_SHA256_LEN);
	if (rp_sha256(buf, body, sum))
		return rp_err_set(e, RP_ECRYPTO, "targets state: SHA-256 failed");
	if (!rp_ct_equal(sum, buf + body, RP_SHA256_LEN))
		return rp_err_set(e, RP_EVERIFY, "targets state: checksum does not match");
	if (rp_dec16le(buf + ST_VER) != 1)
		return rp_err_set(e, RP_EFORMAT, "targets state: unsupported version %u",
				  (unsigned)rp_dec16le(buf + ST_VER));
	flags = rp_dec32le(buf + ST_FLAGS);
	if (flags & ~ST_FLAG_ACCEPTED)
		return rp_err_set(e, RP_EFORMAT, "targets state: unknown flags");
	for (i = ST_RESERVED; i < RP_TARGETS_STATE_HEADER_LEN; i++)
		if (buf[i])
			return rp_err_set(e, RP_EFORMAT,
					  "targets state: reserved bytes are not zero");
	memset(&st, 0, sizeof(st));
	st.accepted = (flags & ST_FLAG_ACCEPTED) != 0;
	st.version = rp_dec64le(buf + ST_VERSION);
	st.issued_at = rp_dec64le(buf + ST_ISSUED);
	st.expires = rp_dec64le(buf + ST_EXPIRES);
	memcpy(st.tenant, buf + ST_TENANT, RP_GUID_LEN);
	memcpy(st.product, buf + ST_PRODUCT, RP_GUID_LEN);
	memcpy(st.group, buf + ST_GROUP, RP_GUID_LEN);
	memcpy(st.digest, buf + ST_DIGEST, RP_SHA256_LEN);
	off = RP_TARGETS_STATE_HEADER_LEN;
	for (i = 0; i < n; i++) {
		size_t j;

		if (buf[off + 20] | buf[off + 21] | buf[off + 22] | buf[off + 23])
			return rp_err_set(e, RP_EFORMAT,
					  "targets state: component %zu: reserved bytes are not zero",
					  i);
		memcpy(st.components[i].component_id, buf + off, RP_GUID_LEN);
		st.components[i].security_version = rp_dec32le(buf + off + 16);
		for (j = 0; j < i; j++)
			if (memcmp(st.components[j].component_id,
				   st.components[i].component_id, RP_GUID_LEN) == 0)
				return rp_err_set(e, RP_EFORMAT,
						  "targets state: component %zu listed twice", i);
		off += RP_TARGETS_STATE_ENTRY_LEN;
	}
	st.ncomponents = n;
	if (!st.accepted && (st.version || st.issued_at || st.expires))
		return rp_err_set(e, RP_EFORMAT,
				  "targets state: values set but nothing accepted");
	*out = st;
	return 0;
}

int rp_targets_state_load(const char *path, struct rp_targets_state *st,
			  struct rp_err *e)
{
	struct rp_buf b;
	int rc;

	rp_buf_init(&b, 0);
	rc = rp_file_read(path, RP_TARGETS_STATE_FILE_MAX, &b, e);
	if (rc == RP_ERANGE)
		rc = rp_err_set(e, RP_EFORMAT, "targets state: %s: too large", path);
	if (rc)
		goto out;
	rc = rp_targets_state_decode(b.data, b.len, st, e);
	if (rc)
		rp_err_prefix(e, "%s", path);
out:
	rp_buf_free(&b);
	return rc;
}

static int write_state(const char *path, const struct rp_targets_state *st,
		       int excl, struct rp_err *e)
{
	struct rp_buf b;
	int rc;

	rp_buf_init(&b, 0);
	rc = rp_targets_state_encode(st, &b, e);
	if (rc)
		goto out;
	rc = rp_file_write(path, b.data, b.len, 0600, excl, e);
	if (rc)
		rp_err_prefix(e, "targets state: %s", path);
out:
	rp_buf_free(&b);
	return rc;
}

int rp_targets_state_save(const char *path, const struct rp_targets_state *st,
			  struct rp_err *e)
{
	return write_state(path, st, 0, e);
}

int rp_targets_state_create(const char *path, struct rp_err *e)
{
	struct rp_targets_state st;

	rp_targets_state_init(&st);
	return write_state(path, &st, 1, e);
}
