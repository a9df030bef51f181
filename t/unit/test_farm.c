/* Unit tests: a Redis farm's key names, frames, epochs and purge messages
 * (pc_farm). */
#include "pc_farm.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

static apr_pool_t *p;

static void test_keys(void)
{
    unsigned char k[PC_FARM_KEY_BYTES];
    char out[PC_FARM_ENTRY_KEY_LEN + 1];
    int i;

    for (i = 0; i < PC_FARM_KEY_BYTES; i++)
        k[i] = (unsigned char)(i * 17 + 1);
    pc_farm_entry_key(out, k);
    is_str(out, "pc:0112233445566778899aabbccddeef0011223344",
           "entry key: pc: and 40 lowercase hex digits");
    is_int(strlen(out), PC_FARM_ENTRY_KEY_LEN, "43 bytes");
    is_str(pc_farm_kv_key(p, "feed-cursor"), "pc:kv:feed-cursor", "kv key");
    is_str(pc_farm_channel(p, 0), "pc:purge:0", "channel of db 0");
    is_str(pc_farm_channel(p, 15), "pc:purge:15", "channel of db 15");
}

static void test_frame(void)
{
    const unsigned char v[] = "a value\0with a NUL";
    unsigned char *f;
    const unsigned char *got;
    apr_size_t n, gl;
    apr_time_t fu, ex;
    apr_time_t big = (apr_time_t)1 << 52;

    pc_farm_frame(&f, &n, v, sizeof(v), big + 1, big + 2, p);
    is_int(n, sizeof(v) + PC_FARM_FRAME_HEAD, "frame = value + 17 bytes");
    is_int(f[0], PC_FARM_FRAME_VERSION, "version byte first");
    ok(pc_farm_unframe(&got, &gl, &fu, &ex, f, n) == APR_SUCCESS, "unframe");
    is_int(fu, big + 1, "fresh_until back, to the microsecond");
    is_int(ex, big + 2, "expires back");
    ok(gl == sizeof(v) && memcmp(got, v, gl) == 0, "value back, binary-safe");
    ok(pc_farm_unframe(&got, &gl, &fu, &ex, f, PC_FARM_FRAME_HEAD - 1) ==
           APR_EINVAL,
       "a short frame is refused");
    f[0] = 2;
    ok(pc_farm_unframe(&got, &gl, &fu, &ex, f, n) == APR_EINVAL,
       "another version is refused");
    pc_farm_frame(&f, &n, NULL, 0, 5, 6, p);
    ok(pc_farm_unframe(&got, &gl, &fu, &ex, f, n) == APR_SUCCESS && gl == 0,
       "an empty value frames and unframes");
}

static apr_status_t dec(const char *s, apr_uint32_t *e)
{
    return pc_farm_epoch_decode(e, (const unsigned char *)s, strlen(s));
}

static void test_epoch(void)
{
    char buf[PC_FARM_EPOCH_MAX];
    apr_uint32_t e = 7;

    is_int(pc_farm_epoch_encode(buf, 0), 1, "epoch 0: one digit");
    is_int(pc_farm_epoch_encode(buf, 4294967295u), 10, "largest: 10 digits");
    ok(dec("4294967295", &e) == APR_SUCCESS && e == 4294967295u,
       "largest decodes");
    ok(dec("0", &e) == APR_SUCCESS && e == 0, "0 decodes");
    ok(dec("42", &e) == APR_SUCCESS && e == 42, "42 decodes");
    ok(dec("4294967296", &e) == APR_EINVAL, "2^32 is refused");
    ok(dec("", &e) == APR_EINVAL, "empty is refused");
    ok(dec("042", &e) == APR_EINVAL, "a leading zero is refused");
    ok(dec("-1", &e) == APR_EINVAL, "a sign is refused");
    ok(dec("1 ", &e) == APR_EINVAL, "trailing space is refused");
    ok(dec("12345678901", &e) == APR_EINVAL, "11 digits are refused");
}

static const char *got_id;

static pc_farm_msg_e parse(const char *m, unsigned char **k, int *n)
{
    return pc_farm_msg_parse((const unsigned char *)m, strlen(m), &got_id, k,
                             n, p);
}

static void test_messages(void)
{
    unsigned char keys[3 * PC_FARM_KEY_BYTES], *k;
    const unsigned char rnd[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
    const char *id = pc_farm_msg_id(p, rnd), *m;
    char *bad;
    int n, i;

    for (i = 0; i < (int)sizeof(keys); i++)
        keys[i] = (unsigned char)(255 - i);
    is_str(id, "0123456789abcdef", "message id: 16 lowercase hex digits");
    is_str(pc_farm_ack_key(p, id), "pc:ack:0123456789abcdef", "ack key");
    is_str(pc_farm_msg_all(p, id), "PCP1 0123456789abcdef A", "purge-all message");
    ok(parse("PCP1 0123456789abcdef A", &k, &n) == PC_FARM_MSG_ALL,
       "purge-all parses");
    is_str(got_id, id, "  with its id");
    m = pc_farm_msg_keys(p, id, keys, 3);
    is_int(strlen(m), 5 + 16 + 2 + 3 * 41, "three keys: head, id, K, 3 x (space, 40 hex)");
    ok(parse(m, &k, &n) == PC_FARM_MSG_KEYS && n == 3 &&
           memcmp(k, keys, sizeof(keys)) == 0,
       "keys parse back, in order");
    is_str(got_id, id, "  with the id");
    m = pc_farm_msg_keys(p, id, keys, 1);
    ok(parse(m, &k, &n) == PC_FARM_MSG_KEYS && n == 1, "one key");
    ok(pc_farm_msg_keys(p, id, keys, 0) == NULL, "no message for no keys");
    ok(pc_farm_msg_keys(p, id, keys, PC_FARM_MSG_MAX_KEYS + 1) == NULL,
       "no message over the key limit");
    ok(pc_farm_msg_keys(p, "short", keys, 1) == NULL, "no message with a bad id");

    bad = apr_pstrdup(p, pc_farm_msg_keys(p, id, keys, 2));
    bad[30] = 'G';
    ok(parse(bad, &k, &n) == PC_FARM_MSG_OTHER && got_id == NULL,
       "a non-hex digit in a key: other, no id");
    bad = apr_pstrdup(p, pc_farm_msg_keys(p, id, keys, 2));
    bad[30] = 'A';
    ok(parse(bad, &k, &n) == PC_FARM_MSG_OTHER, "uppercase hex: other");
    bad = apr_pstrdup(p, pc_farm_msg_keys(p, id, keys, 2));
    bad[strlen(bad) - 1] = '\0';
    ok(parse(bad, &k, &n) == PC_FARM_MSG_OTHER, "a truncated key: other");
    bad = apr_pstrcat(p, pc_farm_msg_keys(p, id, keys, 1), " ", NULL);
    ok(parse(bad, &k, &n) == PC_FARM_MSG_OTHER, "a trailing space: other");
    ok(parse("PCP1 0123456789abcdef K", &k, &n) == PC_FARM_MSG_OTHER,
       "K without keys: other");
    ok(parse("PCP1 0123456789abcdef A ", &k, &n) == PC_FARM_MSG_OTHER,
       "A with more: other");
    ok(parse("PCP1 0123456789ABCDEF A", &k, &n) == PC_FARM_MSG_OTHER,
       "an uppercase id: other");
    ok(parse("PCP1 0123456789abcde A", &k, &n) == PC_FARM_MSG_OTHER,
       "a short id: other");
    ok(parse("PCP1 A", &k, &n) == PC_FARM_MSG_OTHER, "no id: other");
    ok(parse("PCP2 0123456789abcdef A", &k, &n) == PC_FARM_MSG_OTHER,
       "another version: other");
    ok(parse("", &k, &n) == PC_FARM_MSG_OTHER, "empty: other");
    ok(pc_farm_msg_parse((const unsigned char *)"PCP1 0123456789abcdef A\0", 24,
                         &got_id, &k, &n, p) == PC_FARM_MSG_OTHER,
       "a NUL after the message: other");
}

int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_keys();
    test_frame();
    test_epoch();
    test_messages();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
