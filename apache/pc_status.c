/*
 * pc_status.c - the module's counters in mod_status (`server-status`, with
 * ExtendedStatus On; `?auto` gives `PingOneConsent<name>: N` lines).
 */
#include "pc_apache.h"
#include "pc_dcache.h"
#include "pc_segment.h"

#include "http_protocol.h"
#include "mod_status.h"

/* mod_status: the counters, with ExtendedStatus On. */
static int status_hook(request_rec *r, int flags)
{
    pc_counters_t c;
    int i;
    const char *const *names = pc_counter_names;

    if (pc_dcache_ready()) {
        pc_counters_read(&c);
        if (flags & AP_STATUS_SHORT) {
            for (i = 0; i < PC_CNT_MAX; i++)
                ap_rprintf(r, "PingOneConsent%s: %" APR_UINT64_T_FMT "\n",
                           names[i], c.v[i]);
        }
        else {
            ap_rputs("<hr>\n<h2>mod_pingone_consent</h2>\n<table>\n", r);
            for (i = 0; i < PC_CNT_MAX; i++)
                ap_rprintf(r, "<tr><td>%s</td><td>%" APR_UINT64_T_FMT
                              "</td></tr>\n", names[i], c.v[i]);
            ap_rputs("</table>\n", r);
        }
    }
    return OK;
}

void pc_register_status_hook(void)
{
    APR_OPTIONAL_HOOK(ap, status_hook, status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
