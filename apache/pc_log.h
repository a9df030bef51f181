/*
 * pc_log.h - the one bridge from the core's log callback (pc_log_fn in
 * pc_client.h: syslog levels, messages that start with their PC tag) to
 * httpd's error log.
 */
#ifndef PC_LOG_H
#define PC_LOG_H

#include "httpd.h"

/* pc_log_fn for a request: baton is the request_rec. */
void pc_log_request(void *baton, int level, const char *msg);

#endif
