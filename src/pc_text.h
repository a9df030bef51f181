/*
 * pc_text.h - checks and encodings of text (pure core, no httpd).
 *
 * Anything that ends up in an upstream URL or SCIM filter passes through
 * here first: IDs must be UUIDs, names are SCIM-quoted and then URL-encoded.
 * The one UTF-8 validator and the one OAuth scope-token check of the module
 * live here too.
 */
#ifndef PC_TEXT_H
#define PC_TEXT_H

#include <apr_pools.h>

/* Longest user name / application name we accept from a request or config. */
#define PC_MAX_NAME_LEN 256

/* A decimal integer in min..max (digits only, no sign or suffix): 0 and
 * *out set, or -1. */
int pc_decimal(const char *s, long min, long max, int *out);

/* 8-4-4-4-12 hexadecimal (either case). */
int pc_is_uuid(const char *s);

/* A UUID in lowercase (PingOne's IDs are): the one spelling that keys the
 * cache, so a purge by ID reaches every entry of the user.  Other strings
 * are returned as they are. */
const char *pc_uuid_lower(apr_pool_t *p, const char *s);

/* Length (1..4) of the well-formed UTF-8 character at s, of which n >= 1
 * bytes may be read, or 0 when it is not one (RFC 3629: no overlong forms,
 * no UTF-16 surrogates, nothing above U+10FFFF, no sequence cut by n).  An
 * ASCII byte, NUL included, is a character of length 1. */
apr_size_t pc_utf8_char(const char *s, apr_size_t n);

/* 1 when the n bytes at s are well-formed UTF-8 (see pc_utf8_char). */
int pc_utf8_valid(const char *s, apr_size_t n);

/* 1 when s is a non-empty OAuth scope token (RFC 6749 3.3:
 * 1*( %x21 / %x23-5B / %x5D-7E )).  No length limit here. */
int pc_scope_token_ok(const char *s);

/* Percent-encode everything except RFC 3986 unreserved characters. */
const char *pc_url_encode(apr_pool_t *p, const char *s);

/* Form-encode for application/x-www-form-urlencoded (space as %20). */
const char *pc_form_encode(apr_pool_t *p, const char *s);

/* A SCIM string literal: the value in double quotes with \ and " escaped.
 * Returns NULL when the value is empty, longer than PC_MAX_NAME_LEN, holds a
 * control character (< 0x20 or 0x7f) or is not valid UTF-8. */
const char *pc_scim_quote(apr_pool_t *p, const char *s);

/* A value for a response header or a log line: control characters, quotes,
 * backslashes and non-ASCII bytes as \xHH, cut to `max` bytes with "..."
 * appended.  NULL reads "(null)".  Not JSON: see pc_json_quote for that. */
const char *pc_log_safe(apr_pool_t *p, const char *s, apr_size_t max);

/* Standard base64 of `len` bytes. */
const char *pc_base64(apr_pool_t *p, const char *s, apr_size_t len);

/* 1 when a and b are equal, in time that depends only on their lengths
 * (for shared secrets such as a webhook's Authorization header). */
int pc_secret_equal(const char *a, const char *b);

#endif
