/* HTTPS calls to the security service. Every TLS and protocol setting is
 * fixed here, so no command can weaken it. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/json.h"
#include "base/num.h"
#include "crypto/crypto.h"
#include "http.h"

int cli_http_check_server(const char *url, char *out, size_t outsz,
			  struct rp_err *e)
{
	static const char https[] = "https://";
	size_t n = strlen(url), i;

	if (n >= 7 && strncasecmp(url, "http://", 7) == 0)
		return rp_err_set(e, RP_EUSAGE, "%s: plain HTTP is refused; use https://",
				  url);
	if (n <= sizeof(https) - 1 || strncasecmp(url, https, sizeof(https) - 1) != 0)
		return rp_err_set(e, RP_EUSAGE, "'%s': expected https://HOST[:PORT]", url);
	if (url[n - 1] == '/')
		n--;
	if (n >= outsz || n >= CLI_HTTP_URL_MAX)
		return rp_err_set(e, RP_EUSAGE, "server URL too long");
	for (i = sizeof(https) - 1; i < n; i++) {
		unsigned char c = (unsigned char)url[i];

		/* Host name, IPv4, [IPv6] and port only: no user info, path,
		 * query or fragment that could redirect the token. */
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
		      c == '[' || c == ']'))
			return rp_err_set(e, RP_EUSAGE, "'%s': expected https://HOST[:PORT] "
					  "(no user, path or query)", url);
	}
	if (n == sizeof(https) - 1)
		return rp_err_set(e, RP_EUSAGE, "'%s': no host", url);
	memcpy(out, url, n);
	out[n] = '\0';
	return 0;
}

int cli_http_escape(const char *seg, char *out, size_t outsz, struct rp_err *e)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (!*seg)
		return rp_err_set(e, RP_EUSAGE, "empty identifier");
	for (; *seg; seg++) {
		unsigned char c = (unsigned char)*seg;
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
			    c == '.' || c == '~';

		if (outsz - o < (plain ? 2u : 4u))
			return rp_err_set(e, RP_EUSAGE, "identifier too long");
		if (plain) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

int cli_http_open(struct cli_http *h, const char *server, const char *ca_cert,
		  const char *token, struct rp_err *e)
{
	size_t i, n;
	int rc;

	memset(h, 0, sizeof(*h));
	if (strlen(server) >= sizeof(h->server))
		return rp_err_set(e, RP_EUSAGE, "server URL too long");
	memcpy(h->server, server, strlen(server) + 1);
	if (ca_cert) {
		if (strlen(ca_cert) >= sizeof(h->ca_cert))
			return rp_err_set(e, RP_EUSAGE, "CA certificate path too long");
		memcpy(h->ca_cert, ca_cert, strlen(ca_cert) + 1);
	}
	if (token) {
		n = strlen(token);
		if (n == 0 || n > CLI_HTTP_TOKEN_MAX)
			return rp_err_set(e, RP_EFORMAT, "token: empty or longer than %d bytes",
					  CLI_HTTP_TOKEN_MAX);
		/* Printable and space-free: nothing can end the header early. */
		for (i = 0; i < n; i++)
			if (token[i] <= ' ' || token[i] > '~')
				return rp_err_set(e, RP_EFORMAT,
						  "token: unexpected character at byte %zu", i);
		rc = snprintf(h->auth, sizeof(h->auth), "Authorization: Bearer %s", token);
		if (rc < 0 || (size_t)rc >= sizeof(h->auth))
			return rp_err_set(e, RP_EFORMAT, "token too long");
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return rp_err_set(e, RP_ENOMEM, "libcurl initialisation failed");
	h->curl = curl_easy_init();
	if (!h->curl)
		return rp_err_set(e, RP_ENOMEM, "libcurl: out of memory");
	return 0;
}

void cli_http_close(struct cli_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	rp_wipe(h->auth, sizeof(h->auth));
	h->curl = NULL;
}

/* ---- one transfer ------------------------------------------------------ */

struct xstate {
	CURL *c;
	struct cli_http_xfer *x;
	struct rp_buf mem;     /* JSON or error body */
	struct rp_err werr;    /* why a callback stopped the transfer */
	int too_big, decided, to_file, failed;
	int has_cr;            /* Content-Range seen on the current response */
	uint64_t cr_start;
	uint64_t pos;          /* next byte of download_fd */
	uint64_t sent;         /* bytes of upload_fd read */
	int drawn, last;       /* progress: a line is on screen; last step shown */
};

void cli_http_xfer_init(struct cli_http_xfer *x)
{
	memset(x, 0, sizeof(*x));
	x->upload_fd = -1;
	x->download_fd = -1;
}

static void human(uint64_t n, char *out, size_t outsz)
{
	if (n >= 1024u * 1024u)
		snprintf(out, outsz, "%.1f MiB", (double)n / (1024.0 * 1024.0));
	else if (n >= 1024u)
		snprintf(out, outsz, "%.1f KiB", (double)n / 1024.0);
	else
		snprintf(out, outsz, "%" PRIu64 " B", n);
}

/* Show now/total: a redrawn bar on a terminal, or a line per 10%. */
static void progress_show(struct xstate *s, uint64_t now, uint64_t total)
{
	const char *label = s->x->label ? s->x->label : "transfer";
	char a[32], b[32], bar[31];
	unsigned pct;
	size_t i, fill;

	if (s->x->progress == CLI_PROGRESS_NONE || total == 0)
		return;
	if (now > total)
		now = total;
	pct = (unsigned)(now * 100u / total);
	if (s->x->progress == CLI_PROGRESS_LINES) {
		if (s->drawn && pct / 10u == (unsigned)s->last / 10u)
			return;
		s->drawn = 1;
		s->last = (int)pct;
		fprintf(stderr, "%s: %u%%\n", label, pct);
		return;
	}
	if (s->drawn && (int)pct == s->last && pct != 100u)
		return;
	fill = (size_t)(now * (sizeof(bar) - 1) / total);
	for (i = 0; i < sizeof(bar) - 1; i++)
		bar[i] = i < fill ? '#' : '.';
	bar[sizeof(bar) - 1] = '\0';
	human(now, a, sizeof(a));
	human(total, b, sizeof(b));
	fprintf(stderr, "\r%s [%s] %3u%% %s / %s\033[K", label, bar, pct, a, b);
	s->drawn = 1;
	s->last = (int)pct;
}

static void progress_done(struct xstate *s, int ok)
{
	uint64_t total = s->x->upload_fd >= 0 ? s->x->upload_size : s->x->max;

	if (ok && s->x->progress != CLI_PROGRESS_NONE && s->last != 100)
		progress_show(s, total, total);
	if (s->drawn && s->x->progress == CLI_PROGRESS_BAR)
		fputc('\n', stderr);
}

static int on_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow,
		       curl_off_t ultotal, curl_off_t ulnow)
{
	struct xstate *s = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	if (s->x->upload_fd >= 0 && ulnow >= 0)
		progress_show(s, (uint64_t)ulnow, s->x->upload_size);
	else if (s->to_file)
		progress_show(s, s->pos, s->x->max);
	return 0;
}

/* Content-Range of the last response: "bytes A-B/SIZE" gives A. */
static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	static const char cr[] = "content-range:";
	struct xstate *s = arg;
	size_t n = size * nmemb, i, j;

	if (n >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		s->has_cr = 0; /* a new response (after a 1xx) */
		return n;
	}
	if (n < sizeof(cr) - 1 || strncasecmp(p, cr, sizeof(cr) - 1) != 0)
		return n;
	for (i = sizeof(cr) - 1; i < n && p[i] == ' '; i++)
		;
	if (n - i < 6 || memcmp(p + i, "bytes ", 6) != 0)
		return n;
	i += 6;
	for (j = i; j < n && p[j] >= '0' && p[j] <= '9'; j++)
		;
	if (j < n && p[j] == '-' && rp_parse_u64(p + i, j - i, UINT64_MAX, &s->cr_start) == 0)
		s->has_cr = 1;
	return n;
}

/* Decide once, at the first byte (or at the end for an empty body), where
 * the body goes: download_fd for a 2xx when there is one, memory else. */
static int decide(struct xstate *s)
{
	struct cli_http_xfer *x = s->x;
	long st = 0;

	if (s->decided)
		return 0;
	s->decided = 1;
	if (curl_easy_getinfo(s->c, CURLINFO_RESPONSE_CODE, &st) != CURLE_OK)
		st = 0;
	s->to_file = x->download_fd >= 0 && st >= 200 && st <= 299;
	if (!s->to_file)
		return 0;
	if (st == 206) {
		if (!x->offset || !s->has_cr || s->cr_start != x->offset)
			return rp_err_set(&s->werr, RP_EFORMAT, "the server answered another "
					  "range than bytes=%" PRIu64 "-", x->offset);
		s->pos = x->offset;
		return 0;
	}
	/* The whole body: start the file over. */
	s->pos = 0;
	if (ftruncate(x->download_fd, 0) != 0)
		return rp_err_errno(&s->werr, errno, "truncating the download");
	return 0;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xstate *s = arg;
	size_t n = size * nmemb;

	if (decide(s)) {
		s->failed = 1;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	if (!s->to_file) {
		if (rp_buf_append(&s->mem, p, n) != 0) {
			s->too_big = 1;
			return 0;
		}
		return n;
	}
	if (s->pos > s->x->max || n > s->x->max - s->pos) {
		rp_err_set(&s->werr, RP_ERANGE, "the download is larger than the "
			   "%" PRIu64 " bytes expected", s->x->max);
		s->failed = 1;
		return 0;
	}
	if (rp_pwrite_full(s->x->download_fd, p, n, s->pos, &s->werr)) {
		s->failed = 1;
		return 0;
	}
	s->pos += n;
	return n;
}

static size_t on_read(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xstate *s = arg;
	uint64_t left = s->x->upload_size - s->sent;
	size_t want = size * nmemb;
	ssize_t r;

	if (left == 0)
		return 0;
	if (want > left)
		want = (size_t)left;
	do
		r = read(s->x->upload_fd, p, want);
	while (r < 0 && errno == EINTR);
	if (r <= 0) {
		if (r < 0)
			rp_err_errno(&s->werr, errno, "reading the upload");
		else
			rp_err_set(&s->werr, RP_EIO, "the file shrank while it was sent");
		s->failed = 1;
		return CURL_READFUNC_ABORT;
	}
	s->sent += (uint64_t)r;
	return (size_t)r;
}

static int curl_fail(CURLcode c, const char *detail, const char *url,
		     struct rp_err *e)
{
	const char *why = detail[0] ? detail : curl_easy_strerror(c);

	/* if, not switch: -Wswitch-enum and libcurl's hundred codes. */
	if (c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE ||
	    c == CURLE_SSL_ISSUER_ERROR || c == CURLE_SSL_PINNEDPUBKEYNOTMATCH)
		return rp_err_set(e, RP_EUNTRUSTED, "%s: TLS: the server's certificate "
				  "is not trusted: %s", url, why);
	if (c == CURLE_OPERATION_TIMEDOUT)
		return rp_err_set(e, RP_EIO, "%s: timed out: %s", url, why);
	return rp_err_set(e, RP_EIO, "%s: %s", url, why);
}

static int add_header(struct curl_slist **hdr, const char *line)
{
	struct curl_slist *t;

	if (!*hdr)
		return RP_ENOMEM;
	t = curl_slist_append(*hdr, line);
	if (!t) {
		curl_slist_free_all(*hdr);
		*hdr = NULL;
		return RP_ENOMEM;
	}
	*hdr = t;
	return 0;
}

int cli_http_xfer(struct cli_http *h, const char *method, const char *path,
		  json_t *body, struct cli_http_xfer *x, struct rp_err *e)
{
	char url[CLI_HTTP_URL_MAX + 1024];
	char errbuf[CURL_ERROR_SIZE];
	char accept[128], range[64];
	struct curl_slist *hdr = NULL;
	struct xstate s;
	char *data = NULL;
	json_t *doc = NULL;
	CURL *c = h->curl;
	int files = x->upload_fd >= 0 || x->download_fd >= 0;
	curl_off_t maxsize = (curl_off_t)CLI_HTTP_RESP_MAX;
	CURLcode cc;
	int rc;

	memset(&s, 0, sizeof(s));
	s.c = c;
	s.x = x;
	s.last = -1;
	rp_buf_init(&s.mem, CLI_HTTP_RESP_MAX);
	x->status = 0;
	x->json = NULL;
	x->end = 0;
	errbuf[0] = '\0';
	rc = snprintf(url, sizeof(url), "%s%s", h->server, path);
	if (rc < 0 || (size_t)rc >= sizeof(url)) {
		rc = rp_err_set(e, RP_EUSAGE, "request URL too long");
		goto out;
	}
	rc = snprintf(accept, sizeof(accept), "Accept: %s",
		      x->accept ? x->accept : "application/json");
	if (rc < 0 || (size_t)rc >= sizeof(accept)) {
		rc = rp_err_set(e, RP_EUSAGE, "Accept too long");
		goto out;
	}
	curl_easy_reset(c);
	hdr = curl_slist_append(NULL, accept);
	rc = 0;
	if (h->auth[0])
		rc = add_header(&hdr, h->auth);
	if (!rc && x->upload_fd >= 0) {
		rc = add_header(&hdr, "Content-Type: application/octet-stream");
		/* The server may refuse before the body (413 on its size):
		 * then the body is never sent. */
		if (!rc)
			rc = add_header(&hdr, "Expect: 100-continue");
	} else if (!rc && body) {
		rc = add_header(&hdr, "Content-Type: application/json");
	}
	if (!rc && x->download_fd >= 0 && x->offset) {
		snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-", x->offset);
		rc = add_header(&hdr, range);
	}
	if (rc || !hdr) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (x->upload_fd >= 0) {
		if (x->upload_size > (uint64_t)INT64_MAX ||
		    curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_READDATA, &s) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				     (curl_off_t)x->upload_size) != CURLE_OK) {
			rc = rp_err_set(e, RP_ENOMEM, "libcurl: setting the upload failed");
			goto out;
		}
	} else if (body) {
		data = json_dumps(body, JSON_COMPACT);
		if (!data) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto out;
		}
		if (curl_easy_setopt(c, CURLOPT_POSTFIELDS, data) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				     (curl_off_t)strlen(data)) != CURLE_OK) {
			rc = rp_err_set(e, RP_ENOMEM, "libcurl: setting the body failed");
			goto out;
		}
	}
	if (x->download_fd >= 0 && x->max > (uint64_t)maxsize)
		maxsize = x->max > (uint64_t)INT64_MAX ? (curl_off_t)INT64_MAX
						       : (curl_off_t)x->max;
	/* Each of these must hold; a libcurl that refuses one is refused. */
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    (h->ca_cert[0] &&
	     curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_cert) != CURLE_OK) ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CLI_HTTP_CONNECT_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, files ? 0L : CLI_HTTP_TIMEOUT) != CURLE_OK ||
	    (files &&
	     (curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, CLI_HTTP_LOW_SPEED) != CURLE_OK ||
	      curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, CLI_HTTP_LOW_SPEED_TIME) != CURLE_OK)) ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, maxsize) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_HEADERDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_xferinfo) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOPROGRESS,
			     x->progress == CLI_PROGRESS_NONE ? 1L : 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "rampart-cli") != CURLE_OK) {
		rc = rp_err_set(e, RP_EPOLICY, "libcurl refused a required TLS or "
				"protocol setting (needs TLS 1.3 and https)");
		goto out;
	}
	cc = curl_easy_perform(c);
	if (s.failed) {
		*e = s.werr;
		rc = e->code ? e->code : RP_EIO;
		rp_err_prefix(e, "%s", url);
		goto out;
	}
	if (s.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		rc = rp_err_set(e, RP_ERANGE, "%s: response larger than %" PRIu64 " bytes",
				url, s.to_file ? x->max : (uint64_t)CLI_HTTP_RESP_MAX);
		goto out;
	}
	/* A server that answers and closes while the upload is still going
	 * (a refusal) has answered: its status and message count. */
	if (cc == CURLE_SEND_ERROR && x->upload_fd >= 0 &&
	    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->status) == CURLE_OK &&
	    x->status >= 400)
		cc = CURLE_OK;
	if (cc != CURLE_OK) {
		rc = curl_fail(cc, errbuf, h->server, e);
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->status) != CURLE_OK) {
		rc = rp_err_set(e, RP_EIO, "%s: no HTTP status", url);
		goto out;
	}
	rc = decide(&s); /* an empty body never reached on_body */
	if (rc) {
		*e = s.werr;
		rp_err_prefix(e, "%s", url);
		goto out;
	}
	if (s.to_file) {
		x->end = s.pos;
	} else if (s.mem.len) {
		rc = rp_json_parse(s.mem.data, s.mem.len, CLI_HTTP_RESP_MAX, &doc, e);
		/* A refusal from the HTTP layer itself (libevent's 413 page)
		 * is still a refusal: the status tells it. */
		if (rc && x->status >= 200 && x->status <= 299) {
			rp_err_prefix(e, "%s: HTTP %ld: response is not JSON", url, x->status);
			goto out;
		}
		rp_err_clear(e);
	}
	x->json = doc;
	doc = NULL;
	rc = 0;
out:
	progress_done(&s, rc == 0 && x->status >= 200 && x->status <= 299);
	if (c)
		(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	free(data);
	json_decref(doc);
	rp_buf_free(&s.mem);
	return rc;
}

int cli_http_call(struct cli_http *h, const char *method, const char *path,
		  json_t *body, long *status, json_t **out, struct rp_err *e)
{
	struct cli_http_xfer x;
	int rc;

	cli_http_xfer_init(&x);
	rc = cli_http_xfer(h, method, path, body, &x, e);
	if (rc)
		return rc;
	*status = x.status;
	*out = x.json;
	return 0;
}
