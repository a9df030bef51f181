#!/usr/bin/env python3
"""The demo does what it prints (make test-demo; TAP).

Runs `make run` on free loopback ports, takes every command it printed
(lines indented by four spaces, continued with a trailing backslash), runs
them in order in one shell, as a reader pasting them would, and checks that
each one does what the text says: an expected status ("# 200", "# 403") is
the status printed, and the other commands are checked by what they are
(a revoke at the simulator, a webhook delivery, an admin purge, the
metrics...).  A printed command this test does not know fails it, so the
walk-through cannot grow a command nobody checks.  Then `make stop` (also
one of the printed commands) must leave nothing listening.
"""

import json
import os
import re
import socket
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
n = 0
failed = 0


def ok(cond, name, diag=None):
    global n, failed
    n += 1
    print("%s %d - %s" % ("ok" if cond else "not ok", n, name))
    if not cond:
        failed += 1
        for line in (diag or "").splitlines()[:30]:
            print("#   " + line)
    return cond


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def printed_commands(text):
    """[(command, comment)] from the lines indented by four spaces."""
    cmds, cur = [], None
    for line in text.splitlines():
        if cur is not None:
            cur += "\n" + line
            if not line.rstrip().endswith("\\"):
                cmds.append(cur)
                cur = None
            continue
        if re.match(r"^    \S", line):
            if line.rstrip().endswith("\\"):
                cur = line
            else:
                cmds.append(line)
    out = []
    for c in cmds:
        m = re.match(r"^(.*?)\s+#\s(.*)$", c, re.S)
        cmd, comment = (m.group(1), m.group(2)) if m else (c, "")
        out.append((cmd.strip(), comment.strip()))
    return out


def run_all(cmds, env):
    """Run the commands in one bash, in order; {i: (rc, output)}.  Their
    standard output only: what curl says on stderr (a progress meter when
    the output is not a terminal) is not what the reader sees."""
    script = ["set +e"]
    for i, (cmd, _) in enumerate(cmds):
        script += ["echo @@BEGIN %d" % i, "{ %s\n} 2>/dev/null" % cmd,
                   "rc=$?; printf '\\n@@END %d %%d\\n' $rc" % i]
    p = subprocess.run(["bash", "-c", "\n".join(script)], cwd=TOP, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=300, text=True)
    res, cur, buf = {}, None, []
    for line in p.stdout.splitlines():
        m = re.match(r"^@@(BEGIN|END) (\d+)(?: (\d+))?$", line)
        if m and m.group(1) == "BEGIN":
            cur, buf = int(m.group(2)), []
        elif m:
            res[int(m.group(2))] = (int(m.group(3)), "\n".join(buf).rstrip("\n"))
            cur = None
        elif cur is not None:
            buf.append(line)
    return res


def answer_of(output):
    """(status, source): from a `curl -i` answer, or from what the
    shorthand printed ("200 cache", "403 ")."""
    lines = [l for l in output.splitlines() if l.strip()]
    if lines and lines[0].startswith("HTTP/"):
        m = re.search(r"^X-PingOne-Consent-Source: (\S+)", output, re.M)
        return lines[0].split()[1], m.group(1) if m else None
    words = lines[-1].split() if lines else []
    return (words[0] if words else ""), (words[1] if len(words) > 1 else None)


def as_json(output):
    try:
        return json.loads(output)
    except ValueError:
        return None


def metric(output, name, **labels):
    """The value of the sample with these labels (among others), or None."""
    for line in output.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all('%s="%s"' % (k, v) in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def check(cmd, comment, rc, out, port):
    """One printed command: does it do what the text says?"""
    short = cmd.split("\n")[0][:90]
    st = re.match(r"^(\d{3})(?: (cache|pingone|stale|fail-open))?(?::|$)", comment)
    if st:
        status, source = answer_of(out)
        ok(status == st.group(1) and (st.group(2) is None or source == st.group(2)),
           "%s -> %s" % (short, comment), out)
        if "-i " in cmd and st.group(1) == "200":
            ok(re.search(r"^X-PingOne-Consent-Scopes: openid profile email\r?$", out, re.M),
               "the allowed answer carries the consented scopes", out)
        elif "-i " in cmd:
            ok("(null)" not in out and "X-PingOne-Consent-Scopes" not in out,
               "a denied answer carries no scopes header (no '(null)')", out)
        return
    j = as_json(out)
    if cmd.startswith("app()"):
        ok(rc == 0 and out == "", "the shorthand is defined", out)
    elif cmd.endswith("/__control/revoke"):
        ok(j is not None and j.get("revoked", 0) >= 1, "revoked at the simulator", out)
    elif cmd.endswith("/__control/consents"):
        ok(j is not None and j.get("status") == "ACCEPTED", "a consent given at the simulator", out)
    elif cmd.endswith("/__control/webhook"):
        body = as_json(j.get("body", "")) if j else None
        ok(j is not None and j.get("status") == 200 and body and body.get("users_dropped") == 1,
           "the webhook delivery was accepted and dropped the user's decisions", out)
    elif "action=purge-user" in cmd:
        ok(j is not None and j.get("purged") == "user" and j.get("entries_removed", 0) >= 1,
           "the admin purge dropped the user's decisions", out)
    elif "/pingone/metrics" in cmd:
        def dec(outcome, source):
            return metric(out, "pingone_consent_decisions_total", outcome=outcome, source=source)
        # allows from PingOne: alice at start-up, frank twice, Alice.Smith;
        # from the cache: frank's and Alice.Smith's cached allows; revoked
        # denials from PingOne: bob at start-up, frank, Alice.Smith; from
        # the cache: frank's cached deny
        got = [dec("allow", "cache"), dec("allow", "pingone"), dec("deny:revoked", "pingone"),
               dec("deny:revoked", "cache"),
               metric(out, "pingone_consent_webhook_deliveries_total", result="accepted")]
        ok(None not in got and got[0] >= 2 and got[1] >= 4 and got[2] >= 3 and got[3] >= 1
           and got[4] == 1,
           "the metrics show the allows by source, the denials and the webhook delivery %s" % got,
           out)
    elif cmd.endswith("/__control/counts"):
        ok(j is not None and j.get("total", 0) > 0, "the simulator's call counts", out)
    elif cmd.endswith("/pingone/admin"):
        ok(j is not None and "counters" in j and "cache" in j, "the admin status", out)
    elif cmd.startswith("tail ") and cmd.endswith("access_log"):
        ok("consent=deny:revoked" in out and "consent=allow" in out,
           "the access log shows the decisions", out)
    elif cmd.startswith("tail ") and cmd.endswith("error_log"):
        ok(re.search(r"PC00\d{3}", out) is not None, "the error log shows tagged messages", out)
    elif cmd == "make stop":
        ok(rc == 0 and "stopped" in out and not listening(port),
           "make stop stops httpd", out)
    else:
        ok(False, "a printed command this test knows: %s" % short, out)


def main():
    port, sim = free_port(), free_port()
    # A TTL with room for a loaded machine between two printed commands.
    env = dict(os.environ, PC_RUN_PORT=str(port), PC_SIM_PORT=str(sim), PC_RUN_TTL="5")
    try:
        p = subprocess.run(["make", "--no-print-directory", "run"], cwd=TOP, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=600, text=True)
        if not ok(p.returncode == 0, "make run starts httpd and the simulator", p.stdout):
            return
        cmds = printed_commands(p.stdout)
        ok(len(cmds) >= 20, "make run printed the walk-through (%d commands)" % len(cmds),
           p.stdout)
        ok(cmds and cmds[-1][0] == "make stop", "it ends with make stop")
        ok(sum(1 for _, c in cmds if c.startswith("403")) >= 4 and
           sum(1 for _, c in cmds if c.startswith("200")) >= 5 and
           sum(1 for _, c in cmds if c.startswith("200 cache")) >= 2,
           "with allows, denials and cached answers to check")
        res = run_all(cmds, env)
        for i, (cmd, comment) in enumerate(cmds):
            rc, out = res.get(i, (-1, "(did not run)"))
            check(cmd, comment, rc, out, port)
    finally:
        subprocess.run(["bash", "tools/run.sh", "stop"], cwd=TOP, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ok(not listening(port) and not listening(sim), "nothing left listening")
        print("1..%d" % n)
    return 0


if __name__ == "__main__":
    main()
    sys.exit(1 if failed else 0)
