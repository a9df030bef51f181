/*
 * pc_curl.c - the libcurl transport.
 *
 * A miss should cost its round trip and little else, so easy handles are
 * prepared once (the options that never change) and reused without
 * curl_easy_reset, and all handles of a transport share one connection
 * cache, DNS cache and TLS session cache (a CURLSH): a call made by any
 * thread reuses the connection any other thread left open.  Per call only
 * the URL, the method, the headers, the timeouts and the answer's buffers
 * are set.
 */
#include "pc_curl.h"

#include <apr_strings.h>
#include <curl/curl.h>
#include <string.h>

#define PC_CURL_POOL_MAX 64
#define PC_USER_AGENT "mod_pingone_consent/0.1"

struct pc_curl_t {
    apr_thread_mutex_t *mutex;      /* the free list */
    /* the share handle's data, one lock per kind: libcurl may hold
     * several kinds at once */
    apr_thread_mutex_t *share_lock[CURL_LOCK_DATA_LAST];
    CURLSH *share;
    CURL *free[PC_CURL_POOL_MAX];
    int nfree;
    const char *ca_file;
    int ssl_verify;
};

typedef struct body_t {
    apr_pool_t *p;
    char *buf;
    apr_size_t len, cap, max;
    int too_big;
    pc_http_resp_t *resp;
} body_t;

apr_status_t pc_curl_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? APR_SUCCESS
                                                             : APR_EGENERAL;
}

static apr_status_t cleanup_handles(void *data)
{
    pc_curl_t *t = data;

    while (t->nfree > 0)
        curl_easy_cleanup(t->free[--t->nfree]);
    if (t->share)
        curl_share_cleanup(t->share);
    t->share = NULL;
    return APR_SUCCESS;
}

static apr_thread_mutex_t *lock_of(pc_curl_t *t, curl_lock_data data)
{
    return (unsigned)data < CURL_LOCK_DATA_LAST ? t->share_lock[data] : NULL;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access,
                       void *userptr)
{
    apr_thread_mutex_t *m = lock_of(userptr, data);
    (void)h; (void)access;
    if (m)
        apr_thread_mutex_lock(m);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userptr)
{
    apr_thread_mutex_t *m = lock_of(userptr, data);
    (void)h;
    if (m)
        apr_thread_mutex_unlock(m);
}

/* One share handle for the transport's easy handles: connections, DNS
 * and TLS sessions.  Without it (it could not be made), each handle keeps
 * its own. */
static void make_share(pc_curl_t *t, apr_pool_t *p)
{
#if APR_HAS_THREADS
    int i;
    for (i = 0; i < CURL_LOCK_DATA_LAST; i++) {
        if (apr_thread_mutex_create(&t->share_lock[i],
                                    APR_THREAD_MUTEX_DEFAULT, p))
            return;
    }
#endif
    if ((t->share = curl_share_init()) == NULL)
        return;
    curl_share_setopt(t->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(t->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(t->share, CURLSHOPT_USERDATA, t);
    curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(t->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
}

pc_curl_t *pc_curl_create(apr_pool_t *p, const char *ca_file, int ssl_verify)
{
    pc_curl_t *t = apr_pcalloc(p, sizeof(*t));

#if APR_HAS_THREADS
    if (apr_thread_mutex_create(&t->mutex, APR_THREAD_MUTEX_DEFAULT, p))
        t->mutex = NULL;
#endif
    t->ca_file = ca_file;
    t->ssl_verify = ssl_verify;
    make_share(t, p);
    apr_pool_cleanup_register(p, t, cleanup_handles, apr_pool_cleanup_null);
    return t;
}

static size_t on_body(char *data, size_t size, size_t n, void *ud);
static size_t on_header(char *data, size_t size, size_t n, void *ud);

/* A handle with every option that is the same for all calls. */
static CURL *prepared_handle(pc_curl_t *t)
{
    CURL *h = curl_easy_init();

    if (h == NULL)
        return NULL;
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, PC_USER_AGENT);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, t->ssl_verify ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, t->ssl_verify ? 2L : 0L);
    if (t->ca_file) {
        /* The file is then the only trust anchor: libcurl would otherwise
         * also read the CA directory it was built with (Debian:
         * /etc/ssl/certs), and a private CA would pin nothing. */
        curl_easy_setopt(h, CURLOPT_CAINFO, t->ca_file);
        curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
    }
    if (t->share)
        curl_easy_setopt(h, CURLOPT_SHARE, t->share);
    return h;
}

static CURL *take_handle(pc_curl_t *t)
{
    CURL *h = NULL;

    if (t->mutex)
        apr_thread_mutex_lock(t->mutex);
    if (t->nfree > 0)
        h = t->free[--t->nfree];
    if (t->mutex)
        apr_thread_mutex_unlock(t->mutex);
    return h ? h : prepared_handle(t);
}

/* Back to the free list as it is: the next call sets what differs. */
static void give_handle(pc_curl_t *t, CURL *h)
{
    if (t->mutex)
        apr_thread_mutex_lock(t->mutex);
    if (t->nfree < PC_CURL_POOL_MAX) {
        t->free[t->nfree++] = h;
        h = NULL;
    }
    if (t->mutex)
        apr_thread_mutex_unlock(t->mutex);
    if (h)
        curl_easy_cleanup(h);
}

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
    body_t *b = ud;
    size_t len = size * n;

    if (b->len + len > b->max) {
        b->too_big = 1;
        return 0; /* aborts the transfer */
    }
    if (b->len + len + 1 > b->cap) {
        apr_size_t cap = b->cap ? b->cap : 4096;
        char *nb;
        while (cap < b->len + len + 1)
            cap *= 2;
        nb = apr_palloc(b->p, cap);
        if (b->len)
            memcpy(nb, b->buf, b->len);
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = '\0';
    return len;
}

/* Keep the headers we use: Retry-After and Location (for the log). */
static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
    body_t *b = ud;
    size_t len = size * n;
    const char *names[] = {"retry-after:", "location:"};
    const char **slots[] = {&b->resp->retry_after, &b->resp->location};
    size_t i;

    for (i = 0; i < 2; i++) {
        size_t nl = strlen(names[i]);
        if (len > nl && strncasecmp(data, names[i], nl) == 0) {
            const char *v = data + nl, *e = data + len;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            while (e > v && (e[-1] == '\r' || e[-1] == '\n' || e[-1] == ' '))
                e--;
            *slots[i] = apr_pstrmemdup(b->p, v, (apr_size_t)(e - v));
        }
    }
    return len;
}

static pc_http_outcome_e classify(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        return PC_HTTP_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        return PC_HTTP_CONNECT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
        return PC_HTTP_TLS;
    default:
        return PC_HTTP_FAILED;
    }
}

/* What differs from call to call on a prepared handle. */
static void set_call(CURL *h, const pc_http_req_t *req, body_t *b,
                     char *errbuf)
{
    curl_easy_setopt(h, CURLOPT_URL, req->url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)req->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, b);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
                     (curl_off_t)req->max_body);
    if (req->body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)req->body_len);
    }
    else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
                     strcmp(req->method, "GET") != 0 &&
                             strcmp(req->method, "POST") != 0
                         ? req->method
                         : NULL);
}

/* The request headers (secrets included: never logged). */
static struct curl_slist *headers_of(const pc_http_req_t *req, apr_pool_t *p)
{
    struct curl_slist *hdrs = NULL;

    hdrs = curl_slist_append(hdrs, "Accept: application/json");
    if (req->authorization)
        hdrs = curl_slist_append(
            hdrs, apr_pstrcat(p, "Authorization: ", req->authorization, NULL));
    if (req->body)
        hdrs = curl_slist_append(
            hdrs, apr_pstrcat(p, "Content-Type: ", req->content_type, NULL));
    return curl_slist_append(hdrs, "Expect:");
}

/* The outcome of curl_easy_perform, as the client wants it. */
static void finish(pc_http_resp_t *resp, CURLcode rc, const body_t *b,
                   const pc_http_req_t *req, const char *errbuf,
                   apr_pool_t *p)
{
    if (rc == CURLE_OK) {
        resp->outcome = PC_HTTP_OK;
        resp->body = b->buf ? b->buf : "";
        resp->body_len = b->len;
    }
    else if (b->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        resp->outcome = PC_HTTP_TOO_BIG;
        resp->error = apr_psprintf(p, "answer larger than %" APR_SIZE_T_FMT
                                   " bytes", req->max_body);
    }
    else {
        resp->outcome = classify(rc);
        /* errbuf holds host names and curl's words, never our headers. */
        resp->error = apr_psprintf(p, "%s", errbuf[0] ? errbuf
                                                      : curl_easy_strerror(rc));
    }
}

apr_status_t pc_curl_send(void *baton, const pc_http_req_t *req,
                          pc_http_resp_t *resp, apr_pool_t *p)
{
    pc_curl_t *t = baton;
    struct curl_slist *hdrs;
    char errbuf[CURL_ERROR_SIZE];
    body_t b;
    CURL *h;
    CURLcode rc;
    long status = 0;
    curl_off_t us = 0;

    memset(resp, 0, sizeof(*resp));
    memset(&b, 0, sizeof(b));
    b.p = p;
    b.max = req->max_body;
    b.resp = resp;
    errbuf[0] = '\0';
    if ((h = take_handle(t)) == NULL) {
        resp->outcome = PC_HTTP_FAILED;
        resp->error = "cannot create a curl handle";
        return APR_EGENERAL;
    }
    set_call(h, req, &b, errbuf);
    hdrs = headers_of(req, p);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h, CURLINFO_TOTAL_TIME_T, &us);
    resp->elapsed_us = (long)us;
    resp->status = rc == CURLE_OK ? (int)status : 0;
    finish(resp, rc, &b, req, errbuf, p);
    /* Nothing of this call may outlive it in the handle. */
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, NULL);
    curl_slist_free_all(hdrs);
    give_handle(t, h);
    return resp->outcome == PC_HTTP_OK ? APR_SUCCESS : APR_EGENERAL;
}
