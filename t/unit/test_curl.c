/* Unit tests: the libcurl transport (src/pc_curl.c) against the PingOne
 * simulator, started by the test on loopback: prepared handles reused
 * across calls of every method (a GET after a POST or a PATCH is a GET
 * again, with no body), limits that do not leak from one call to the next,
 * failures classified, and calls from several threads at once. */
#include "pc_curl.h"
#include "pc_text.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define ENV "abcdef01-2345-4678-9abc-def012345678"
#define USER "e0000000-0000-4000-8000-00000000a11c"
#define APP "a0000000-0000-4000-8000-000000000001"

static apr_pool_t *p;
static pid_t sim;
static char base[64];

/* The simulator on a free port: its port comes back in a file. */
static int start_sim(void)
{
    char portfile[] = "/tmp/pc-test-curl.XXXXXX";
    int fd = mkstemp(portfile), i, port = 0;
    FILE *f;

    if (fd < 0)
        return 0;
    close(fd);
    unlink(portfile);
    if ((sim = fork()) == 0) {
        execlp("python3", "python3", "t/sim/pingone-sim", "--port", "0",
               "--port-file", portfile, "--seed", "t/sim/seed.json",
               (char *)NULL);
        _exit(127);
    }
    for (i = 0; i < 200 && port == 0; i++) {
        usleep(50000);
        if ((f = fopen(portfile, "r")) != NULL) {
            if (fscanf(f, "%d", &port) != 1)
                port = 0;
            fclose(f);
        }
    }
    unlink(portfile);
    snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
    return port != 0;
}

static pc_http_resp_t call(pc_curl_t *t, const char *method, const char *path,
                           const char *auth, const char *ctype,
                           const char *body, apr_size_t max)
{
    pc_http_req_t req;
    pc_http_resp_t resp;

    memset(&req, 0, sizeof(req));
    req.method = method;
    req.url = apr_pstrcat(p, base, path, NULL);
    req.authorization = auth;
    req.content_type = ctype;
    req.body = body;
    req.body_len = body ? strlen(body) : 0;
    req.timeout_ms = 5000;
    req.connect_timeout_ms = 2000;
    req.max_body = max;
    pc_curl_send(t, &req, &resp, p);
    return resp;
}

/* A worker token from the simulator (client_secret_basic). */
static const char *token(pc_curl_t *t)
{
    const char *basic = pc_base64(
        p, "c0ffee00-1111-4222-8333-444455556666:s3cr3t-worker-secret",
        strlen("c0ffee00-1111-4222-8333-444455556666:s3cr3t-worker-secret"));
    pc_http_resp_t r = call(t, "POST", "/" ENV "/as/token",
                            apr_pstrcat(p, "Basic ", basic, NULL),
                            "application/x-www-form-urlencoded",
                            "grant_type=client_credentials", 65536);
    const char *s = r.body ? strstr(r.body, "\"access_token\":\"") : NULL;
    const char *e;

    if (r.status != 200 || s == NULL)
        return NULL;
    s += 16;
    e = strchr(s, '"');
    return e ? apr_pstrcat(p, "Bearer ", apr_pstrmemdup(p, s, (apr_size_t)(e - s)),
                           NULL)
             : NULL;
}

#define CONSENTS "/v1/environments/" ENV "/users/" USER "/oauthConsents"

static void test_reuse(pc_curl_t *t)
{
    const char *bearer = token(t);
    pc_http_resp_t r;

    ok(bearer != NULL, "a token by POST");
    r = call(t, "GET", CONSENTS, bearer, NULL, NULL, 65536);
    ok(r.outcome == PC_HTTP_OK && r.status == 200,
       "a GET after the POST, on the reused handle: 200 (%d)", r.status);
    ok(r.body && strstr(r.body, "oauthConsents"), "with the collection");
    r = call(t, "PATCH", CONSENTS "/c9999999-0000-4000-8000-000000000000",
             bearer, "application/vnd.pingidentity.consent.revoke+json",
             "{\"status\":\"REVOKED\"}", 65536);
    ok(r.outcome == PC_HTTP_OK && r.status == 404,
       "a PATCH reaches the consent (404: no such consent)");
    r = call(t, "GET", CONSENTS, bearer, NULL, NULL, 65536);
    ok(r.status == 200, "and a GET after it is a GET again (%d)", r.status);
    r = call(t, "GET", CONSENTS, bearer, NULL, NULL, 64);
    ok(r.outcome == PC_HTTP_TOO_BIG, "an answer over the limit: too big");
    r = call(t, "GET", CONSENTS, bearer, NULL, NULL, 65536);
    ok(r.outcome == PC_HTTP_OK && r.status == 200,
       "the next call on the handle has its own limit");
    r = call(t, "GET", CONSENTS, NULL, NULL, NULL, 65536);
    ok(r.status == 401, "without Authorization: the header did not stick "
                        "from the call before (%d)", r.status);
}

static void test_failures(void)
{
    pc_curl_t *t = pc_curl_create(p, NULL, 1);
    pc_http_req_t req;
    pc_http_resp_t resp;

    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = "http://127.0.0.1:9/v1";
    req.timeout_ms = 2000;
    req.connect_timeout_ms = 1000;
    ok(pc_curl_send(t, &req, &resp, p) != APR_SUCCESS &&
       resp.outcome == PC_HTTP_CONNECT, "a refused connection: connect");
    req.url = "ftp://127.0.0.1/x";
    ok(pc_curl_send(t, &req, &resp, p) != APR_SUCCESS,
       "another protocol is refused");
}

typedef struct job_t {
    pc_curl_t *t;
    const char *bearer;
    int good;
} job_t;

static void *APR_THREAD_FUNC caller(apr_thread_t *th, void *data)
{
    job_t *j = data;
    apr_pool_t *tp;
    int i;

    (void)th;
    apr_pool_create(&tp, NULL);
    for (i = 0; i < 40; i++) {
        pc_http_req_t req;
        pc_http_resp_t resp;
        memset(&req, 0, sizeof(req));
        req.method = "GET";
        req.url = apr_pstrcat(tp, base, CONSENTS, NULL);
        req.authorization = j->bearer;
        req.timeout_ms = 10000;
        req.connect_timeout_ms = 5000;
        req.max_body = 65536;
        if (pc_curl_send(j->t, &req, &resp, tp) == APR_SUCCESS &&
            resp.status == 200)
            j->good++;
    }
    apr_pool_destroy(tp);
    return NULL;
}

static void test_threads(pc_curl_t *t)
{
    job_t jobs[4];
    apr_thread_t *th[4];
    apr_status_t rv;
    const char *bearer = token(t);
    int i, good = 0;

    for (i = 0; i < 4; i++) {
        jobs[i].t = t;
        jobs[i].bearer = bearer;
        jobs[i].good = 0;
        apr_thread_create(&th[i], NULL, caller, &jobs[i], p);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&rv, th[i]);
        good += jobs[i].good;
    }
    ok(good == 160, "4 threads x 40 calls on one transport: %d of 160", good);
}

int main(void)
{
    pc_curl_t *t;

    apr_initialize();
    apr_pool_create(&p, NULL);
    pc_curl_global_init();
    if (!start_sim()) {
        ok(0, "the simulator started");
        return done_testing();
    }
    t = pc_curl_create(p, NULL, 1);
    test_reuse(t);
    test_failures();
    test_threads(t);
    kill(sim, SIGTERM);
    waitpid(sim, NULL, 0);
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
