/*
 * pc_log.c - the core's messages into httpd's error log (see pc_log.h).
 */
#include "pc_log.h"

#include "http_log.h"

APLOG_USE_MODULE(pingone_consent);

void pc_log_request(void *baton, int level, const char *msg)
{
    /* APLOG_MARK names this file for every message; the PC tag in the
     * message says where it comes from. */
    ap_log_rerror(APLOG_MARK, level, 0, (request_rec *)baton, "%s", msg);
}
