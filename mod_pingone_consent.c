/*
 * mod_pingone_consent - allow a request only while the authenticated user
 * has an active OAuth consent for the application in PingOne.
 *
 * This file is the module's skeleton: hooks, provider registration and the
 * module record.  Configuration lives in apache/pc_config.c, the request
 * path in apache/pc_access.c, and everything that does not need httpd
 * (PingOne client, JSON, decision) in src/.
 */
#include "pc_apache.h"
#include "pc_handlers.h"

#include "http_request.h"
#include "ap_provider.h"

static void pc_register_hooks(apr_pool_t *p)
{
    ap_hook_pre_config(pc_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(pc_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(pc_handlers_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_test_config(pc_test_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pc_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    /* After authentication (check_user_id), before mod_authz_core, so a
     * denial is our 403/302/503 and an allow still passes through the
     * configured Require lines. */
    ap_hook_check_authz(pc_check_authz, NULL, NULL, APR_HOOK_FIRST,
                        AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(pc_fixups, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_handler(pc_handler, NULL, NULL, APR_HOOK_MIDDLE);
    pc_register_status_hook();
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "pingone-consent",
                              AUTHZ_PROVIDER_VERSION, &pc_authz_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}

AP_DECLARE_MODULE(pingone_consent) = {
    STANDARD20_MODULE_STUFF,
    pc_create_dir_conf,
    pc_merge_dir_conf,
    pc_create_srv_conf,
    pc_merge_srv_conf,
    pc_cmds,
    pc_register_hooks,
    AP_MODULE_FLAG_NONE,
};
