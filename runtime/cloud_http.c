/* rampart-cloud's HTTPS calls. Every TLS and protocol setting is fixed
 * here (cloud_http.h). */
#include "cloud_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/json.h"
#include "base/num.h"
#include "crypto/devkey.h"

int rpc_http_check_url(const char *url, struct rp_err *e)
{
	static const char https[] = "https://";
	size_t n = strlen(url), i;

	if (n >= 7 && strncasecmp(url, "http://", 7) == 0)
		return rp_err_set(e, RP_EINVAL, "url: plain HTTP is refused; use https://");
	if (n <= sizeof(https) - 1 || strncmp(url, https, sizeof(https) - 1) != 0)
		return rp_err_set(e, RP_EINVAL, "url: expected https://HOST[:PORT]");
	if (n > RPC_URL_MAX)
		return rp_err_set(e, RP_EINVAL, "url: longer than %d bytes", RPC_URL_MAX);
	for (i = sizeof(https) - 1; i < n; i++) {
		unsigned char c = (unsigned char)url[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
		      c == '[' || c == ']'))
			return rp_err_set(e, RP_EINVAL, "url: expected https://HOST[:PORT] "
					  "(no user, path or query)");
	}
	return 0;
}

/* Split "https://HOST[:PORT]" into host (brackets kept for IPv6) and port. */
static int split_url(const char *url, char *host, size_t cap, unsigned *port,
		     struct rp_err *e)
{
	const char *h = url + 8, *colon, *end = url + strlen(url);
	uint64_t p = 443;
	size_t hl;

	if (*h == '[') {
		const char *rb = strchr(h, ']');

		if (!rb)
			return rp_err_set(e, RP_EINVAL, "url: unterminated [IPv6]");
		colon = rb[1] == ':' ? rb + 1 : NULL;
		if (!colon && rb + 1 != end)
			return rp_err_set(e, RP_EINVAL, "url: bad host");
	} else {
		colon = strchr(h, ':');
	}
	hl = colon ? (size_t)(colon - h) : (size_t)(end - h);
	if (hl == 0 || hl >= cap)
		return rp_err_set(e, RP_EINVAL, "url: bad host");
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (colon && (rp_parse_u64(colon + 1, (size_t)(end - colon - 1), 65535, &p) ||
		      p == 0))
		return rp_err_set(e, RP_EINVAL, "url: bad port");
	*port = (unsigned)p;
	return 0;
}

int rpc_http_open(struct rpc_http *h, const char *url, const char *ca_path,
		  struct rp_err *e)
{
	struct addrinfo hints, *res = NULL;
	char host[RPC_URL_MAX], addr[INET6_ADDRSTRLEN], entry[RPC_URL_MAX + 80];
	unsigned port = 0;
	int rc, lit;
	uint8_t tmp[16];

	memset(h, 0, sizeof(*h));
	rp_buf_init(&h->cert, 16384);
	if ((rc = rpc_http_check_url(url, e)) ||
	    (rc = split_url(url, host, sizeof(host), &port, e)))
		return rc;
	if (strlen(ca_path) >= sizeof(h->ca_path))
		return rp_err_set(e, RP_ERANGE, "CA path too long");
	memcpy(h->ca_path, ca_path, strlen(ca_path) + 1);
	snprintf(h->base, sizeof(h->base), "%s", url);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return rp_err_set(e, RP_ENOMEM, "libcurl initialisation failed");
	h->curl = curl_easy_init();
	if (!h->curl)
		return rp_err_set(e, RP_ENOMEM, "libcurl: out of memory");
	lit = host[0] == '[' || inet_pton(AF_INET, host, tmp) == 1;
	if (lit)
		return 0;
	/* Resolve now: the seccomp filter (rpc_confine) comes next, and
	 * getaddrinfo may load NSS modules (executable mappings). */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0 || !res)
		return rp_err_set(e, RP_EIO, "%s: cannot resolve: %s", host,
				  gai_strerror(rc));
	if (res->ai_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr,
			  addr, sizeof(addr));
		snprintf(entry, sizeof(entry), "%s:%u:[%s]", host, port, addr);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr,
			  addr, sizeof(addr));
		snprintf(entry, sizeof(entry), "%s:%u:%s", host, port, addr);
	}
	freeaddrinfo(res);
	h->resolve = curl_slist_append(NULL, entry);
	if (!h->resolve)
		return rp_err_set(e, RP_ENOMEM, "out of memory");
	return 0;
}

int rpc_http_client_cert(struct rpc_http *h, const struct rp_devkey *key,
			 const uint8_t *cert, size_t len, struct rp_err *e)
{
	int rc;

	rp_buf_reset(&h->cert);
	if ((rc = rp_buf_append(&h->cert, cert, len)))
		return rp_err_set(e, rc, "client certificate too large");
	h->key = key;
	return 0;
}

void rpc_http_close(struct rpc_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	curl_slist_free_all(h->resolve);
	rp_buf_free(&h->cert);
	h->curl = NULL;
	h->resolve = NULL;
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
		return 0;
	}
	return n;
}

/* libcurl built on OpenSSL hands over the SSL_CTX of each new connection:
 * the device key goes in there (a provider key stays in its hardware). */
static CURLcode on_ssl_ctx(CURL *c, void *ssl_ctx, void *arg)
{
	struct rpc_http *h = arg;

	(void)c;
	if (!h->key)
		return CURLE_OK;
	if (rp_devkey_tls_client(h->key, ssl_ctx, h->cert.data, h->cert.len,
				 &h->tls_err))
		return CURLE_SSL_CERTPROBLEM;
	return CURLE_OK;
}

static int curl_fail(struct rpc_http *h, CURLcode c, const char *detail,
		     struct rp_err *e)
{
	const char *why = detail[0] ? detail : curl_easy_strerror(c);

	if (c == CURLE_SSL_CERTPROBLEM && h->tls_err.code)
		return rp_err_set(e, h->tls_err.code, "%s", h->tls_err.msg);
	if (c == CURLE_PEER_FAILED_VERIFICATION || c == CURLE_SSL_CACERT_BADFILE ||
	    c == CURLE_SSL_ISSUER_ERROR)
		return rp_err_set(e, RP_EUNTRUSTED, "%s: TLS: the server's certificate "
				  "is not trusted: %s", h->base, why);
	return rp_err_set(e, RP_EIO, "%s: %s", h->base, why);
}

int rpc_http_call(struct rpc_http *h, const char *method, const char *path,
		  json_t *body, long *status, json_t **out, struct rp_err *e)
{
	char url[RPC_URL_MAX + 256];
	char errbuf[CURL_ERROR_SIZE];
	struct curl_slist *hdr = NULL, *t;
	struct sink s;
	char *data = NULL;
	json_t *doc = NULL;
	CURL *c = h->curl;
	CURLcode cc;
	int rc;

	*out = NULL;
	rp_buf_init(&s.buf, RPC_RESP_MAX);
	s.too_big = 0;
	errbuf[0] = '\0';
	rp_err_clear(&h->tls_err);
	if (snprintf(url, sizeof(url), "%s%s", h->base, path) >= (int)sizeof(url)) {
		rc = rp_err_set(e, RP_ERANGE, "request URL too long");
		goto out;
	}
	curl_easy_reset(c);
	hdr = curl_slist_append(NULL, "Accept: application/json");
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
		if (!data ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDS, data) != CURLE_OK ||
		    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				     (curl_off_t)strlen(data)) != CURLE_OK) {
			rc = rp_err_set(e, RP_ENOMEM, "out of memory");
			goto out;
		}
	}
	if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_path) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CAPATH, NULL) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, h) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_SSL_SESSIONID_CACHE, 0L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L) != CURLE_OK ||
	    (h->resolve && curl_easy_setopt(c, CURLOPT_RESOLVE, h->resolve) != CURLE_OK) ||
	    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_TIMEOUT, RPC_HTTP_TIMEOUT_S) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)RPC_RESP_MAX) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_WRITEDATA, &s) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(c, CURLOPT_USERAGENT, "rampart-cloud") != CURLE_OK) {
		rc = rp_err_set(e, RP_EPOLICY, "libcurl refused a required TLS or "
				"protocol setting (needs OpenSSL, TLS 1.3 and https)");
		goto out;
	}
	cc = curl_easy_perform(c);
	if (s.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
		rc = rp_err_set(e, RP_ERANGE, "%s: response larger than %d bytes",
				path, RPC_RESP_MAX);
		goto out;
	}
	if (cc != CURLE_OK) {
		rc = curl_fail(h, cc, errbuf, e);
		goto out;
	}
	if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status) != CURLE_OK) {
		rc = rp_err_set(e, RP_EIO, "%s: no HTTP status", path);
		goto out;
	}
	if (s.buf.len &&
	    (rc = rp_json_parse(s.buf.data, s.buf.len, RPC_RESP_MAX, &doc, e))) {
		rp_err_prefix(e, "%s: HTTP %ld: response is not JSON", path, *status);
		goto out;
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
