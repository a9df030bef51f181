/* Unit tests: SipHash-2-4 (src/pc_siphash.c) against the paper's test
 * vectors (key 00 01 .. 0f, messages 00 01 .. of every length). */
#include "pc_siphash.h"
#include "tap.h"

int main(void)
{
    unsigned char key[16], msg[64];
    int i;

    for (i = 0; i < 16; i++)
        key[i] = (unsigned char)i;
    for (i = 0; i < 64; i++)
        msg[i] = (unsigned char)i;
    ok(pc_siphash24(key, msg, 0) == 0x726fdb47dd0e0e31ULL,
       "empty message (vector 0)");
    ok(pc_siphash24(key, msg, 1) == 0x74f839c593dc67fdULL, "1 byte (vector 1)");
    ok(pc_siphash24(key, msg, 7) == 0xab0200f58b01d137ULL, "7 bytes");
    ok(pc_siphash24(key, msg, 8) == 0x93f5f5799a932462ULL, "8 bytes");
    ok(pc_siphash24(key, msg, 15) == 0xa129ca6149be45e5ULL,
       "15 bytes (the paper's worked example)");
    ok(pc_siphash24(key, msg, 63) == 0x958a324ceb064572ULL, "63 bytes");
    key[0] ^= 1;
    ok(pc_siphash24(key, msg, 15) != 0xa129ca6149be45e5ULL,
       "another key, another value");
    return done_testing();
}
