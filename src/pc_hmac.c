/*
 * pc_hmac.c - HMAC-SHA256 seals for remote cache entries (see pc_hmac.h).
 */
#include "pc_hmac.h"
#include "pc_text.h"

#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned char *secret;
    apr_size_t len;
    unsigned char id;
} pc_hmac_key_t;

struct pc_hmac_t {
    pc_hmac_key_t cur;
    pc_hmac_key_t prev; /* secret NULL when none */
};

typedef struct {
    unsigned char *buf;
    apr_size_t len;
} pc_wipe_t;

static apr_status_t wipe_buf(void *data)
{
    pc_wipe_t *w = data;
    OPENSSL_cleanse(w->buf, w->len);
    return APR_SUCCESS;
}

static const char *read_file(apr_pool_t *p, const char *path,
                             unsigned char **buf, apr_size_t *len)
{
    apr_file_t *f;
    apr_status_t rv;
    apr_size_t n = PC_HMAC_MAX_SECRET + 1;
    char err[120];

    *buf = apr_palloc(p, n);
    {
        /* The key read stays in p: wipe it when p goes. */
        pc_wipe_t *w = apr_palloc(p, sizeof(*w));
        w->buf = *buf;
        w->len = n;
        apr_pool_cleanup_register(p, w, wipe_buf, apr_pool_cleanup_null);
    }
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BINARY,
                       APR_OS_DEFAULT, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "cannot read key file '%s': %s",
                            pc_log_safe(p, path, 200),
                            apr_strerror(rv, err, sizeof(err)));
    /* apr_file_read_full: a short read of a regular file is not the end. */
    rv = apr_file_read_full(f, *buf, n, &n);
    apr_file_close(f);
    if (rv != APR_SUCCESS && rv != APR_EOF)
        return apr_psprintf(p, "cannot read key file '%s': %s",
                            pc_log_safe(p, path, 200),
                            apr_strerror(rv, err, sizeof(err)));
    if (n > PC_HMAC_MAX_SECRET)
        return apr_psprintf(p, "key file '%s' is larger than %d bytes: is it "
                               "the right file?",
                            pc_log_safe(p, path, 200), PC_HMAC_MAX_SECRET);
    *len = n;
    return NULL;
}

/* A text key ends with a newline that is not part of it. */
static apr_size_t strip_text_newline(const unsigned char *b, apr_size_t n)
{
    apr_size_t i, end = n;

    while (end > 0 && (b[end - 1] == '\n' || b[end - 1] == '\r'))
        end--;
    for (i = 0; i < end; i++) {
        if (b[i] < 0x20 || b[i] > 0x7e)
            return n; /* binary: every byte counts */
    }
    return end;
}

const char *pc_hmac_read_secret(apr_pool_t *p, const char *arg,
                                const unsigned char **secret, apr_size_t *len)
{
    unsigned char *buf = NULL;
    apr_size_t n = 0;
    const char *what, *err;

    if (strncmp(arg, "file:", 5) == 0) {
        if ((err = read_file(p, arg + 5, &buf, &n)) != NULL)
            return err;
        n = strip_text_newline(buf, n);
        what = apr_psprintf(p, "key file '%s'", pc_log_safe(p, arg + 5, 200));
    }
    else if (strncmp(arg, "env:", 4) == 0 && arg[4] != '\0') {
        char *val = NULL;
        what = apr_psprintf(p, "environment variable '%s'",
                            pc_log_safe(p, arg + 4, 100));
        if (apr_env_get(&val, arg + 4, p) != APR_SUCCESS || val == NULL)
            return apr_psprintf(p, "%s is not set", what);
        buf = (unsigned char *)val;
        n = strlen(val);
    }
    else {
        return "the key must be given as file:/path or env:NAME (a key "
               "written in the configuration would show in config dumps)";
    }
    if (n < PC_HMAC_MIN_SECRET)
        return apr_psprintf(p, "%s holds %" APR_SIZE_T_FMT " bytes; the key "
                               "must have at least %d (generate one with "
                               "`openssl rand -hex 32`)",
                            what, n, PC_HMAC_MIN_SECRET);
    *secret = buf;
    *len = n;
    return NULL;
}

static apr_status_t wipe(void *data)
{
    pc_hmac_t *h = data;
    if (h->cur.secret != NULL)
        OPENSSL_cleanse(h->cur.secret, h->cur.len);
    if (h->prev.secret != NULL)
        OPENSSL_cleanse(h->prev.secret, h->prev.len);
    return APR_SUCCESS;
}

static int mac(unsigned char tag[PC_HMAC_TAG_LEN], const pc_hmac_key_t *k,
               const unsigned char *msg, apr_size_t msg_len)
{
    unsigned int n = 0;
    return HMAC(EVP_sha256(), k->secret, (int)k->len, msg, msg_len, tag,
                &n) != NULL && n == PC_HMAC_TAG_LEN;
}

static const char *set_key(pc_hmac_key_t *k, apr_pool_t *p,
                           const unsigned char *s, apr_size_t len,
                           const char *which)
{
    static const unsigned char label[] = "pc-key-id";
    unsigned char tag[PC_HMAC_TAG_LEN];

    if (len < PC_HMAC_MIN_SECRET || len > PC_HMAC_MAX_SECRET)
        return apr_psprintf(p, "the %s key must have %d..%d bytes", which,
                            PC_HMAC_MIN_SECRET, PC_HMAC_MAX_SECRET);
    k->secret = apr_pmemdup(p, s, len);
    k->len = len;
    if (!mac(tag, k, label, sizeof(label) - 1))
        return "libcrypto cannot compute HMAC-SHA256";
    k->id = tag[0];
    return NULL;
}

const char *pc_hmac_create(pc_hmac_t **h, apr_pool_t *p,
                           const unsigned char *cur, apr_size_t cur_len,
                           const unsigned char *prev, apr_size_t prev_len)
{
    pc_hmac_t *n = apr_pcalloc(p, sizeof(*n));
    const char *err;

    apr_pool_cleanup_register(p, n, wipe, apr_pool_cleanup_null);
    if ((err = set_key(&n->cur, p, cur, cur_len, "current")) != NULL)
        return err;
    if (prev != NULL) {
        if (prev_len == cur_len && CRYPTO_memcmp(prev, cur, cur_len) == 0)
            return "the previous key is the same as the current one";
        if ((err = set_key(&n->prev, p, prev, prev_len, "previous")) != NULL)
            return err;
    }
    *h = n;
    return NULL;
}

unsigned char pc_hmac_key_id(const pc_hmac_t *h)
{
    return h->cur.id;
}

static void put_u32(unsigned char *b, apr_size_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* tag over "PCH1" || u32 klen || key || u32 vlen || val || id.  The input
 * is laid out in one buffer (values are small: a few hundred bytes) so the
 * one-shot HMAC() serves both OpenSSL 1.1 and 3. */
static int tag_for(unsigned char tag[PC_HMAC_TAG_LEN], const pc_hmac_key_t *k,
                   const void *key, apr_size_t key_len,
                   const unsigned char *val, apr_size_t val_len)
{
    unsigned char stack[1024], *m = stack, *o;
    apr_size_t n = 4 + 4 + key_len + 4 + val_len + 1;
    int ok;

    if (key_len > 0xffffffffUL || val_len > 0xffffffffUL)
        return 0;
    if (n > sizeof(stack) && (m = malloc(n)) == NULL)
        return 0;
    o = m;
    memcpy(o, "PCH1", 4), o += 4;
    put_u32(o, key_len), o += 4;
    if (key_len)
        memcpy(o, key, key_len), o += key_len;
    put_u32(o, val_len), o += 4;
    if (val_len)
        memcpy(o, val, val_len), o += val_len;
    *o = k->id;
    ok = mac(tag, k, m, n);
    if (m != stack)
        free(m);
    return ok;
}

apr_status_t pc_hmac_seal(unsigned char **out, apr_size_t *out_len,
                          const pc_hmac_t *h, const void *key,
                          apr_size_t key_len, const unsigned char *val,
                          apr_size_t val_len, apr_pool_t *p)
{
    unsigned char *b = apr_palloc(p, val_len + PC_HMAC_OVERHEAD);

    if (val_len)
        memcpy(b, val, val_len);
    b[val_len] = h->cur.id;
    if (!tag_for(b + val_len + 1, &h->cur, key, key_len, val, val_len))
        return APR_EGENERAL;
    *out = b;
    *out_len = val_len + PC_HMAC_OVERHEAD;
    return APR_SUCCESS;
}

static int verifies(const pc_hmac_key_t *k, const void *key,
                    apr_size_t key_len, const unsigned char *val,
                    apr_size_t val_len, const unsigned char *tag)
{
    unsigned char want[PC_HMAC_TAG_LEN];
    return k->secret != NULL &&
           tag_for(want, k, key, key_len, val, val_len) &&
           CRYPTO_memcmp(want, tag, PC_HMAC_TAG_LEN) == 0;
}

apr_status_t pc_hmac_open(const unsigned char **val, apr_size_t *val_len,
                          int *used_previous, const pc_hmac_t *h,
                          const void *key, apr_size_t key_len,
                          const unsigned char *sealed, apr_size_t sealed_len)
{
    apr_size_t vlen;
    unsigned char id;
    const unsigned char *tag;
    int is_cur, is_prev, which;

    if (sealed == NULL || sealed_len < PC_HMAC_OVERHEAD)
        return APR_EINVAL;
    vlen = sealed_len - PC_HMAC_OVERHEAD;
    id = sealed[vlen];
    tag = sealed + vlen + 1;
    is_cur = id == h->cur.id;
    is_prev = h->prev.secret != NULL && id == h->prev.id;
    if (!is_cur && !is_prev)
        return APR_NOTFOUND;
    /* Both ids may be equal (1 in 256): then either secret may have
     * sealed it, and both are tried. */
    if (is_cur && verifies(&h->cur, key, key_len, sealed, vlen, tag))
        which = 0;
    else if (is_prev && verifies(&h->prev, key, key_len, sealed, vlen, tag))
        which = 1;
    else
        return APR_EMISMATCH;
    *val = sealed;
    *val_len = vlen;
    if (used_previous != NULL)
        *used_previous = which;
    return APR_SUCCESS;
}

const char *pc_hmac_reason(apr_status_t rv)
{
    switch (rv) {
    case APR_SUCCESS:
        return "verified";
    case APR_EINVAL:
        return "not sealed (too short)";
    case APR_NOTFOUND:
        return "sealed with an unknown key";
    case APR_EMISMATCH:
        return "seal does not verify";
    default:
        return "seal check failed";
    }
}
