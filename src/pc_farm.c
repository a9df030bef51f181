/*
 * pc_farm.c - key names, entry frames, epochs and purge messages of a
 * Redis farm (see pc_farm.h).
 */
#include "pc_farm.h"

#include <apr_strings.h>

#include <string.h>

#define MSG_HEAD "PCP1 "

static const char hexdig[] = "0123456789abcdef";

static void to_hex(char *out, const unsigned char *b, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = hexdig[b[i] >> 4];
        out[2 * i + 1] = hexdig[b[i] & 15];
    }
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* lowercase only: the encoding is canonical */
}

void pc_farm_entry_key(char out[PC_FARM_ENTRY_KEY_LEN + 1],
                       const unsigned char key[PC_FARM_KEY_BYTES])
{
    memcpy(out, PC_FARM_PREFIX, 3);
    to_hex(out + 3, key, PC_FARM_KEY_BYTES);
    out[PC_FARM_ENTRY_KEY_LEN] = '\0';
}

const char *pc_farm_kv_key(apr_pool_t *p, const char *name)
{
    return apr_pstrcat(p, PC_FARM_PREFIX "kv:", name, NULL);
}

const char *pc_farm_channel(apr_pool_t *p, int db)
{
    return apr_psprintf(p, PC_FARM_PREFIX "purge:%d", db);
}

const char *pc_farm_ack_key(apr_pool_t *p, const char *id)
{
    return apr_pstrcat(p, PC_FARM_PREFIX "ack:", id, NULL);
}

const char *pc_farm_msg_id(apr_pool_t *p, const unsigned char *random)
{
    char *id = apr_palloc(p, PC_FARM_ID_LEN + 1);

    to_hex(id, random, PC_FARM_ID_LEN / 2);
    id[PC_FARM_ID_LEN] = '\0';
    return id;
}

static void put_u64(unsigned char *b, apr_uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--) {
        b[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static apr_uint64_t get_u64(const unsigned char *b)
{
    apr_uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = (v << 8) | b[i];
    return v;
}

void pc_farm_frame(unsigned char **out, apr_size_t *out_len,
                   const unsigned char *val, apr_size_t len,
                   apr_time_t fresh_until, apr_time_t expires, apr_pool_t *p)
{
    unsigned char *b = apr_palloc(p, PC_FARM_FRAME_HEAD + len);

    b[0] = PC_FARM_FRAME_VERSION;
    put_u64(b + 1, (apr_uint64_t)fresh_until);
    put_u64(b + 9, (apr_uint64_t)expires);
    if (len)
        memcpy(b + PC_FARM_FRAME_HEAD, val, len);
    *out = b;
    *out_len = PC_FARM_FRAME_HEAD + len;
}

apr_status_t pc_farm_unframe(const unsigned char **val, apr_size_t *len,
                             apr_time_t *fresh_until, apr_time_t *expires,
                             const unsigned char *buf, apr_size_t n)
{
    if (n < PC_FARM_FRAME_HEAD || buf[0] != PC_FARM_FRAME_VERSION)
        return APR_EINVAL;
    *fresh_until = (apr_time_t)get_u64(buf + 1);
    *expires = (apr_time_t)get_u64(buf + 9);
    *val = buf + PC_FARM_FRAME_HEAD;
    *len = n - PC_FARM_FRAME_HEAD;
    return APR_SUCCESS;
}

apr_size_t pc_farm_epoch_encode(char buf[PC_FARM_EPOCH_MAX], apr_uint32_t e)
{
    return (apr_size_t)apr_snprintf(buf, PC_FARM_EPOCH_MAX, "%u", e);
}

apr_status_t pc_farm_epoch_decode(apr_uint32_t *e, const unsigned char *buf,
                                  apr_size_t n)
{
    apr_uint64_t v = 0;
    apr_size_t i;

    if (n == 0 || n > 10 || (n > 1 && buf[0] == '0'))
        return APR_EINVAL;
    for (i = 0; i < n; i++) {
        if (buf[i] < '0' || buf[i] > '9')
            return APR_EINVAL;
        v = v * 10 + (apr_uint64_t)(buf[i] - '0');
    }
    if (v > 0xffffffffu)
        return APR_EINVAL;
    *e = (apr_uint32_t)v;
    return APR_SUCCESS;
}

const char *pc_farm_msg_all(apr_pool_t *p, const char *id)
{
    return apr_pstrcat(p, MSG_HEAD, id, " A", NULL);
}

const char *pc_farm_msg_keys(apr_pool_t *p, const char *id,
                             const unsigned char *keys, int nkeys)
{
    apr_size_t per = 1 + 2 * PC_FARM_KEY_BYTES;
    apr_size_t head = sizeof(MSG_HEAD) - 1 + PC_FARM_ID_LEN + 2;
    char *m, *w;
    int i;

    if (nkeys < 1 || nkeys > PC_FARM_MSG_MAX_KEYS ||
        strlen(id) != PC_FARM_ID_LEN)
        return NULL;
    m = apr_palloc(p, head + per * (apr_size_t)nkeys + 1);
    w = m;
    memcpy(w, MSG_HEAD, sizeof(MSG_HEAD) - 1), w += sizeof(MSG_HEAD) - 1;
    memcpy(w, id, PC_FARM_ID_LEN), w += PC_FARM_ID_LEN;
    memcpy(w, " K", 2), w += 2;
    for (i = 0; i < nkeys; i++) {
        *w++ = ' ';
        to_hex(w, keys + (apr_size_t)i * PC_FARM_KEY_BYTES, PC_FARM_KEY_BYTES);
        w += 2 * PC_FARM_KEY_BYTES;
    }
    *w = '\0';
    return m;
}

/* " <hex40>" repeated, to the end: the number of keys, or -1. */
static int parse_keys(const unsigned char *d, apr_size_t len,
                      unsigned char *keys)
{
    apr_size_t per = 1 + 2 * PC_FARM_KEY_BYTES, i, k;
    int n;

    if (len == 0 || len % per != 0 || len / per > PC_FARM_MSG_MAX_KEYS)
        return -1;
    n = (int)(len / per);
    for (k = 0; k < (apr_size_t)n; k++) {
        const unsigned char *s = d + k * per;
        if (s[0] != ' ')
            return -1;
        for (i = 0; i < PC_FARM_KEY_BYTES; i++) {
            int hi = hexval(s[1 + 2 * i]), lo = hexval(s[2 + 2 * i]);
            if (hi < 0 || lo < 0)
                return -1;
            keys[k * PC_FARM_KEY_BYTES + i] = (unsigned char)(hi << 4 | lo);
        }
    }
    return n;
}

static int id_ok(const unsigned char *s)
{
    int i;

    for (i = 0; i < PC_FARM_ID_LEN; i++) {
        if (hexval(s[i]) < 0)
            return 0;
    }
    return 1;
}

pc_farm_msg_e pc_farm_msg_parse(const unsigned char *data, apr_size_t len,
                                const char **id, unsigned char **keys,
                                int *nkeys, apr_pool_t *p)
{
    apr_size_t head = sizeof(MSG_HEAD) - 1, kind = head + PC_FARM_ID_LEN + 1;

    *id = NULL;
    *keys = NULL;
    *nkeys = 0;
    if (len < kind + 1 || memcmp(data, MSG_HEAD, head) != 0 ||
        !id_ok(data + head) || data[kind - 1] != ' ')
        return PC_FARM_MSG_OTHER;
    if (len == kind + 1 && data[kind] == 'A') {
        *id = apr_pstrmemdup(p, (const char *)data + head, PC_FARM_ID_LEN);
        return PC_FARM_MSG_ALL;
    }
    if (data[kind] == 'K') {
        unsigned char *k = apr_palloc(
            p, (len / (1 + 2 * PC_FARM_KEY_BYTES) + 1) * PC_FARM_KEY_BYTES);
        int n = parse_keys(data + kind + 1, len - kind - 1, k);
        if (n > 0) {
            *id = apr_pstrmemdup(p, (const char *)data + head, PC_FARM_ID_LEN);
            *keys = k;
            *nkeys = n;
            return PC_FARM_MSG_KEYS;
        }
    }
    return PC_FARM_MSG_OTHER;
}
