/*
 * pc_siphash.c - SipHash-2-4, written from the paper's description: a
 * state of four 64-bit words initialised from the key, two rounds of
 * SipRound per 8-byte little-endian message word, the length in the last
 * word's top byte, then 0xff into v2 and four final rounds.
 */
#include "pc_siphash.h"

#define ROTL(x, b) (apr_uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static apr_uint64_t le64(const unsigned char *p)
{
    return (apr_uint64_t)p[0] | (apr_uint64_t)p[1] << 8 |
           (apr_uint64_t)p[2] << 16 | (apr_uint64_t)p[3] << 24 |
           (apr_uint64_t)p[4] << 32 | (apr_uint64_t)p[5] << 40 |
           (apr_uint64_t)p[6] << 48 | (apr_uint64_t)p[7] << 56;
}

#define SIPROUND(v0, v1, v2, v3)                                              \
    do {                                                                      \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);             \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                                \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                                \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);             \
    } while (0)

apr_uint64_t pc_siphash24(const unsigned char key[16], const void *data,
                          apr_size_t len)
{
    const unsigned char *m = data;
    apr_uint64_t k0 = le64(key), k1 = le64(key + 8);
    apr_uint64_t v0 = k0 ^ 0x736f6d6570736575ULL;
    apr_uint64_t v1 = k1 ^ 0x646f72616e646f6dULL;
    apr_uint64_t v2 = k0 ^ 0x6c7967656e657261ULL;
    apr_uint64_t v3 = k1 ^ 0x7465646279746573ULL;
    apr_uint64_t b = (apr_uint64_t)len << 56, w;
    apr_size_t i, tail = len & 7;

    for (i = 0; i + 8 <= len; i += 8) {
        w = le64(m + i);
        v3 ^= w;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= w;
    }
    for (w = 0; tail > 0; tail--)
        w |= (apr_uint64_t)m[i + tail - 1] << (8 * (tail - 1));
    b |= w;
    v3 ^= b;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}
