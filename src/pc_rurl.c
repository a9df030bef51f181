/*
 * pc_rurl.c - parse the Redis cache URL (see pc_rurl.h).
 */
#include "pc_rurl.h"
#include "pc_text.h"

#include <apr_lib.h>
#include <apr_strings.h>

#include <arpa/inet.h>
#include <string.h>

/* Said whenever TLS is asked of a build that cannot do it. */
#define PC_RURL_NO_TLS                                                       \
    "TLS (rediss://) needs hiredis >= 1.0 with hiredis_ssl at build time, "  \
    "and this module was built with an older hiredis (Debian 12 ships "      \
    "0.14).  Alternative: run a local TLS client tunnel (stunnel, Debian "   \
    "package stunnel4) that listens on the loopback and connects to the "    \
    "Redis TLS port, and point the module at it with redis://127.0.0.1:PORT"

int pc_rurl_tls_available(void)
{
#ifdef PC_HAVE_HIREDIS_SSL
    return 1;
#else
    return 0;
#endif
}

static int dns_name_ok(const char *h)
{
    apr_size_t n = strlen(h), label = 0, i;
    int all_numeric = 1, last_label_numeric = 1;

    if (n == 0 || n > 253 || h[0] == '.' || h[n - 1] == '.')
        return 0;
    for (i = 0; i < n; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                return 0;
            label = 0;
            last_label_numeric = 1;
            continue;
        }
        if (!apr_isalnum(c) && c != '-')
            return 0;
        if (c == '-' && label == 0)
            return 0;
        if (++label > 63)
            return 0;
        if (!apr_isdigit(c))
            all_numeric = last_label_numeric = 0;
    }
    /* "1.2.3" or "host.123" look like mistyped addresses: refuse them. */
    return h[n - 1] != '-' && !all_numeric && !last_label_numeric;
}

/* One "HOST[:PORT]" of the authority. */
static const char *parse_host(apr_pool_t *p, char *s, int dflt_port,
                              pc_rurl_host_t *out)
{
    char *host = s, *port = NULL;

    if (*s == '\0')
        return "a host is missing";
    if (*s == '[') {
        char *close = strchr(s, ']');
        unsigned char buf[16];
        if (close == NULL)
            return apr_psprintf(p, "'%s': IPv6 address without ']'",
                                pc_log_safe(p, s, 80));
        *close = '\0';
        host = s + 1;
        if (inet_pton(AF_INET6, host, buf) != 1)
            return apr_psprintf(p, "'%s' is not an IPv6 address",
                                pc_log_safe(p, host, 80));
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0')
            return apr_psprintf(p, "unexpected '%s' after ']'",
                                pc_log_safe(p, close + 1, 80));
    }
    else {
        if ((port = strchr(s, ':')) != NULL && strchr(port + 1, ':') != NULL)
            return apr_psprintf(p, "'%s': an IPv6 address needs brackets, "
                                   "as in [::1]:6379",
                                pc_log_safe(p, s, 80));
        if (port != NULL)
            *port++ = '\0';
        if (*host == '\0')
            return "a host is missing before ':'";
        if (strspn(host, "0123456789.") == strlen(host)) {
            unsigned char buf[4];
            if (inet_pton(AF_INET, host, buf) != 1)
                return apr_psprintf(p, "'%s' is not an IPv4 address",
                                    pc_log_safe(p, host, 80));
        }
        else if (!dns_name_ok(host)) {
            return apr_psprintf(p, "'%s' is not a host name, IPv4 address "
                                   "or [IPv6] address",
                                pc_log_safe(p, host, 80));
        }
    }
    out->host = host;
    out->port = dflt_port;
    if (port != NULL && pc_decimal(port, 1, 65535, &out->port) != 0)
        return apr_psprintf(p, "port '%s' of host '%s' must be 1..65535",
                            pc_log_safe(p, port, 40), pc_log_safe(p, host, 80));
    return NULL;
}

static int master_ok(const char *m)
{
    apr_size_t n = strlen(m);
    return n > 0 && n <= 128 &&
           strspn(m, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._:-") == n;
}

static const char *parse_db(apr_pool_t *p, const char *s, int *db)
{
    if (pc_decimal(s, 0, 2147483647L, db) != 0)
        return apr_psprintf(p, "database '%s' must be a number 0..2147483647",
                            pc_log_safe(p, s, 40));
    return NULL;
}

/* The part after the authority: "" or "/" or "/DB" (redis),
 * "/MASTER[/DB]" (sentinel). */
static const char *parse_path(apr_pool_t *p, char *path, pc_rurl_t *u)
{
    char *db;

    if (!u->sentinel) {
        if (path == NULL || path[0] == '\0')
            return NULL;
        return parse_db(p, path, &u->db);
    }
    if (path == NULL || path[0] == '\0')
        return "redis-sentinel:// needs the master name after the sentinels: "
               "redis-sentinel://host:port[,host:port...]/MASTER[/DB]";
    if ((db = strchr(path, '/')) != NULL) {
        const char *err;
        *db++ = '\0';
        if ((err = parse_db(p, db, &u->db)) != NULL)
            return err;
    }
    if (!master_ok(path))
        return apr_psprintf(p, "master name '%s' must be 1..128 characters "
                               "of A-Z a-z 0-9 . _ : -",
                            pc_log_safe(p, path, 80));
    u->master = path;
    return NULL;
}

static const char *parse_scheme(apr_pool_t *p, const char *arg,
                                pc_rurl_t *u, const char **rest)
{
    static const struct {
        const char *name;
        int sentinel, tls;
    } schemes[] = {{"redis://", 0, 0},
                   {"rediss://", 0, 1},
                   {"redis-sentinel://", 1, 0},
                   {"rediss-sentinel://", 1, 1}};
    apr_size_t i;

    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        apr_size_t n = strlen(schemes[i].name);
        if (strncasecmp(arg, schemes[i].name, n) == 0) {
            u->sentinel = schemes[i].sentinel;
            u->tls = schemes[i].tls;
            *rest = arg + n;
            if (u->tls && !pc_rurl_tls_available())
                return PC_RURL_NO_TLS;
            return NULL;
        }
    }
    return apr_psprintf(p, "'%s' is not a Redis URL: use redis://, rediss://, "
                           "redis-sentinel:// or rediss-sentinel://",
                        pc_log_safe(p, arg, 60));
}

const char *pc_rurl_parse(apr_pool_t *p, const char *arg, pc_rurl_t **out)
{
    pc_rurl_t *u = apr_pcalloc(p, sizeof(*u));
    const char *rest = NULL, *err, *c;
    char *auth, *path, *tok, *state;

    if (strlen(arg) > 4096)
        return "the Redis URL is longer than 4096 characters";
    for (c = arg; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f)
            return "the Redis URL holds whitespace or control characters";
    }
    if ((err = parse_scheme(p, arg, u, &rest)) != NULL)
        return err;
    if (strchr(rest, '@') != NULL)
        return "no credentials in the Redis URL: they would show in logs and "
               "the configuration; use PingOneConsentCacheAuth";
    if (strpbrk(rest, "?#") != NULL)
        return "the Redis URL takes no query ('?') or fragment ('#')";

    auth = apr_pstrdup(p, rest);
    if ((path = strchr(auth, '/')) != NULL)
        *path++ = '\0';
    u->hosts = apr_array_make(p, 3, sizeof(pc_rurl_host_t));
    if (*auth == '\0')
        return "the Redis URL names no host";
    if (auth[0] == ',' || auth[strlen(auth) - 1] == ',' ||
        strstr(auth, ",,") != NULL)
        return "empty host in the sentinel list";
    for (tok = apr_strtok(auth, ",", &state); tok != NULL;
         tok = apr_strtok(NULL, ",", &state)) {
        pc_rurl_host_t *h = apr_array_push(u->hosts);
        if (u->hosts->nelts > PC_RURL_MAX_HOSTS)
            return apr_psprintf(p, "more than %d sentinels", PC_RURL_MAX_HOSTS);
        err = parse_host(p, tok, u->sentinel ? PC_RURL_SENTINEL_PORT
                                             : PC_RURL_REDIS_PORT, h);
        if (err != NULL)
            return err;
    }
    if (!u->sentinel && u->hosts->nelts != 1)
        return "redis:// takes one host; several hosts need "
               "redis-sentinel://host:port,host:port/MASTER";
    if ((err = parse_path(p, path, u)) != NULL)
        return err;
    *out = u;
    return NULL;
}

const char *pc_rurl_unparse(apr_pool_t *p, const pc_rurl_t *u)
{
    const char *s = apr_pstrcat(p, u->tls ? "rediss" : "redis",
                                u->sentinel ? "-sentinel://" : "://", NULL);
    int i;

    for (i = 0; i < u->hosts->nelts; i++) {
        const pc_rurl_host_t *h = &APR_ARRAY_IDX(u->hosts, i, pc_rurl_host_t);
        int v6 = strchr(h->host, ':') != NULL;
        s = apr_psprintf(p, "%s%s%s%s%s:%d", s, i ? "," : "", v6 ? "[" : "",
                         h->host, v6 ? "]" : "", h->port);
    }
    if (u->sentinel)
        s = apr_pstrcat(p, s, "/", u->master, NULL);
    return apr_psprintf(p, "%s/%d", s, u->db);
}
