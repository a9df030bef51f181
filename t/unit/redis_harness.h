/*
 * redis_harness.h - real Redis servers and sentinels for the pc_redis unit
 * tests, on free loopback ports, in a private directory under /tmp.
 *
 * Every process started here dies with the test: it gets
 * PR_SET_PDEATHSIG(SIGKILL), so a crash or an abort of the test (ASan)
 * takes it along; a normal exit kills them and removes the directory
 * (h_cleanup, registered with atexit).  alarm() bounds the whole test.
 */
#ifndef PC_REDIS_HARNESS_H
#define PC_REDIS_HARNESS_H

#include <hiredis.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define H_MAX_PROCS 16
#define H_FN static __attribute__((unused))

static pid_t h_pids[H_MAX_PROCS];
static int h_nprocs;
static char h_dir[64];

H_FN void h_cleanup(void)
{
    int i;
    char cmd[128];
    for (i = 0; i < h_nprocs; i++) {
        if (h_pids[i] > 0) {
            kill(h_pids[i], SIGCONT);
            kill(h_pids[i], SIGKILL);
            waitpid(h_pids[i], NULL, 0);
            h_pids[i] = 0;
        }
    }
    if (h_dir[0] && getenv("PC_TEST_KEEP") == NULL) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", h_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "# could not remove %s\n", h_dir);
    }
}

H_FN long long h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

H_FN void h_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Set up: the directory, cleanup at exit, a bound on the whole run.
 * Returns 0, or -1 when redis-server is missing (the caller skips). */
H_FN int h_init(int max_seconds)
{
    if (access("/usr/bin/redis-server", X_OK) != 0)
        return -1;
    snprintf(h_dir, sizeof(h_dir), "/tmp/pc-redis-test-XXXXXX");
    if (mkdtemp(h_dir) == NULL) {
        h_dir[0] = '\0';
        return -1;
    }
    signal(SIGPIPE, SIG_IGN); /* as httpd does; see pc_redis.h */
    atexit(h_cleanup);
    alarm((unsigned)max_seconds);
    return 0;
}

/* A loopback port nobody listens on right now. */
H_FN int h_free_port(void)
{
    struct sockaddr_in a;
    socklen_t n = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &n) != 0) {
        perror("free port");
        exit(2);
    }
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Start a program; its output goes to <dir>/<log>.  Returns its index. */
H_FN int h_spawn(const char *log, char *const argv[])
{
    char path[128];
    pid_t pid;

    if (h_nprocs >= H_MAX_PROCS) {
        fprintf(stderr, "too many processes\n");
        exit(2);
    }
    snprintf(path, sizeof(path), "%s/%s.log", h_dir, log);
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(2);
    }
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    h_pids[h_nprocs] = pid;
    return h_nprocs++;
}

H_FN void h_signal(int idx, int sig)
{
    if (h_pids[idx] > 0)
        kill(h_pids[idx], sig);
}

H_FN void h_kill(int idx)
{
    if (h_pids[idx] > 0) {
        kill(h_pids[idx], SIGCONT);
        kill(h_pids[idx], SIGKILL);
        waitpid(h_pids[idx], NULL, 0);
        h_pids[idx] = 0;
    }
}

/* An admin connection (default user), or NULL. */
H_FN redisContext *h_admin(int port, const char *password)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    redisReply *r;

    if (c == NULL || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (password != NULL) {
        r = redisCommand(c, "AUTH %s", password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            if (r)
                freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

/* One admin command; the reply (free it) or NULL. */
H_FN redisReply *h_cmd(int port, const char *password, const char *fmt, ...)
{
    redisContext *c = h_admin(port, password);
    redisReply *r;
    va_list ap;

    if (c == NULL)
        return NULL;
    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return r;
}

/* 1 when the reply's text (status, string or error) contains `want`. */
H_FN int h_reply_has(redisReply *r, const char *want)
{
    int has = r != NULL && r->str != NULL && strstr(r->str, want) != NULL;
    if (r)
        freeReplyObject(r);
    return has;
}

/* An admin command's integer reply, or -1. */
H_FN long long h_int(int port, const char *password, const char *cmd)
{
    redisReply *r = h_cmd(port, password, cmd);
    long long v = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r)
        freeReplyObject(r);
    return v;
}

/* Wait until `cond` holds, at most ms; 1 when it did. */
#define H_WAIT(ms, cond)                                                     \
    ({                                                                       \
        long long h_end_ = h_now_ms() + (ms);                                \
        int h_ok_ = 0;                                                       \
        for (;;) {                                                           \
            if (cond) {                                                      \
                h_ok_ = 1;                                                   \
                break;                                                       \
            }                                                                \
            if (h_now_ms() > h_end_)                                         \
                break;                                                       \
            h_sleep_ms(50);                                                  \
        }                                                                    \
        h_ok_;                                                               \
    })

/* A Redis server on `port` with requirepass `pw` (and masterauth `pw`, to
 * follow a failover), the ACL lines given (NULL-terminated, each one
 * "--user" value), replica of `master_port` when > 0.  Waits until it
 * answers; returns its index or -1. */
H_FN int h_redis(int port, const char *pw, int master_port,
                   const char *const *users)
{
    char ports[16], mp[16], name[32];
    char *argv[72], *copies[8];
    int ncopies = 0;
    int n = 0, idx, i;

    snprintf(ports, sizeof(ports), "%d", port);
    snprintf(name, sizeof(name), "redis-%d", port);
    argv[n++] = "/usr/bin/redis-server";
    argv[n++] = "--port", argv[n++] = ports;
    argv[n++] = "--bind", argv[n++] = "127.0.0.1";
    argv[n++] = "--save", argv[n++] = "";
    argv[n++] = "--appendonly", argv[n++] = "no";
    argv[n++] = "--dir", argv[n++] = h_dir;
    argv[n++] = "--dbfilename", argv[n++] = name;
    argv[n++] = "--requirepass", argv[n++] = (char *)pw;
    argv[n++] = "--masterauth", argv[n++] = (char *)pw;
    argv[n++] = "--daemonize", argv[n++] = "no";
    argv[n++] = "--logfile", argv[n++] = "";
    for (i = 0; users && users[i] && i < 8; i++) {
        /* "--user" then the ACL rule's words, each its own argument. */
        char *copy = strdup(users[i]), *w, *st = NULL;
        copies[ncopies++] = copy;
        argv[n++] = "--user";
        for (w = strtok_r(copy, " ", &st); w && n < 60; w = strtok_r(NULL, " ", &st))
            argv[n++] = w;
    }
    if (master_port > 0) {
        snprintf(mp, sizeof(mp), "%d", master_port);
        argv[n++] = "--replicaof", argv[n++] = "127.0.0.1", argv[n++] = mp;
    }
    argv[n] = NULL;
    idx = h_spawn(name, argv);
    while (ncopies > 0)
        free(copies[--ncopies]);
    if (!H_WAIT(10000, h_reply_has(h_cmd(port, pw, "PING"), "PONG") ||
                           waitpid(h_pids[idx], NULL, WNOHANG) != 0) ||
        !h_reply_has(h_cmd(port, pw, "PING"), "PONG"))
        return -1;
    return idx;
}

/* A replica's link to its master is up. */
H_FN int h_link_up(int port, const char *pw)
{
    return h_reply_has(h_cmd(port, pw, "INFO replication"),
                       "master_link_status:up");
}

/* A sentinel on `port` watching master `name` at master_port (quorum 2,
 * down after 1 s), with its own requirepass `spw` (also used between the
 * sentinels).  Waits until it answers; returns its index or -1. */
H_FN int h_sentinel(int port, const char *name, int master_port,
                    const char *pw, const char *spw)
{
    char conf[128], log[32];
    char *argv[3];
    FILE *f;
    int idx;

    snprintf(conf, sizeof(conf), "%s/sentinel-%d.conf", h_dir, port);
    snprintf(log, sizeof(log), "sentinel-%d", port);
    if ((f = fopen(conf, "w")) == NULL)
        return -1;
    fprintf(f,
            "port %d\nbind 127.0.0.1\ndaemonize no\nlogfile \"\"\ndir %s\n"
            "requirepass %s\nsentinel sentinel-pass %s\n"
            "sentinel monitor %s 127.0.0.1 %d 2\n"
            "sentinel auth-pass %s %s\n"
            "sentinel down-after-milliseconds %s 1000\n"
            "sentinel failover-timeout %s 10000\n",
            port, h_dir, spw, spw, name, master_port, name, pw, name, name);
    fclose(f);
    argv[0] = "/usr/bin/redis-sentinel";
    argv[1] = conf;
    argv[2] = NULL;
    idx = h_spawn(log, argv);
    if (!H_WAIT(10000, h_reply_has(h_cmd(port, spw, "PING"), "PONG")))
        return -1;
    return idx;
}

#endif
