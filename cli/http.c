/* HTTPS calls to the security service. Every TLS and protocol setting is
 * fixed here, so no command can weaken it. */
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/json.h"
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

struct sink {
	struct rp_buf buf;
	int too_big;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct sink *s = arg;
	size_t n = size * nmemb;

	if (rp_buf_append(&s->buf, p, n) != 0) {
		s->too_big = 1;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	return n;
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

int cli_http_call(struct cli_http *h, const char *method, const char *path,
		  json_t *body, long *status, json_t **out, struct rp_err *e)
{
	char url[CLI_HTTP_URL_MAX + 1024];
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdr = NULL, *t;
	struct sink s;
	char *data = NULL;
	json_t *doc = NULL;
	CURL *c = h->curl;
	CURLcode cc;
	int rc;

	rp_buf_init(&s.buf, CLI_HTTP_RESP_MAX);
	s.too_big = 0;
	errbuf[0] = '\0';
	rc = snprintf(url, sizeof(url), "%s%s", h->server, path);
	if (rc < 0 || (size_t)rc >= sizeof(url)) {
		rc = rp_err_set(e, RP_EUSAGE, "request URL too long");
		goto out;
	}
	curl_easy_reset(c);
	hdr = curl_slist_append(NULL, "Accept: application/json");
	if (hdr && h->auth[0]) {
		t = curl_slist_append(hdr, h->auth);
		if (!t)
			curl_slist_free_all(hdr);
		hdr = t;
	}
	if (hdr && body) {
		t = curl_slist_append(hdr, "Content-Type: application/json");
		if (!t)
			curl_slist_free_all(hdr);
		hdr = t;
	}
	if (!hdr) {
		rc = rp_err_set(e, RP_ENOMEM, "out of memory");
		goto out;
	}
	if (body) {
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
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, CLI_HTTP_TIMEOUT) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE,
			     (curl_off_t)CLI_HTTP_RESP_MAX) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "rampart-cli") != CURLE_OK) {
		rc = rp_err_set(e, RP_EPOLICY, "libcurl refused a required TLS or "
				"protocol setting (needs TLS 1.3 and https)");
		goto out;
	}
	cc = curl_easy_perform(c);
	if (s.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		rc = rp_err_set(e, RP_ERANGE, "%s: response larger than %u bytes",
				url, CLI_HTTP_RESP_MAX);
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = curl_fail(cc, errbuf, h->server, e);
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status) != CURLE_OK) {
		rc = rp_err_set(e, RP_EIO, "%s: no HTTP status", url);
		goto out;
	}
	if (s.buf.len) {
		rc = rp_json_parse(s.buf.data, s.buf.len, CLI_HTTP_RESP_MAX, &doc, e);
		if (rc) {
			rp_err_prefix(e, "%s: HTTP %ld: response is not JSON", url, *status);
			goto out;
		}
	}
	*out = doc;
	doc = NULL;
	rc = 0;
out:
	if (c)
		(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdr);
	free(data);
	json_decref(doc);
	rp_buf_free(&s.buf);
	return rc;
}
