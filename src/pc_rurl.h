/*
 * pc_rurl.h - the Redis cache URL of `PingOneConsentCache` (pure core).
 *
 * Accepted forms (scheme case-insensitive, everything else as written):
 *
 *   redis://HOST[:PORT][/DB]
 *   rediss://HOST[:PORT][/DB]                        TLS
 *   redis-sentinel://HOST[:PORT][,HOST[:PORT]...]/MASTER[/DB]
 *   rediss-sentinel://...                            TLS to sentinels and master
 *
 * HOST is a DNS name (labels of [A-Za-z0-9-], not starting or ending with
 * '-', at most 63 bytes each, 253 in all), a dotted-quad IPv4 address, or
 * an IPv6 address in brackets ("[::1]").  PORT is 1..65535 (default 6379,
 * 26379 for sentinels).  DB is a decimal 0..2147483647 (default 0; whether
 * the server has that many databases - its `databases` setting, 16 by
 * default - is only known when SELECT runs).  MASTER is the name the
 * sentinels monitor: 1..128 bytes of [A-Za-z0-9._:-].  At most
 * PC_RURL_MAX_HOSTS sentinels.
 *
 * Refused with a message that says why: credentials in the URL (they
 * belong in PingOneConsentCacheAuth, which reads them from a file or the
 * environment and never shows them), query strings, fragments, whitespace,
 * and - when the build has no hiredis_ssl (PC_HAVE_HIREDIS_SSL undefined,
 * e.g. hiredis 0.14 on Debian 12) - the TLS schemes, with the alternative
 * (a local stunnel client) named in the message.
 */
#ifndef PC_RURL_H
#define PC_RURL_H

#include <apr_pools.h>
#include <apr_tables.h>

#define PC_RURL_MAX_HOSTS 16
#define PC_RURL_REDIS_PORT 6379
#define PC_RURL_SENTINEL_PORT 26379

typedef struct pc_rurl_host_t {
    const char *host; /* name or address, IPv6 without brackets */
    int port;
} pc_rurl_host_t;

typedef struct pc_rurl_t {
    int sentinel;              /* 1: hosts are sentinels, master names it */
    int tls;                   /* rediss:// or rediss-sentinel:// */
    apr_array_header_t *hosts; /* of pc_rurl_host_t: 1 (redis) or 1..16 */
    const char *master;        /* sentinel master name, NULL otherwise */
    int db;                    /* 0..2147483647 */
} pc_rurl_t;

/* 1 when the build supports rediss:// (hiredis >= 1.0 with hiredis_ssl). */
int pc_rurl_tls_available(void);

/* Parse `arg`.  NULL and *out set on success, else an error message
 * (allocated in p) that names the problem. */
const char *pc_rurl_parse(apr_pool_t *p, const char *arg, pc_rurl_t **out);

/* The URL in canonical form, for logs and the status page (no secret is
 * ever in a pc_rurl_t). */
const char *pc_rurl_unparse(apr_pool_t *p, const pc_rurl_t *u);

#endif
