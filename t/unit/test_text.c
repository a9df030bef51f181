/* Unit tests: pc_text (UUIDs, UTF-8, scope tokens, encodings, escaping). */
#include "pc_text.h"
#include "tap.h"

#include <apr_general.h>
#include <apr_strings.h>

#include <stdlib.h>

static apr_pool_t *p;

static void test_uuid(void)
{
    ok(pc_is_uuid("abcdef01-2345-4678-9abc-def012345678"), "lowercase UUID");
    ok(pc_is_uuid("ABCDEF01-2345-4678-9ABC-DEF012345678"), "uppercase UUID");
    ok(!pc_is_uuid(NULL), "NULL is no UUID");
    ok(!pc_is_uuid(""), "empty is no UUID");
    ok(!pc_is_uuid("abcdef01-2345-4678-9abc-def01234567"), "35 chars");
    ok(!pc_is_uuid("abcdef01-2345-4678-9abc-def0123456789"), "37 chars");
    ok(!pc_is_uuid("abcdef0112345-4678-9abc-def012345678"), "dash missing");
    ok(!pc_is_uuid("abcdef01-2345-4678-9abc-def01234567g"), "non-hex");
    ok(!pc_is_uuid("../../../../../../etc/passwd/x/y/z/w"), "path traversal, 36 chars");
    ok(!pc_is_uuid("abcdef01-2345-4678-9abc-def0123456%2F"), "percent");
    ok(!pc_is_uuid("abcdef01-2345-4678-9abc-def01234567\""), "quote");
}

static void test_escaping(void)
{
    char *big = apr_palloc(p, 300);
    memset(big, 'a', 299);
    big[299] = '\0';

    is_str(pc_url_encode(p, "a b/c?d=e&f\"g%"), "a%20b%2Fc%3Fd%3De%26f%22g%25", "url encode reserved");
    is_str(pc_url_encode(p, "AZaz09-._~"), "AZaz09-._~", "unreserved kept");
    is_str(pc_url_encode(p, "\xc3\xa9"), "%C3%A9", "UTF-8 bytes encoded");
    is_str(pc_scim_quote(p, "Web Portal"), "\"Web Portal\"", "plain name quoted");
    is_str(pc_scim_quote(p, "Reports \"Beta\""), "\"Reports \\\"Beta\\\"\"", "quotes escaped");
    is_str(pc_scim_quote(p, "a\\b"), "\"a\\\\b\"", "backslash escaped");
    is_str(pc_scim_quote(p, "x\" or username pr \""), "\"x\\\" or username pr \\\"\"", "filter injection neutralised");
    ok(pc_scim_quote(p, "") == NULL, "empty name refused");
    ok(pc_scim_quote(p, "a\nb") == NULL, "newline refused");
    ok(pc_scim_quote(p, "a\x7f") == NULL, "DEL refused");
    ok(pc_scim_quote(p, big) == NULL, "over 256 bytes refused");
    ok(pc_scim_quote(p, "\xff\xfe") == NULL, "invalid UTF-8 refused");
    ok(pc_scim_quote(p, "\xc0\xaf") == NULL, "overlong UTF-8 refused");
    ok(pc_scim_quote(p, "\xed\xa0\x80") == NULL, "surrogate refused");
    ok(pc_scim_quote(p, "J\xc3\xbcrgen") != NULL, "valid UTF-8 accepted");
    is_str(pc_log_safe(p, "a\"b\n\x01", 100), "a\\x22b\\x0a\\x01", "log_safe escapes");
    is_str(pc_log_safe(p, "abcdef", 3), "abc...", "log_safe truncates");
    is_str(pc_log_safe(p, NULL, 3), "(null)", "log_safe NULL");
    is_str(pc_base64(p, "id:secret", 9), "aWQ6c2VjcmV0", "base64");
}

/* The bytes of s in a buffer of exactly n bytes (no NUL after them), so
 * AddressSanitizer reports any read past n. */
static apr_size_t char_len(const char *s, apr_size_t n)
{
    char *buf = malloc(n);
    apr_size_t k;

    memcpy(buf, s, n);
    k = pc_utf8_char(buf, n);
    free(buf);
    return k;
}

/* The reference: decode by arithmetic, then check the code point. */
static apr_size_t ref_char_len(const unsigned char *s, apr_size_t n)
{
    apr_size_t need, i;
    unsigned long cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xC0 && s[0] <= 0xDF)
        need = 1, cp = s[0] & 0x1F;
    else if (s[0] >= 0xE0 && s[0] <= 0xEF)
        need = 2, cp = s[0] & 0x0F;
    else if (s[0] >= 0xF0 && s[0] <= 0xF7)
        need = 3, cp = s[0] & 0x07;
    else
        return 0;
    if (n <= need)
        return 0;
    for (i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
        (need == 3 && cp < 0x10000) || (cp >= 0xD800 && cp <= 0xDFFF) ||
        cp > 0x10FFFF)
        return 0;
    return need + 1;
}

static void test_utf8(void)
{
    static const struct { const char *s; apr_size_t n, want; const char *why; } cases[] = {
        {"a", 1, 1, "ASCII"},
        {"\0", 1, 1, "NUL is ASCII"},
        {"\x7f", 1, 1, "DEL"},
        {"\xc3\xa9", 2, 2, "U+00E9"},
        {"\xc3\xa9", 1, 0, "U+00E9 cut by n"},
        {"\xc2\x80", 2, 2, "U+0080, first two-byte"},
        {"\xc0\xaf", 2, 0, "overlong '/' (C0)"},
        {"\xc1\xbf", 2, 0, "overlong (C1)"},
        {"\xe0\xa0\x80", 3, 3, "U+0800, first three-byte"},
        {"\xe0\x80\xaf", 3, 0, "overlong three-byte"},
        {"\xe2\x82\xac", 3, 3, "U+20AC euro"},
        {"\xe2\x82\xac", 2, 0, "euro cut by n"},
        {"\xe2\x28\xa1", 3, 0, "bad second byte"},
        {"\xe2\x82\x28", 3, 0, "bad third byte"},
        {"\xed\x9f\xbf", 3, 3, "U+D7FF"},
        {"\xed\xa0\x80", 3, 0, "U+D800 surrogate"},
        {"\xed\xbf\xbf", 3, 0, "U+DFFF surrogate"},
        {"\xee\x80\x80", 3, 3, "U+E000"},
        {"\xef\xbf\xbf", 3, 3, "U+FFFF"},
        {"\xf0\x90\x80\x80", 4, 4, "U+10000, first four-byte"},
        {"\xf0\x8f\xbf\xbf", 4, 0, "overlong four-byte"},
        {"\xf0\x9f\x98\x80", 4, 4, "U+1F600"},
        {"\xf0\x9f\x98\x80", 3, 0, "U+1F600 cut by n"},
        {"\xf4\x8f\xbf\xbf", 4, 4, "U+10FFFF, the last"},
        {"\xf4\x90\x80\x80", 4, 0, "U+110000"},
        {"\xf5\x80\x80\x80", 4, 0, "F5 lead byte"},
        {"\x80", 1, 0, "lone continuation byte"},
        {"\xff", 1, 0, "FF"},
        {"\xfe", 1, 0, "FE"},
    };
    unsigned char buf[4];
    unsigned a, b, bad = 0;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_int(char_len(cases[i].s, cases[i].n), cases[i].want, "utf8 char: %s",
               cases[i].why);
    /* Every lead byte with every second byte (third and fourth fixed to a
     * continuation byte), against the arithmetic reference. */
    for (a = 0; a < 256; a++) {
        for (b = 0; b < 256; b++) {
            buf[0] = (unsigned char)a;
            buf[1] = (unsigned char)b;
            buf[2] = buf[3] = 0x80;
            if (pc_utf8_char((const char *)buf, 4) != ref_char_len(buf, 4))
                bad++;
        }
    }
    is_int(bad, 0, "utf8 char agrees with the reference on 65536 prefixes");

    ok(pc_utf8_valid("", 0), "empty text is valid UTF-8");
    ok(pc_utf8_valid("J\xc3\xbcrgen", 7), "valid UTF-8");
    ok(pc_utf8_valid("a\0b", 3), "NUL counts as ASCII");
    ok(!pc_utf8_valid("J\xc3\xbcrgen", 2), "a character cut by n");
    ok(!pc_utf8_valid("ok\xed\xa0\x80ok", 7), "a surrogate inside");
    ok(!pc_utf8_valid("caf\xe9", 4), "Latin-1");
}

static void test_scope_tokens(void)
{
    char one[2] = {0, 0};
    int c, bad = 0;

    ok(pc_scope_token_ok("openid"), "scope token openid");
    ok(pc_scope_token_ok("p1:read/all"), "scope token with : and /");
    ok(pc_scope_token_ok("!#[]~"), "scope token of edge characters");
    ok(!pc_scope_token_ok(""), "empty scope token refused");
    ok(!pc_scope_token_ok(NULL), "NULL scope token refused");
    ok(!pc_scope_token_ok("a b"), "scope token with space refused");
    ok(!pc_scope_token_ok("a\"b"), "scope token with quote refused");
    ok(!pc_scope_token_ok("a\\b"), "scope token with backslash refused");
    ok(!pc_scope_token_ok("\xc3\xa9"), "non-ASCII scope token refused");
    for (c = 1; c < 256; c++) {
        int want = c == 0x21 || (c >= 0x23 && c <= 0x5B) ||
                   (c >= 0x5D && c <= 0x7E);
        one[0] = (char)c;
        if (pc_scope_token_ok(one) != want)
            bad++;
    }
    is_int(bad, 0, "every single byte as RFC 6749 3.3 says");
}

static void test_secret_equal(void)
{
    ok(pc_secret_equal("Bearer s3cret", "Bearer s3cret"), "equal secrets");
    ok(!pc_secret_equal("Bearer s3cret", "Bearer s3creT"), "last byte differs");
    ok(!pc_secret_equal("Bearer s3cret", "Bearer s3cre"), "shorter");
    ok(!pc_secret_equal("Bearer s3cre", "Bearer s3cret"), "longer");
    ok(!pc_secret_equal("", ""), "the empty secret matches nothing");
    ok(!pc_secret_equal("x", ""), "against the empty secret");
}
int main(void)
{
    apr_initialize();
    apr_pool_create(&p, NULL);
    test_uuid();
    test_escaping();
    test_utf8();
    test_scope_tokens();
    test_secret_equal();
    apr_pool_destroy(p);
    apr_terminate();
    return done_testing();
}
