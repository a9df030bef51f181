/* Unit tests: sealing remote cache entries (pc_hmac). */
#include "pc_hmac.h"
#include "tap.h"

#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <unistd.h>

static apr_pool_t *p;

static const unsigned char K1[] = "0123456789abcdef0123456789abcdef";  /* 32 */
static const unsigned char K2[] = "fedcba9876543210fedcba9876543210!"; /* 33 */
static const unsigned char K3[] = "another-secret-of-the-right-size-xyz";

/* A typical cache value (pc_cache.h format 2, ~99 bytes). */
static unsigned char value[99];
static const char key_a[] = "pc:0123456789abcdefghij";
static const char key_b[] = "pc:0123456789abcdefghiJ"; /* another user */

static pc_hmac_t *ctx(const unsigned char *cur, apr_size_t cl,
                      const unsigned char *prev, apr_size_t pl)
{
    pc_hmac_t *h = NULL;
    const char *err = pc_hmac_create(&h, p, cur, cl, prev, pl);
    if (err != NULL)
        printf("# create: %s\n", err);
    return h;
}

static apr_status_t open_(const pc_hmac_t *h, const char *key,
                          const unsigned char *s, apr_size_t n, int *prev)
{
    const unsigned char *v;
    apr_size_t vl;
    return pc_hmac_open(&v, &vl, prev, h, key, strlen(key), s, n);
}

static void test_roundtrip(void)
{
    pc_hmac_t *h = ctx(K1, 32, NULL, 0);
    unsigned char *s, *s2;
    apr_size_t n, n2, vl;
    const unsigned char *v;
    int prev = -1;

    ok(h != NULL, "context with a 32-byte key");
    ok(pc_hmac_seal(&s, &n, h, key_a, strlen(key_a), value, sizeof(value), p) ==
           APR_SUCCESS,
       "seal");
    is_int(n, sizeof(value) + PC_HMAC_OVERHEAD, "sealed = value + 33 bytes");
    ok(memcmp(s, value, sizeof(value)) == 0, "value stays readable in front");
    is_int(s[sizeof(value)], pc_hmac_key_id(h), "key-id byte after the value");
    ok(pc_hmac_open(&v, &vl, &prev, h, key_a, strlen(key_a), s, n) ==
           APR_SUCCESS,
       "open");
    ok(v == s && vl == sizeof(value) && prev == 0,
       "value points into the sealed bytes, current key used");
    pc_hmac_seal(&s2, &n2, h, key_a, strlen(key_a), value, sizeof(value), p);
    ok(n2 == n && memcmp(s, s2, n) == 0, "sealing is deterministic");

    /* An independent computation of the documented format. */
    {
        unsigned char msg[512], tag[32], idtag[32], *m = msg;
        unsigned int tl = 0;
        apr_size_t kl = strlen(key_a);
        HMAC(EVP_sha256(), K1, 32, (const unsigned char *)"pc-key-id", 9, idtag,
             &tl);
        memcpy(m, "PCH1", 4), m += 4;
        *m++ = 0, *m++ = 0, *m++ = 0, *m++ = (unsigned char)kl;
        memcpy(m, key_a, kl), m += kl;
        *m++ = 0, *m++ = 0, *m++ = 0, *m++ = (unsigned char)sizeof(value);
        memcpy(m, value, sizeof(value)), m += sizeof(value);
        *m++ = idtag[0];
        HMAC(EVP_sha256(), K1, 32, msg, (size_t)(m - msg), tag, &tl);
        ok(s[sizeof(value)] == idtag[0] &&
               memcmp(s + sizeof(value) + 1, tag, 32) == 0,
           "tag and key-id match the documented format");
    }

    ok(pc_hmac_seal(&s, &n, h, "", 0, (const unsigned char *)"", 0, p) ==
               APR_SUCCESS &&
           n == PC_HMAC_OVERHEAD &&
           open_(h, "", s, n, NULL) == APR_SUCCESS,
       "empty key and value seal and open");
}

static void test_tampering(void)
{
    pc_hmac_t *h = ctx(K1, 32, NULL, 0);
    unsigned char *s;
    apr_size_t n, i;
    int all_refused = 1;

    pc_hmac_seal(&s, &n, h, key_a, strlen(key_a), value, sizeof(value), p);
    for (i = 0; i < n; i++) {
        unsigned char bit;
        for (bit = 1; bit; bit <<= 1) {
            apr_status_t rv;
            s[i] ^= bit;
            rv = open_(h, key_a, s, n, NULL);
            s[i] ^= bit;
            if (rv == APR_SUCCESS) {
                all_refused = 0;
                printf("#   flip of bit %u in byte %zu accepted\n", bit, i);
            }
        }
    }
    ok(all_refused, "every single flipped bit anywhere (value, id, tag) refused");
    ok(open_(h, key_a, s, n, NULL) == APR_SUCCESS, "untouched copy still opens");
    is_int(open_(h, key_b, s, n, NULL), APR_EMISMATCH,
           "value copied to another user's key refused");
    is_int(open_(h, "pc:0123456789abcdefghi", s, n, NULL), APR_EMISMATCH,
           "key one byte shorter refused");
    ok(open_(h, key_a, s, n - 1, NULL) != APR_SUCCESS, "truncated refused");
    {
        unsigned char *longer = apr_palloc(p, n + 1);
        memcpy(longer, s, n);
        longer[n] = 'x';
        ok(open_(h, key_a, longer, n + 1, NULL) != APR_SUCCESS,
           "byte appended refused");
    }
    is_int(open_(h, key_a, value, sizeof(value), NULL) == APR_SUCCESS, 0,
           "an unsealed value (written without the key) refused");
    is_int(open_(h, key_a, s, PC_HMAC_OVERHEAD - 1, NULL), APR_EINVAL,
           "shorter than the overhead: not sealed");
    is_int(open_(h, key_a, NULL, 0, NULL), APR_EINVAL, "NULL refused");

    /* Shifting bytes between key and value: ("k1", "xv") vs ("k1x", "v"). */
    {
        unsigned char *a;
        apr_size_t an;
        pc_hmac_seal(&a, &an, h, "k1", 2, (const unsigned char *)"xv", 2, p);
        ok(open_(h, "k1x", a + 1, an - 1, NULL) != APR_SUCCESS,
           "moving a byte from the value to the key refused");
    }
    ok(strcmp(pc_hmac_reason(APR_EMISMATCH), "seal does not verify") == 0 &&
           strstr(pc_hmac_reason(APR_NOTFOUND), "unknown key") != NULL,
       "reasons for the log");
}

static void test_rotation(void)
{
    pc_hmac_t *old = ctx(K1, 32, NULL, 0);
    pc_hmac_t *step1 = ctx(K1, 32, K2, 33); /* everyone can read the new one */
    pc_hmac_t *step2 = ctx(K2, 33, K1, 32); /* everyone writes the new one */
    pc_hmac_t *step3 = ctx(K2, 33, NULL, 0);
    pc_hmac_t *other = ctx(K3, sizeof(K3) - 1, NULL, 0);
    unsigned char *s_old, *s_new, *s_other;
    apr_size_t n_old, n_new, n_other;
    int prev = -1;

    ok(old && step1 && step2 && step3 && other, "contexts");
    ok(pc_hmac_key_id(step1) == pc_hmac_key_id(old) &&
           pc_hmac_key_id(step2) == pc_hmac_key_id(step3),
       "key-id follows the current key");
    pc_hmac_seal(&s_old, &n_old, old, key_a, strlen(key_a), value, 40, p);
    pc_hmac_seal(&s_new, &n_new, step2, key_a, strlen(key_a), value, 40, p);
    pc_hmac_seal(&s_other, &n_other, other, key_a, strlen(key_a), value, 40, p);

    ok(open_(step1, key_a, s_new, n_new, &prev) == APR_SUCCESS && prev == 1,
       "step 1 reads entries of the new key (as previous)");
    ok(open_(step2, key_a, s_old, n_old, &prev) == APR_SUCCESS && prev == 1,
       "step 2 reads entries of the old key (previous)");
    ok(open_(step2, key_a, s_new, n_new, &prev) == APR_SUCCESS && prev == 0,
       "step 2 reads its own entries (current)");
    ok(open_(step3, key_a, s_old, n_old, NULL) != APR_SUCCESS,
       "step 3: old-key entries no longer accepted");
    ok(open_(old, key_a, s_new, n_new, NULL) != APR_SUCCESS,
       "a server with only the old key ignores new-key entries");
    if (pc_hmac_key_id(other) != pc_hmac_key_id(step2) &&
        pc_hmac_key_id(other) != pc_hmac_key_id(old))
        is_int(open_(step2, key_a, s_other, n_other, NULL), APR_NOTFOUND,
               "unknown key-id refused as such");
    else
        ok(open_(step2, key_a, s_other, n_other, NULL) == APR_EMISMATCH,
           "unknown key with a colliding id refused");
    {
        /* An entry carrying the current id but made with another key. */
        unsigned char *f = apr_pmemdup(p, s_other, n_other);
        f[40] = pc_hmac_key_id(step2);
        is_int(open_(step2, key_a, f, n_other, NULL), APR_EMISMATCH,
               "right key-id, wrong key: refused");
    }
}

static void test_create_errors(void)
{
    pc_hmac_t *h = NULL;
    const char *err;

    err = pc_hmac_create(&h, p, K1, 31, NULL, 0);
    ok(err && strstr(err, "32..4096"), "31-byte key refused: %s", err ? err : "");
    err = pc_hmac_create(&h, p, K1, 32, K3, 31);
    ok(err && strstr(err, "previous"), "short previous key refused");
    err = pc_hmac_create(&h, p, K1, 32, K1, 32);
    ok(err && strstr(err, "same"), "previous == current refused");
}

static char *write_tmp(const char *name, const void *data, apr_size_t n)
{
    char *path = apr_psprintf(p, "/tmp/pc-test-hmac-%ld-%s", (long)getpid(), name);
    FILE *f = fopen(path, "wb");
    fwrite(data, 1, n, f);
    fclose(f);
    return path;
}

static void test_read_secret(void)
{
    const unsigned char *s = NULL;
    apr_size_t n = 0;
    const char *err, *path;
    unsigned char bin[32];
    char big[5000];
    int i;

    path = write_tmp("hex", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", 65);
    err = pc_hmac_read_secret(p, apr_pstrcat(p, "file:", path, NULL), &s, &n);
    ok(err == NULL && n == 64 && memcmp(s, "0011", 4) == 0,
       "hex key file: newline dropped (64 bytes)");
    unlink(path);

    for (i = 0; i < 32; i++)
        bin[i] = (unsigned char)(i * 37 + 1);
    bin[31] = '\n'; /* a binary key may end in 0x0a: it is kept */
    path = write_tmp("bin", bin, 32);
    err = pc_hmac_read_secret(p, apr_pstrcat(p, "file:", path, NULL), &s, &n);
    ok(err == NULL && n == 32 && memcmp(s, bin, 32) == 0,
       "binary key file used as is, trailing 0x0a kept");
    unlink(path);

    path = write_tmp("short", "short-secret-value-of-31-bytes!\n", 32);
    err = pc_hmac_read_secret(p, apr_pstrcat(p, "file:", path, NULL), &s, &n);
    ok(err && strstr(err, "31 bytes") && strstr(err, "at least 32") &&
           !strstr(err, "short-secret"),
       "31-byte key file refused, secret not echoed: %s", err ? err : "");
    unlink(path);

    memset(big, 'a', sizeof(big));
    path = write_tmp("big", big, sizeof(big));
    err = pc_hmac_read_secret(p, apr_pstrcat(p, "file:", path, NULL), &s, &n);
    ok(err && strstr(err, "larger than 4096"), "oversized file refused");
    unlink(path);

    err = pc_hmac_read_secret(p, "file:/nonexistent/pc-key", &s, &n);
    ok(err && strstr(err, "cannot read key file '/nonexistent/pc-key'"),
       "missing file named");

    apr_env_set("PC_TEST_HMAC_KEY", "env-secret-0123456789abcdef0123456789", p);
    err = pc_hmac_read_secret(p, "env:PC_TEST_HMAC_KEY", &s, &n);
    ok(err == NULL && n == 37, "env key");
    apr_env_set("PC_TEST_HMAC_KEY", "tooshort", p);
    err = pc_hmac_read_secret(p, "env:PC_TEST_HMAC_KEY", &s, &n);
    ok(err && strstr(err, "8 bytes") && !strstr(err, "tooshort"),
       "short env key refused, not echoed");
    apr_env_delete("PC_TEST_HMAC_KEY", p);
    err = pc_hmac_read_secret(p, "env:PC_TEST_HMAC_KEY", &s, &n);
    ok(err && strstr(err, "not set"), "unset variable named");
    err = pc_hmac_read_secret(p, "0123456789abcdef0123456789abcdef", &s, &n);
    ok(err && strstr(err, "file:/path or env:NAME") && !strstr(err, "0123"),
       "key in the configuration refused, not echoed");
    err = pc_hmac_read_secret(p, "env:", &s, &n);
    ok(err != NULL, "env: without a name refused");
}

int main(void)
{
    int i;
    apr_initialize();
    apr_pool_create(&p, NULL);
    value[0] = 2;
    for (i = 1; i < (int)sizeof(value); i++)
        value[i] = (unsigned char)(i * 7);
    test_roundtrip();
    test_tampering();
    test_rotation();
    test_create_errors();
    test_read_secret();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
