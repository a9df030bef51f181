/* Unit tests: the PingOne client against a scripted fake transport. */
#include "pc_client.h"
#include "pc_decide.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *p;

#define ENV "abcdef01-2345-4678-9abc-def012345678"
#define USER "e0000000-0000-4000-8000-00000000a11c"
#define APP "a0000000-0000-4000-8000-000000000001"
#define TOKEN_OK "{\"access_token\":\"tok-%d\",\"token_type\":\"Bearer\",\"expires_in\":3600}"
#define CONSENTS "{\"_embedded\":{\"oauthConsents\":[{\"id\":\"c1\",\"application\":{\"id\":\"" APP \
    "\"},\"status\":\"ACCEPTED\",\"scope\":[\"openid\"],\"updatedAt\":\"2024-01-01T00:00:00Z\"}]}}"

/* The fake: answers from a script, records what was asked. */
typedef struct step_t {
    pc_http_outcome_e outcome;
    int status;
    const char *body;
    const char *retry_after;
} step_t;

typedef struct fake_t {
    step_t steps[32];
    int nsteps, next;
    pc_http_req_t seen[32];
    int tokens_issued;
} fake_t;

static apr_status_t fake_send(void *baton, const pc_http_req_t *req,
                              pc_http_resp_t *resp, apr_pool_t *pool)
{
    fake_t *f = baton;
    step_t *s;
    memset(resp, 0, sizeof(*resp));
    if (f->next >= f->nsteps) {
        resp->outcome = PC_HTTP_FAILED;
        resp->error = "script exhausted";
        return APR_EGENERAL;
    }
    f->seen[f->next] = *req;
    f->seen[f->next].url = apr_pstrdup(p, req->url);
    f->seen[f->next].authorization = req->authorization ? apr_pstrdup(p, req->authorization) : NULL;
    f->seen[f->next].body = req->body ? apr_pstrdup(p, req->body) : NULL;
    s = &f->steps[f->next++];
    resp->outcome = s->outcome;
    resp->status = s->status;
    if (s->body && strstr(s->body, "%d")) {
        resp->body = apr_psprintf(pool, s->body, ++f->tokens_issued);
    }
    else {
        resp->body = s->body ? s->body : "";
    }
    resp->body_len = strlen(resp->body);
    resp->retry_after = s->retry_after;
    if (s->outcome != PC_HTTP_OK)
        resp->error = "simulated transport failure";
    return s->outcome == PC_HTTP_OK ? APR_SUCCESS : APR_EGENERAL;
}

static void script(fake_t *f, ...)
{
    va_list ap;
    step_t *s;
    memset(f, 0, sizeof(*f));
    va_start(ap, f);
    while ((s = va_arg(ap, step_t *)) != NULL)
        f->steps[f->nsteps++] = *s;
    va_end(ap);
}

static step_t st(int status, const char *body)
{
    step_t s = {PC_HTTP_OK, status, body, NULL};
    return s;
}

static pc_client_conf_t conf = {
    "https://api.pingone.eu/v1", "https://auth.pingone.eu", ENV,
    "client-id", "s3cret:with&odd=chars", 0, 3000, 1000, 1 << 20};

static char logbuf[8192];
static void log_cb(void *baton, int level, const char *msg)
{
    (void)baton;
    (void)level;
    strncat(logbuf, msg, sizeof(logbuf) - strlen(logbuf) - 2);
    strcat(logbuf, "\n");
}

/* Every line in logbuf starts with a "PCnnnnn: " tag. */
static int all_lines_tagged(void)
{
    const char *l = logbuf;
    while (*l) {
        const char *nl = strchr(l, '\n');
        int i;
        if (strncmp(l, "PC", 2) != 0)
            return 0;
        for (i = 2; i < 7; i++)
            if (l[i] < '0' || l[i] > '9')
                return 0;
        if (strncmp(l + 7, ": ", 2) != 0 || nl == NULL)
            return 0;
        l = nl + 1;
    }
    return 1;
}

/* The stats hook: what it was told, in order. */
typedef struct calls_t {
    int n;
    pc_endpoint_e ep[32];
    pc_call_class_e cls[32];
} calls_t;

static void stats_cb(void *baton, pc_endpoint_e ep, pc_call_class_e cls)
{
    calls_t *k = baton;
    if (k->n < 32) {
        k->ep[k->n] = ep;
        k->cls[k->n++] = cls;
    }
}

/* "token/2xx consents/4xx ..." from what the hook was told. */
static const char *calls_text(const calls_t *k)
{
    const char *t = "";
    int i;
    for (i = 0; i < k->n; i++)
        t = apr_psprintf(p, "%s%s%s/%s", t, i ? " " : "", pc_endpoint_names[k->ep[i]],
                         pc_call_class_names[k->cls[i]]);
    return t;
}

static pc_client_t *client(fake_t *f)
{
    pc_client_t *c = apr_pcalloc(p, sizeof(*c));
    c->conf = &conf;
    c->send = fake_send;
    c->transport = f;
    c->tokens = pc_token_store_local(p);
    c->log = log_cb;
    return c;
}

int main(void)
{
    fake_t f;
    pc_client_t *c;
    pc_error_t err;
    apr_array_header_t *consents;
    const char *uid;
    pc_job_t *job;
    apr_time_t now = apr_time_from_sec(1000000);
    step_t tok = st(200, TOKEN_OK), list = st(200, CONSENTS), s401 = st(401, "{\"code\":\"ACCESS_FAILED\",\"details\":[{\"code\":\"INVALID_TOKEN\"}]}");
    step_t s503 = st(503, "{\"code\":\"UNEXPECTED_ERROR\",\"message\":\"down\"}");
    step_t s429 = {PC_HTTP_OK, 429, "{\"code\":\"REQUEST_LIMITED\"}", "9"};
    step_t s404 = st(404, "{\"code\":\"NOT_FOUND\"}");
    step_t timeout = {PC_HTTP_TIMEOUT, 0, NULL, NULL};
    step_t garbage = st(200, "{\"_embedded\":{\"oauthConsents\":[");
    step_t badtok = st(401, "{\"error\":\"invalid_client\"}");

    apr_initialize();
    apr_pool_create(&p, NULL);

    /* token lifetime */
    is_int(pc_token_expiry(now, 3600), now + apr_time_from_sec(3600 - 300), "1 h token: 300 s margin (capped)");
    is_int(pc_token_expiry(now, 600), now + apr_time_from_sec(540), "10 min token: 10%% margin");
    is_int(pc_token_expiry(now, 20), now + apr_time_from_sec(15), "short token: 5 s minimum margin");
    is_int(pc_token_expiry(now, 3), now, "token shorter than the margin: use once");

    /* happy path: token, then lookup; then reuse */
    c = client(&f);
    script(&f, &tok, &list, &list, NULL);
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) == APR_SUCCESS, "lookup ok");
    is_int(consents->nelts, 1, "one consent");
    is_str(f.seen[0].method, "POST", "token request is a POST");
    is_str(f.seen[0].url, "https://auth.pingone.eu/" ENV "/as/token", "token URL");
    is_str(f.seen[0].body, "grant_type=client_credentials", "basic: only grant_type in the body");
    is_str(f.seen[0].authorization, "Basic Y2xpZW50LWlkOnMzY3JldCUzQXdpdGglMjZvZGQlM0RjaGFycw==",
           "basic: form-encoded id:secret");
    is_str(f.seen[0].content_type, "application/x-www-form-urlencoded", "form content type");
    is_str(f.seen[1].method, "GET", "lookup is a GET");
    is_str(f.seen[1].url, "https://api.pingone.eu/v1/environments/" ENV "/users/" USER
           "/oauthConsents?expand=applications&filter=application.id%20eq%20%22" APP "%22", "lookup URL");
    is_str(f.seen[1].authorization, "Bearer tok-1", "bearer token sent");
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) == APR_SUCCESS, "second lookup ok");
    is_int(f.next, 3, "token reused: no second token call");

    /* post auth */
    conf.auth_post = 1;
    c = client(&f);
    script(&f, &tok, &list, NULL);
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) == APR_SUCCESS, "post auth ok");
    is_str(f.seen[0].body, "grant_type=client_credentials&client_id=client-id&client_secret=s3cret%3Awith%26odd%3Dchars",
           "post: credentials form-encoded in the body");
    ok(f.seen[0].authorization == NULL, "post: no Authorization header");
    conf.auth_post = 0;

    /* 401 once: new token, retry, success */
    c = client(&f);
    script(&f, &tok, &s401, &tok, &list, NULL);
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) == APR_SUCCESS, "401 then fresh token -> ok");
    is_str(f.seen[3].authorization, "Bearer tok-2", "retried with the new token");
    is_int(f.next, 4, "exactly one retry");
    ok(strstr(logbuf, "PC00121: ") != NULL, "first 401 logged as PC00121");

    /* 401 twice: give up */
    c = client(&f);
    script(&f, &tok, &s401, &tok, &s401, &list, NULL);
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS, "401 twice -> error");
    is_int(err.kind, PC_E_TOKEN, "kind token");
    is_str(err.tag, "upstream-401", "tag upstream-401");
    is_int(f.next, 4, "no third attempt");
    ok(strstr(logbuf, "PC00122: ") != NULL, "second 401 logged as PC00122");

    /* token endpoint refuses the client */
    c = client(&f);
    script(&f, &badtok, NULL);
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS, "bad client secret -> error");
    is_int(err.kind, PC_E_TOKEN, "kind token");
    is_str(err.tag, "upstream-token", "tag upstream-token");
    ok(strstr(err.message, "s3cret") == NULL, "no secret in the message");

    /* token response unusable */
    c = client(&f);
    {
        step_t weird = st(200, "{\"access_token\":\"has space\"}");
        script(&f, &weird, NULL);
    }
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS, "bad token body -> error");
    is_str(err.tag, "upstream-token", "tag upstream-token");

    /* status classification */
    c = client(&f);
    script(&f, &tok, &s503, NULL);
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS, "503 -> error");
    is_int(err.kind, PC_E_STATUS, "kind status");
    is_str(err.tag, "upstream-503", "tag upstream-503");
    ok(strstr(err.message, "UNEXPECTED_ERROR") && strstr(err.message, "down"), "message has PingOne's code and message");

    script(&f, &s429, NULL);
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS, "429 -> error");
    is_int(err.kind, PC_E_RATE_LIMITED, "kind rate limited");
    is_str(err.retry_after, "9", "Retry-After kept");

    script(&f, &s404, NULL);
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS, "404 -> error");
    is_int(err.kind, PC_E_NOT_FOUND, "kind not found");

    script(&f, &timeout, NULL);
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS, "timeout -> error");
    is_int(err.kind, PC_E_TRANSPORT, "kind transport");
    is_str(err.tag, "upstream-timeout", "tag upstream-timeout");

    script(&f, &garbage, NULL);
    ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS, "garbage -> error");
    is_int(err.kind, PC_E_PARSE, "kind parse");
    is_str(err.tag, "upstream-parse", "tag upstream-parse");

    /* invalid input never reaches the transport */
    script(&f, &list, NULL);
    ok(pc_client_get_consents(&consents, c, "../etc", APP, NULL, &err, p) != APR_SUCCESS, "bad user ID refused");
    ok(pc_client_get_consents(&consents, c, USER, "not-a-uuid", NULL, &err, p) != APR_SUCCESS, "bad app ID refused");
    ok(pc_client_get_consents(&consents, c, USER, NULL, "a\nb", &err, p) != APR_SUCCESS, "bad app name refused");
    is_int(f.next, 0, "no request was sent");

    /* by name */
    script(&f, &list, NULL);
    ok(pc_client_get_consents(&consents, c, USER, NULL, "Reports \"Beta\"", &err, p) == APR_SUCCESS, "lookup by name");
    ok(strstr(f.seen[0].url, "filter=application.name%20eq%20%22Reports%20%5C%22Beta%5C%22%22") != NULL,
       "name escaped and encoded in the filter");

    /* username lookup */
    {
        step_t one = st(200, "{\"_embedded\":{\"users\":[{\"id\":\"" USER "\",\"username\":\"Alice\"}]}}");
        step_t two = st(200, "{\"_embedded\":{\"users\":[{\"id\":\"" USER "\",\"username\":\"alice\"},"
                             "{\"id\":\"e0000000-0000-4000-8000-0000000000b0\",\"username\":\"ALICE\"}]}}");
        step_t other = st(200, "{\"_embedded\":{\"users\":[{\"id\":\"" USER "\",\"username\":\"mallory\"}]}}");
        step_t none = st(200, "{\"_embedded\":{\"users\":[]}}");
        step_t badid = st(200, "{\"_embedded\":{\"users\":[{\"id\":\"../x\",\"username\":\"alice\"}]}}");
        script(&f, &one, &two, &other, &none, &badid, NULL);
        ok(pc_client_find_user(&uid, c, "alice", &err, p) == APR_SUCCESS && uid && strcmp(uid, USER) == 0,
           "username found, case-insensitive");
        ok(strstr(f.seen[0].url, "/users?filter=username%20eq%20%22alice%22&limit=2") != NULL, "users filter URL");
        ok(pc_client_find_user(&uid, c, "alice", &err, p) == APR_SUCCESS && uid == NULL, "two matches: refused");
        ok(strstr(logbuf, "PC00124: user lookup: 2 users match") != NULL, "ambiguity logged as PC00124");
        ok(pc_client_find_user(&uid, c, "alice", &err, p) == APR_SUCCESS && uid == NULL,
           "server returned another user: not trusted");
        ok(pc_client_find_user(&uid, c, "alice", &err, p) == APR_SUCCESS && uid == NULL, "no user");
        ok(pc_client_find_user(&uid, c, "alice", &err, p) == APR_SUCCESS && uid == NULL, "non-UUID ID ignored");
        ok(pc_client_find_user(&uid, c, "", &err, p) != APR_SUCCESS, "empty username refused");
    }

    /* jobs */
    {
        step_t done = st(200, "{\"id\":\"j\",\"status\":\"DONE\",\"result\":{\"revoked\":5}}");
        script(&f, &done, NULL);
        ok(pc_client_get_job(&job, c, "b0000000-0000-4000-8000-000000000001", &err, p) == APR_SUCCESS, "job read");
        ok(job->state == PC_JOB_DONE && job->revoked == 5, "job DONE, 5 revoked");
        is_str(f.seen[0].url, "https://api.pingone.eu/v1/environments/" ENV "/oathJobs/b0000000-0000-4000-8000-000000000001", "job URL");
        ok(pc_client_get_job(&job, c, "x/../y", &err, p) != APR_SUCCESS, "bad job ID refused");
    }

    /* paged collections: every page is read, the links are checked */
    {
#define PAGE_BASE "https://api.pingone.eu/v1/environments/" ENV "/users/" USER "/oauthConsents?"
#define ITEM(id, status, when) "{\"id\":\"" id "\",\"application\":{\"id\":\"" APP "\"},\"status\":\"" \
    status "\",\"scope\":[\"openid\"],\"updatedAt\":\"" when "\"}"
#define PAGE(items, next) "{\"_links\":{\"next\":{\"href\":\"" next "\"}},\"_embedded\":{\"oauthConsents\":[" items "]}}"
        step_t p1 = st(200, PAGE(ITEM("c1", "ACCEPTED", "2024-01-01T00:00:00Z"),
                                 PAGE_BASE "expand=applications&cursor=Mg"));
        step_t p2 = st(200, "{\"_links\":{\"self\":{\"href\":\"x\"}},\"_embedded\":{\"oauthConsents\":["
                            ITEM("c2", "REVOKED", "2024-02-01T00:00:00Z") "]}}");
        step_t away = st(200, PAGE(ITEM("c1", "ACCEPTED", "2024-01-01T00:00:00Z"),
                                   "https://evil.example/v1/environments/" ENV "/users/" USER "/oauthConsents?c=1"));
        step_t other_user = st(200, PAGE(ITEM("c1", "ACCEPTED", "2024-01-01T00:00:00Z"),
                                   "https://api.pingone.eu/v1/environments/" ENV
                                   "/users/e0000000-0000-4000-8000-00000000b0b0/oauthConsents?c=1"));
        step_t fragment = st(200, PAGE(ITEM("c1", "ACCEPTED", "2024-01-01T00:00:00Z"),
                                       PAGE_BASE "cursor=Mg#x"));
        step_t loop = st(200, PAGE(ITEM("c1", "ACCEPTED", "2024-01-01T00:00:00Z"),
                                   PAGE_BASE "cursor=again"));
        step_t badnext = st(200, "{\"_links\":{\"next\":{\"href\":7}},\"_embedded\":{\"oauthConsents\":[]}}");
        const pc_consent_t *sel;
        int i;

        c = client(&f);
        script(&f, &tok, &p1, &p2, NULL);
        ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) == APR_SUCCESS, "two pages read");
        is_int(consents->nelts, 2, "consents of both pages");
        is_str(f.seen[2].url, PAGE_BASE "expand=applications&cursor=Mg", "second page: the next link as given");
        is_str(f.seen[2].authorization, "Bearer tok-1", "second page: same token");
        sel = pc_select_consent(consents, APP, NULL);
        ok(sel && strcmp(sel->status, "REVOKED") == 0,
           "the most recent consent is on page 2 (REVOKED) and it counts");

        script(&f, &tok, &away, &p2, NULL);
        c = client(&f);
        ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS,
           "next link to another host: error, not a partial answer");
        is_int(err.kind, PC_E_PARSE, "kind parse");
        is_str(err.tag, "upstream-parse", "tag upstream-parse");
        is_int(f.next, 2, "the other host was never asked");
        ok(consents == NULL, "no consents returned on error");

        script(&f, &tok, &other_user, &p2, NULL);
        c = client(&f);
        ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS &&
           f.next == 2, "next link to another user's consents: not followed");
        script(&f, &tok, &fragment, &p2, NULL);
        c = client(&f);
        ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS &&
           f.next == 2, "next link with a fragment: not followed");
        script(&f, &tok, &badnext, NULL);
        c = client(&f);
        ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS &&
           err.kind == PC_E_PARSE, "next.href not a string: unusable answer");

        memset(&f, 0, sizeof(f));
        f.steps[f.nsteps++] = tok;
        for (i = 0; i < PC_MAX_PAGES + 2; i++)
            f.steps[f.nsteps++] = loop;
        c = client(&f);
        ok(pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p) != APR_SUCCESS,
           "endless next links: error");
        is_int(f.next, 1 + PC_MAX_PAGES, "stopped after PC_MAX_PAGES pages");
        ok(strstr(err.message, "more than 20 pages") != NULL, "message says why: %s", err.message);
#undef PAGE_BASE
#undef ITEM
#undef PAGE
    }

    /* the stats hook: every exchange, with its endpoint and class */
    {
        calls_t k;
        step_t one = st(200, "{\"id\":\"c1\",\"application\":{\"id\":\"" APP "\"},\"status\":\"ACCEPTED\"}");
        step_t job1 = st(200, "{\"id\":\"j\",\"status\":\"DONE\",\"result\":{\"revoked\":1}}");
        step_t users = st(200, "{\"_embedded\":{\"users\":[]}}");
        step_t s302 = st(302, "");
        step_t tls = {PC_HTTP_TLS, 0, NULL, NULL}, refused = {PC_HTTP_CONNECT, 0, NULL, NULL};
        step_t big = {PC_HTTP_TOO_BIG, 0, NULL, NULL};

        memset(&k, 0, sizeof(k));
        c = client(&f);
        c->stats = stats_cb;
        c->stats_baton = &k;
        script(&f, &tok, &s401, &tok, &list, &s429, &s503, &users, &one, &job1, &s302, &s404, NULL);
        pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p);
        pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p);
        pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p);
        pc_client_find_user(&uid, c, "alice", &err, p);
        {
            pc_consent_t *one_c;
            pc_client_get_consent(&one_c, c, USER, "c1000000-0000-4000-8000-000000000001", &err, p);
        }
        pc_client_get_job(&job, c, "b0000000-0000-4000-8000-000000000001", &err, p);
        pc_client_get_job(&job, c, "b0000000-0000-4000-8000-000000000001", &err, p);
        pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p);
        is_str(calls_text(&k), "token/2xx consents/4xx token/2xx consents/2xx consents/429 consents/5xx "
               "users/2xx consent/2xx job/2xx job/3xx consents/4xx",
               "the hook hears every exchange: endpoint and status class (a 401 retry is two)");

        memset(&k, 0, sizeof(k));
        c = client(&f);
        c->stats = stats_cb;
        c->stats_baton = &k;
        script(&f, &timeout, &tls, &refused, &big, NULL);
        pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p);
        pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p);
        pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p);
        pc_client_get_consents(&consents, c, USER, APP, NULL, &err, p);
        is_str(calls_text(&k), "token/timeout token/tls token/connect token/failed",
               "transport failures by kind");
        is_int(pc_call_class_of_status(199), PC_CC_FAILED, "a status out of range: failed");
    }

    ok(strstr(logbuf, "tok-") == NULL && strstr(logbuf, "s3cret") == NULL, "no token or secret in client logs");
    ok(strstr(logbuf, "PC00120: obtained a worker access token") != NULL &&
       strstr(logbuf, "PC00123: ") != NULL, "token and call summary logged as PC00120, PC00123");
    ok(logbuf[0] != '\0' && all_lines_tagged(), "every client log line starts with its PC tag");

    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
