/*
 * pc_child.c - the per-child PingOne clients (see pc_child.h).
 */
#include "pc_apache.h"
#include "pc_child.h"
#include "pc_curl.h"
#include "pc_metrics.h"
#include "pc_tokens.h"

#include <apr_hash.h>
#include <apr_strings.h>

static pc_client_t **g_clients;   /* indexed by pc_srv_conf.index */
static int g_nclients;

static pc_client_conf_t *client_conf(apr_pool_t *p, const pc_srv_conf *sc)
{
    pc_client_conf_t *cc = apr_pcalloc(p, sizeof(*cc));

    cc->api_base = sc->api_base;
    cc->auth_base = sc->auth_base;
    cc->env_id = sc->env_id;
    cc->client_id = sc->client_id;
    cc->client_secret = sc->client_secret;
    cc->auth_post = sc->auth_post;
    cc->timeout_ms = sc->timeout_ms;
    cc->connect_timeout_ms = sc->connect_timeout_ms;
    cc->max_body = (apr_size_t)sc->max_response;
    return cc;
}

/* One token store per worker application.  The secret is part of the
 * identity (hashed before it reaches shared memory): hosts with other
 * credentials get other tokens. */
static pc_token_store_t *store_for(apr_pool_t *p, apr_hash_t *stores,
                                   const pc_client_conf_t *cc)
{
    const char *key = apr_pstrcat(p, cc->auth_base, "|", cc->env_id, "|",
                                  cc->client_id, "|", cc->client_secret, "|",
                                  cc->auth_post ? "post" : "basic", NULL);
    pc_token_store_t *ts = apr_hash_get(stores, key, APR_HASH_KEY_STRING);

    if (ts == NULL) {
        ts = pc_tokens_store(p, key);
        apr_hash_set(stores, key, APR_HASH_KEY_STRING, ts);
    }
    return ts;
}

/* One transport per TLS setting. */
static pc_curl_t *transport_for(apr_pool_t *p, apr_hash_t *transports,
                                const pc_srv_conf *sc)
{
    const char *key = apr_psprintf(p, "%s|%d", sc->ca_file ? sc->ca_file : "",
                                   sc->ssl_verify);
    pc_curl_t *tr = apr_hash_get(transports, key, APR_HASH_KEY_STRING);

    if (tr == NULL) {
        tr = pc_curl_create(p, sc->ca_file, sc->ssl_verify);
        apr_hash_set(transports, key, APR_HASH_KEY_STRING, tr);
    }
    return tr;
}

void pc_child_clients_init(apr_pool_t *p, server_rec *s)
{
    apr_hash_t *stores = apr_hash_make(p), *transports = apr_hash_make(p);
    server_rec *v;

    g_nclients = 0;
    for (v = s; v; v = v->next)
        g_nclients++;
    g_clients = apr_pcalloc(p, sizeof(*g_clients) * (apr_size_t)g_nclients);
    for (v = s; v; v = v->next) {
        const pc_srv_conf *sc = pc_srv(v);
        pc_client_t *c;

        if (sc->env_id == NULL || sc->client_id == NULL ||
            sc->client_secret == NULL || sc->index >= g_nclients)
            continue;
        c = apr_pcalloc(p, sizeof(*c));
        c->conf = client_conf(p, sc);
        c->send = pc_curl_send;
        c->transport = transport_for(p, transports, sc);
        c->tokens = store_for(p, stores, c->conf);
        c->stats = pc_metrics_call;
        g_clients[sc->index] = c;
    }
}

const pc_client_t *pc_child_client(const server_rec *s)
{
    int i = pc_srv(s)->index;

    return g_clients && i >= 0 && i < g_nclients ? g_clients[i] : NULL;
}
