/*
 * pc_child.h - per-child runtime state: the PingOne client of each server
 * (virtual host), built in child_init from the resolved configuration.
 * Hosts with the same worker application share one token store; hosts
 * with the same TLS settings share one libcurl transport (and so its
 * connections to PingOne).
 */
#ifndef PC_CHILD_H
#define PC_CHILD_H

#include "httpd.h"

#include "pc_client.h"

void pc_child_clients_init(apr_pool_t *p, server_rec *s);

/* This server's client, or NULL when it lacks PingOne settings. */
const pc_client_t *pc_child_client(const server_rec *s);

#endif
