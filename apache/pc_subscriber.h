/*
 * pc_subscriber.h - the purge subscriber of a Redis farm: one per server,
 * an httpd watchdog (mod_watchdog, a singleton instance: one child of the
 * server runs it at a time) with its own Redis connection, subscribed to
 * the farm's purge channel (src/pc_farm.h).
 *
 * What it does, in a loop that reads the subscription without a break
 * (it returns to mod_watchdog every few seconds, and at once when the
 * child stops):
 *   - subscribe; then read the purge-all epoch, flush the local tier, join
 *     the farm's presence set (so every purge waits for this server's
 *     confirmation, pc_farm_redis.h), and only then mark the tier alive:
 *     purges published while nobody listened are lost, so nothing cached
 *     before the subscription may be trusted;
 *   - apply each message at once (drop keys; purge-all: re-read the epoch
 *     and flush; anything else: flush) and confirm it;
 *   - mark the tier alive after each wait (a quarter of a second at most)
 *     in which nothing more arrived; renew the presence twice a second;
 *   - on a lost subscription (closed, killed, PING unanswered, Sentinel
 *     switched the master) or a failed renewal: mark the tier down -
 *     requests then read Redis directly - leave the presence set, and
 *     subscribe again (after the client's back-off).
 * When the child that runs it exits, another child takes the singleton
 * over after mod_watchdog's own delay (up to about ten seconds); the
 * tier's alive mark goes stale within PC_FARM_ALIVE_WINDOW meanwhile, so
 * requests read Redis until the new subscriber has flushed.
 */
#ifndef PC_SUBSCRIBER_H
#define PC_SUBSCRIBER_H

#include "httpd.h"

/* post_config (parent): register the watchdog callback.  Without
 * mod_watchdog the local tier stays down (every read goes to Redis),
 * logged. */
void pc_subscriber_post_config(apr_pool_t *pconf, server_rec *s);

/* child_init: the subscriber's own client (used by the child that gets
 * the singleton). */
void pc_subscriber_child_init(apr_pool_t *p, server_rec *s);

#endif
