/*
 * pc_siphash.h - SipHash-2-4 (Aumasson and Bernstein, 2012): a fast keyed
 * hash (pure core).  The local decision table keys entries with it under
 * a secret made at start-up, where a cryptographic hash (SHA-1, for keys
 * that must agree across a farm) would cost several times more on every
 * request.
 */
#ifndef PC_SIPHASH_H
#define PC_SIPHASH_H

#include <apr.h>

/* SipHash-2-4 of len bytes under a 16-byte key (64-bit result). */
apr_uint64_t pc_siphash24(const unsigned char key[16], const void *data,
                          apr_size_t len);

#endif
