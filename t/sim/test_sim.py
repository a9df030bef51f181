#!/usr/bin/env python3
"""Self-test of t/sim/pingone-sim: the PingOne endpoints (as in
/work/shared/pingone-api.md), the control API, every fault type, and the
process itself (port file, pid file, signals, a log without secrets).

    python3 t/sim/test_sim.py
"""
import base64
import email.utils
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SIM = os.path.join(HERE, "pingone-sim")
SEED = os.path.join(HERE, "seed.json")

ENV = "abcdef01-2345-4678-9abc-def012345678"
CID, SECRET = "c0ffee00-1111-4222-8333-444455556666", "s3cr3t-worker-secret"
POST_CID, POST_SECRET = "c0ffee00-aaaa-4bbb-8ccc-ddddeeeeffff", "post-only-secret"
APP1, APP2 = "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"
U = {
    "alice": "e0000000-0000-4000-8000-00000000a11c",
    "bob": "e0000000-0000-4000-8000-0000000000b0",
    "carol": "e0000000-0000-4000-8000-0000000000ca",
    "dave": "e0000000-0000-4000-8000-0000000000da",
    "erin": "e0000000-0000-4000-8000-0000000000e0",
    "frank": "e0000000-0000-4000-8000-0000000000f0",
    "grace": "e0000000-0000-4000-8000-000000000009",
    "smith": "e0000000-0000-4000-8000-0000000000a2",
}
GHOST = "e0000000-0000-4000-8000-00000000dead"
OTHER_ENV = "00000000-0000-4000-8000-000000000000"
POPULATION = "b0000000-0000-4000-8000-000000000001"
BULK_NS = uuid.UUID("6f1d0c2a-5b7e-4c39-9a41-0d3e8b2f7c15")     # docs/simulator.md
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
CT_REVOKE = {"Content-Type": "application/vnd.pingidentity.consent.revoke+json"}
CT_ACCEPT = {"Content-Type": "application/vnd.pingidentity.consent.accept+json"}
CT_JOB = {"Content-Type": "application/vnd.pingidentity.job.oathtokens.revoke+json"}
MSG_NO_ACCESS = "The request could not be completed. You do not have access to this resource."


def slurp(path):
    with open(path) as fh:
        return fh.read()


def basic(cid, secret):
    return {"Authorization": "Basic " + base64.b64encode(("%s:%s" % (cid, secret)).encode()).decode()}


class Reply:
    """Status, headers and body of one answer; .json decodes the body."""

    def __init__(self, resp, raw):
        self.status = resp.status
        self.headers = resp
        self.raw = raw

    @property
    def json(self):
        return json.loads(self.raw)

    def header(self, name):
        return self.headers.getheader(name)


class Sim:
    """One simulator process on a free loopback port."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="pingone-sim-test.")
        self.port_file = os.path.join(self.dir, "port")
        self.pid_file = os.path.join(self.dir, "pid")
        self.log = os.path.join(self.dir, "log")
        self.stderr = os.path.join(self.dir, "stderr")
        with open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, SIM, "--port", "0", "--port-file", self.port_file,
                 "--pid-file", self.pid_file, "--seed", SEED, "--log", self.log] + list(extra),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.time() + 10
        while time.time() < deadline:
            if os.path.exists(self.port_file):
                self.port = int(slurp(self.port_file))
                return
            if self.proc.poll() is not None:
                raise RuntimeError("simulator exited: %s" % slurp(self.stderr))
            time.sleep(0.02)
        self.proc.kill()
        raise RuntimeError("simulator did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def cleanup(self):
        """Stop, remove the temporary directory; returns what it wrote to stderr."""
        self.stop()
        err = slurp(self.stderr)
        shutil.rmtree(self.dir, ignore_errors=True)
        return err

    def call(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        conn = conn or http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            body = body.encode()
        try:
            conn.request(method, path, body, h)
            resp = conn.getresponse()
            return Reply(resp, resp.read())
        finally:
            if own:
                conn.close()

    def control(self, method, what, body=None):
        r = self.call(method, "/__control/" + what, body)
        return r.status, (r.json if r.raw else None)

    def token(self, cid=CID, secret=SECRET, post=False):
        if post:
            r = self.call("POST", "/%s/as/token" % ENV,
                          urllib.parse.urlencode({"grant_type": "client_credentials",
                                                  "client_id": cid, "client_secret": secret}), FORM)
        else:
            r = self.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                          dict(FORM, **basic(cid, secret)))
        assert r.status == 200, (r.status, r.raw)
        return r.json["access_token"]

    def api(self, method, path, token, body=None, headers=None, env=ENV, conn=None):
        h = {"Authorization": "Bearer " + token}
        h.update(headers or {})
        return self.call(method, "/v1/environments/%s%s" % (env, path), body, h, conn)


def consents_path(user, flt=None, expand=True):
    q = []
    if expand:
        q.append("expand=applications")
    if flt is not None:
        q.append("filter=" + urllib.parse.quote(flt, safe=""))
    return "/users/%s/oauthConsents%s" % (user, "?" + "&".join(q) if q else "")


MAIN = None


def setUpModule():
    global MAIN
    MAIN = Sim()


def tearDownModule():
    err = MAIN.cleanup()
    if err:
        raise AssertionError("the simulator wrote to stderr:\n" + err)


class SimCase(unittest.TestCase):
    def setUp(self):
        self.sim = MAIN
        self.assertEqual(self.sim.control("POST", "reset")[0], 200)
        self.tok = self.sim.token()

    def consents(self, user, flt=None, expand=True, token=None):
        return self.sim.api("GET", consents_path(user, flt, expand), token or self.tok)

    def assertPingOneError(self, r, status, code, detail=None):
        self.assertEqual(r.status, status, r.raw)
        self.assertEqual(r.header("Content-Type"), "application/json")
        body = r.json
        self.assertEqual(body["code"], code)
        self.assertRegex(body["id"], r"^[0-9a-f-]{36}$")
        self.assertIsInstance(body["message"], str)
        if detail:
            self.assertEqual(body["details"][0]["code"], detail)
        return body


# ------------------------------------------------------------------ tokens

class TokenEndpoint(SimCase):
    def test_basic(self):
        r = self.sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                          dict(FORM, **basic(CID, SECRET)))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.header("Content-Type"), "application/json")
        self.assertEqual(r.header("Cache-Control"), "no-store")
        body = r.json
        self.assertEqual((body["token_type"], body["expires_in"]), ("Bearer", 3600))
        self.assertGreaterEqual(len(body["access_token"]), 40)
        self.assertEqual(self.sim.api("GET", "/users/" + U["alice"], body["access_token"]).status, 200)

    def test_basic_url_encoded_components(self):
        enc = urllib.parse.quote(SECRET.replace("-", "%2D"), safe="%")
        self.assertIn("%2D", enc)
        r = self.sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                          dict(FORM, **basic(urllib.parse.quote(CID), enc)))
        self.assertEqual(r.status, 200, r.raw)

    def test_post(self):
        for cid, secret in ((POST_CID, POST_SECRET), (CID, SECRET)):
            self.assertTrue(self.sim.token(cid, secret, post=True))

    def test_refusals(self):
        r = self.sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                          dict(FORM, **basic(CID, "wrong")))
        self.assertEqual((r.status, r.json["error"]), (401, "invalid_client"))
        self.assertTrue(r.header("WWW-Authenticate"))
        r = self.sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                          dict(FORM, **basic(POST_CID, POST_SECRET)))
        self.assertEqual((r.status, r.json["error"]), (401, "invalid_client"),
                         "a post-only client may not use Basic")
        r = self.sim.call("POST", "/%s/as/token" % ENV,
                          "grant_type=client_credentials&client_id=%s&client_secret=x" % POST_CID, FORM)
        self.assertEqual((r.status, r.json["error"]), (401, "invalid_client"))
        r = self.sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials", FORM)
        self.assertEqual((r.status, r.json["error"]), (401, "invalid_client"), "no client auth")
        r = self.sim.call("POST", "/%s/as/token" % ENV, "grant_type=password",
                          dict(FORM, **basic(CID, SECRET)))
        self.assertEqual((r.status, r.json["error"]), (400, "unsupported_grant_type"))
        self.assertIn("error_description", r.json)
        r = self.sim.call("POST", "/%s/as/token" % ENV, "", dict(FORM, **basic(CID, SECRET)))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_request"), "no grant_type")
        r = self.sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                          dict({"Content-Type": "application/json"}, **basic(CID, SECRET)))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_request"), "not a form")
        r = self.sim.call("POST", "/%s/as/token" % ENV,
                          "grant_type=client_credentials&client_secret=" + SECRET,
                          dict(FORM, **basic(CID, SECRET)))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_request"), "two auth methods")
        r = self.sim.call("POST", "/%s/as/token" % OTHER_ENV, "grant_type=client_credentials",
                          dict(FORM, **basic(CID, SECRET)))
        self.assertPingOneError(r, 404, "NOT_FOUND")

    def test_expire_tokens_and_token_summary(self):
        self.sim.token(POST_CID, POST_SECRET, post=True)
        status, t = self.sim.control("GET", "tokens")
        self.assertEqual((status, t), (200, {"issued": 2, "valid": 2}))
        self.assertEqual(self.sim.control("POST", "expire-tokens")[0], 200)
        self.assertEqual(self.sim.control("GET", "tokens")[1], {"issued": 2, "valid": 0})
        r = self.consents(U["alice"])
        self.assertPingOneError(r, 401, "ACCESS_FAILED", "INVALID_TOKEN")


class ApiAuth(SimCase):
    def test_missing_bad_and_wrong_scheme(self):
        path = "/v1/environments/%s/users/%s/oauthConsents" % (ENV, U["alice"])
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer "},
                        basic(CID, SECRET), {"Authorization": self.tok}):
            r = self.sim.call("GET", path, headers=headers)
            body = self.assertPingOneError(r, 401, "ACCESS_FAILED", "INVALID_TOKEN")
            self.assertEqual(body["message"], MSG_NO_ACCESS)
            self.assertEqual(body["details"][0]["message"], "The access token is invalid or expired.")
        r = self.sim.call("GET", path, headers={"Authorization": "bearer " + self.tok})
        self.assertEqual(r.status, 200, "the scheme is case-insensitive")

    def test_unknown_environment(self):
        r = self.sim.api("GET", "/users/" + U["alice"], self.tok, env=OTHER_ENV)
        self.assertPingOneError(r, 404, "NOT_FOUND")


# ------------------------------------------------------------------- users

class Users(SimCase):
    def users(self, flt, extra=""):
        return self.sim.api("GET", "/users?filter=%s%s" % (urllib.parse.quote(flt, safe=""), extra),
                            self.tok)

    def test_filter(self):
        r = self.users('username eq "alice"', "&limit=2")
        self.assertEqual(r.status, 200)
        body = r.json
        self.assertEqual((body["count"], body["size"]), (1, 1))
        user = body["_embedded"]["users"][0]
        self.assertEqual((user["id"], user["username"], user["enabled"]), (U["alice"], "alice", True))
        self.assertIn("href", user["_links"]["self"])
        self.assertIn("href", body["_links"]["self"])
        for flt in ('USERNAME EQ "ALICE"', 'userName Eq "Alice"', '  username   eq "alice"  '):
            self.assertEqual([u["id"] for u in self.users(flt).json["_embedded"]["users"]],
                             [U["alice"]], flt)
        got = self.users('username eq "alice.smith@example.com"').json["_embedded"]["users"]
        self.assertEqual([(u["id"], u["username"]) for u in got], [(U["smith"], "Alice.Smith@Example.com")])

    def test_escaped_quotes(self):
        for flt in (r'username eq "x\" or \"1"', r'username eq "bad\"name"', r'username eq "back\\slash"'):
            r = self.users(flt)
            self.assertEqual((r.status, r.json["_embedded"]["users"], r.json["count"]), (200, [], 0), flt)
        self.sim.control("POST", "users", {"id": GHOST, "username": 'we"ird\\name'})
        got = self.users(r'username eq "WE\"IRD\\NAME"').json["_embedded"]["users"]
        self.assertEqual([u["id"] for u in got], [GHOST])

    def test_invalid_filters(self):
        for flt in ('username co "a"', 'username eq alice', 'username eq "unterminated',
                    'username eq "a" or username eq "b"', 'email eq "a@b"', 'username eq "bad\\n"',
                    'username eq "a"b"', '', 'username eq'):
            r = self.users(flt)
            body = self.assertPingOneError(r, 400, "INVALID_DATA", "INVALID_FILTER")
            self.assertEqual(body["details"][0]["target"], "filter", flt)

    def test_limit_and_cursor(self):
        r = self.sim.api("GET", "/users?limit=3", self.tok)
        body = r.json
        self.assertEqual((body["count"], body["size"]), (8, 3))
        seen = [u["id"] for u in body["_embedded"]["users"]]
        while "next" in body["_links"]:
            nxt = urllib.parse.urlsplit(body["_links"]["next"]["href"])
            body = self.sim.call("GET", nxt.path + "?" + nxt.query,
                                 headers={"Authorization": "Bearer " + self.tok}).json
            seen += [u["id"] for u in body["_embedded"]["users"]]
        self.assertEqual(sorted(seen), sorted(U.values()))
        self.assertPingOneError(self.sim.api("GET", "/users?limit=0", self.tok), 400, "INVALID_DATA")
        self.assertPingOneError(self.sim.api("GET", "/users?limit=x", self.tok), 400, "INVALID_DATA")

    def test_consent_pages(self):
        for i in range(5):
            status, _ = self.sim.control("POST", "consents", {
                "user_id": U["alice"], "application_id": APP1, "scope": ["openid"],
                "replace": False, "consentedAt": "2024-01-0%dT00:00:00.000Z" % (i + 1)})
            self.assertEqual(status, 201)
        full = self.consents(U["alice"], 'application.id eq "%s"' % APP1).json
        self.assertNotIn("next", full["_links"])            # default page: 100
        self.assertEqual(self.sim.control("POST", "paging", {"consents": 2})[0], 200)
        body = self.consents(U["alice"], 'application.id eq "%s"' % APP1).json
        self.assertEqual((body["count"], body["size"]), (full["count"], 2))
        seen, pages = [c["id"] for c in body["_embedded"]["oauthConsents"]], 1
        while "next" in body["_links"]:
            href = body["_links"]["next"]["href"]
            base = "http://127.0.0.1:%d/v1/environments/%s/users/%s/oauthConsents?" % (self.sim.port, ENV, U["alice"])
            self.assertTrue(href.startswith(base), href)
            nxt = urllib.parse.urlsplit(href)
            q = urllib.parse.parse_qs(nxt.query)
            self.assertEqual(q["filter"], ['application.id eq "%s"' % APP1])   # kept
            self.assertEqual(q["expand"], ["applications"])
            body = self.sim.call("GET", nxt.path + "?" + nxt.query,
                                 headers={"Authorization": "Bearer " + self.tok}).json
            seen += [c["id"] for c in body["_embedded"]["oauthConsents"]]
            pages += 1
        self.assertEqual(seen, [c["id"] for c in full["_embedded"]["oauthConsents"]])
        self.assertEqual(pages, (full["count"] + 1) // 2)
        self.assertEqual(self.sim.control("POST", "paging", {"consents": 0})[0], 400)
        self.assertEqual(self.sim.control("POST", "paging", {"consents": True})[0], 400)
        bad = self.sim.api("GET", consents_path(U["alice"]) + "&cursor=%%%%", self.tok)
        self.assertPingOneError(bad, 400, "INVALID_DATA")
        self.sim.control("POST", "reset")
        self.tok = self.sim.token()        # reset forgets tokens too
        self.assertNotIn("next", self.consents(U["alice"]).json["_links"])  # reset: 100 again

    def test_user_by_id(self):
        r = self.sim.api("GET", "/users/" + U["grace"], self.tok)
        self.assertEqual((r.status, r.json["username"], r.json["environment"]["id"]), (200, "grace", ENV))
        self.assertPingOneError(self.sim.api("GET", "/users/" + GHOST, self.tok), 404, "NOT_FOUND")


# ---------------------------------------------------------------- consents

class Consents(SimCase):
    def items(self, user, flt=None, expand=True):
        r = self.consents(user, flt, expand)
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json["count"], len(r.json["_embedded"]["oauthConsents"]))
        return r.json["_embedded"]["oauthConsents"]

    def test_shape_and_expand(self):
        (c,) = self.items(U["alice"], 'application.id eq "%s"' % APP1)
        self.assertEqual(set(c["_links"]), {"self", "environment", "user", "consent.revoke"})
        self.assertEqual(c["application"], {"id": APP1, "name": "Web Portal",
                                            "protocol": "OPENID_CONNECT", "type": "WEB_APP"})
        self.assertEqual((c["applicationName"], c["applicationType"]), ("Web Portal", "PINGONE"))
        self.assertEqual((c["environment"], c["user"]), ({"id": ENV}, {"id": U["alice"]}))
        self.assertEqual((c["scope"], c["status"]), (["openid", "profile", "email"], "ACCEPTED"))
        self.assertTrue(c["consentedAt"] and c["updatedAt"])
        self.assertNotIn("expiresAt", c)
        (plain,) = self.items(U["alice"], expand=False)
        self.assertEqual(plain["application"], {"id": APP1})

    def test_seeded_cases(self):
        self.assertEqual([c["status"] for c in self.items(U["bob"])], ["REVOKED"])
        self.assertEqual([c["scope"] for c in self.items(U["carol"])], [["openid"]])
        (dave,) = self.items(U["dave"])
        self.assertTrue(dave["expiresAt"].startswith("2001-"))
        erin = self.items(U["erin"])
        self.assertEqual([(c["status"], c["updatedAt"][:10]) for c in erin],
                         [("REVOKED", "2025-01-01"), ("ACCEPTED", "2024-01-01")], "stored order kept")
        self.assertEqual(self.items(U["frank"]), [])
        self.assertEqual([c["scope"] for c in self.items(U["smith"])], [["openid", "profile"]])

    def test_filters(self):
        (g,) = self.items(U["grace"], r'application.name eq "Reports \"Beta\""')
        self.assertEqual(g["application"]["name"], 'Reports "Beta"')
        self.assertEqual(self.items(U["grace"], 'APPLICATION.ID EQ "%s"' % APP2.upper())[0]["id"], g["id"])
        self.assertEqual(self.items(U["grace"], 'application.name eq "Reports Beta"'), [])
        self.assertEqual(self.items(U["alice"], 'application.id eq "%s"' % APP2), [])
        for flt in ('application.id eq "x" or 1', 'username eq "alice"', 'application.name eq "Reports "Beta""',
                    'application.id ne "%s"' % APP1):
            self.assertPingOneError(self.consents(U["alice"], flt), 400, "INVALID_DATA", "INVALID_FILTER")

    def test_unknown_user(self):
        self.assertPingOneError(self.consents(GHOST), 404, "NOT_FOUND")

    def test_read_one(self):
        cid = self.items(U["alice"])[0]["id"]
        r = self.sim.api("GET", "/users/%s/oauthConsents/%s?expand=applications" % (U["alice"], cid), self.tok)
        self.assertEqual((r.status, r.json["id"], r.json["application"]["name"]), (200, cid, "Web Portal"))
        r = self.sim.api("GET", "/users/%s/oauthConsents/%s" % (U["alice"], cid), self.tok)
        self.assertEqual(r.json["application"], {"id": APP1})
        self.assertPingOneError(self.sim.api("GET", "/users/%s/oauthConsents/%s" % (U["bob"], cid), self.tok),
                                404, "NOT_FOUND")
        self.assertPingOneError(self.sim.api("GET", "/users/%s/oauthConsents/%s" % (U["alice"], GHOST),
                                             self.tok), 404, "NOT_FOUND")

    def test_revoke_patch(self):
        c = self.items(U["alice"])[0]
        path = "/users/%s/oauthConsents/%s" % (U["alice"], c["id"])
        r = self.sim.api("PATCH", path, self.tok, {"status": "REVOKED"})
        self.assertPingOneError(r, 400, "INVALID_REQUEST")
        r = self.sim.api("PATCH", path, self.tok, {"status": "ACCEPTED"}, CT_REVOKE)
        self.assertPingOneError(r, 400, "INVALID_DATA", "INVALID_VALUE")
        r = self.sim.api("PATCH", path, self.tok, "{not json", CT_REVOKE)
        self.assertEqual(r.status, 400)
        time.sleep(0.01)
        r = self.sim.api("PATCH", path, self.tok, {"status": "REVOKED"}, CT_REVOKE)
        self.assertEqual((r.status, r.json["status"], r.json["id"]), (200, "REVOKED", c["id"]))
        self.assertGreater(r.json["updatedAt"], c["updatedAt"])
        self.assertEqual(self.items(U["alice"])[0]["status"], "REVOKED")
        r = self.sim.api("PATCH", "/users/%s/oauthConsents/%s" % (U["alice"], GHOST), self.tok,
                         {"status": "REVOKED"}, CT_REVOKE)
        self.assertPingOneError(r, 404, "NOT_FOUND")

    def test_accept_post(self):
        path = "/users/%s/oauthConsents" % U["frank"]
        body = {"application": {"id": APP1}, "scope": ["openid", "profile"]}
        self.assertPingOneError(self.sim.api("POST", path, self.tok, body), 400, "INVALID_REQUEST")
        r = self.sim.api("POST", path, self.tok, body, CT_ACCEPT)
        self.assertEqual((r.status, r.json["status"], r.json["scope"]), (201, "ACCEPTED", ["openid", "profile"]))
        self.assertEqual([c["id"] for c in self.items(U["frank"])], [r.json["id"]])
        r = self.sim.api("POST", path, self.tok, {"application": {"id": GHOST}, "scope": ["openid"]}, CT_ACCEPT)
        self.assertPingOneError(r, 400, "INVALID_DATA", "INVALID_VALUE")
        r = self.sim.api("POST", path, self.tok, {"application": {"id": APP1}, "scope": "openid"}, CT_ACCEPT)
        self.assertPingOneError(r, 400, "INVALID_DATA", "INVALID_VALUE")
        r = self.sim.api("POST", "/users/%s/oauthConsents" % GHOST, self.tok, body, CT_ACCEPT)
        self.assertPingOneError(r, 404, "NOT_FOUND")


# -------------------------------------------------------------------- jobs

class Jobs(SimCase):
    def poll(self, jid):
        r = self.sim.api("GET", "/oathJobs/" + jid, self.tok)
        self.assertEqual(r.status, 200, r.raw)
        return r.json

    def test_submit_and_finish(self):
        body = {"type": "REVOKE_OATH_TOKENS", "async": True, "forceUnpair": False, "tokenIds": ["a", "b", "c"]}
        self.assertPingOneError(self.sim.api("POST", "/oathJobs", self.tok, body), 400, "INVALID_REQUEST")
        r = self.sim.api("POST", "/oathJobs", self.tok, body, CT_JOB)
        self.assertEqual(r.status, 202)
        job = r.json
        self.assertEqual((job["type"], job["async"], job["status"], job["environment"]),
                         ("REVOKE_OATH_TOKENS", True, "IN_PROGRESS", {"id": ENV}))
        self.assertRegex(job["id"], r"^[0-9a-f-]{36}$")
        seen = [self.poll(job["id"]) for _ in range(4)]
        self.assertEqual([j["status"] for j in seen], ["IN_PROGRESS", "IN_PROGRESS", "DONE", "DONE"])
        self.assertNotIn("result", seen[0])
        self.assertEqual(seen[2]["result"], {"revoked": 3})
        self.assertIn("self", seen[2]["_links"])
        bad = dict(body, tokenIds=[])
        self.assertPingOneError(self.sim.api("POST", "/oathJobs", self.tok, bad, CT_JOB), 400, "INVALID_DATA")
        self.assertPingOneError(self.sim.api("GET", "/oathJobs/" + GHOST, self.tok), 404, "NOT_FOUND")

    def test_control_jobs(self):
        status, out = self.sim.control("POST", "jobs", {"id": "job-fail", "statuses": ["IN_PROGRESS", "FAILED"],
                                                        "reason": "device offline"})
        self.assertEqual((status, out), (201, {"id": "job-fail"}))
        self.assertEqual(self.poll("job-fail")["status"], "IN_PROGRESS")
        j = self.poll("job-fail")
        self.assertEqual((j["status"], j["reason"]), ("FAILED", "device offline"))
        self.assertNotIn("result", j)
        jid = self.sim.control("POST", "jobs", {"statuses": ["IN_PROGRESS"]})[1]["id"]
        self.assertEqual({self.poll(jid)["status"] for _ in range(4)}, {"IN_PROGRESS"}, "never finishes")
        jid = self.sim.control("POST", "jobs", {"statuses": ["DONE"], "revoked": 5})[1]["id"]
        self.assertEqual(self.poll(jid)["result"], {"revoked": 5})


# -------------------------------------------------------------- introspect

class Introspect(SimCase):
    def introspect(self, token, headers=None):
        return self.sim.call("POST", "/%s/as/introspect" % ENV, urllib.parse.urlencode({"token": token}),
                             dict(FORM, **(headers if headers is not None else basic(CID, SECRET))))

    def test_introspect(self):
        exp = int(time.time()) + 300
        self.assertEqual(self.sim.control("POST", "introspect-tokens",
                                          {"token": "user-token-1", "active": True, "scope": "openid profile",
                                           "sub": U["alice"], "client_id": "web-portal", "exp": exp})[0], 201)
        self.sim.control("POST", "introspect-tokens", {"token": "old", "active": True, "exp": 1000})
        self.sim.control("POST", "introspect-tokens", {"token": "off", "active": False})
        r = self.introspect("user-token-1")
        self.assertEqual(r.json, {"active": True, "scope": "openid profile", "sub": U["alice"],
                                  "client_id": "web-portal", "exp": exp})
        for token in ("old", "off", "never-seen", self.tok):
            self.assertEqual(self.introspect(token).json, {"active": False}, token)
        r = self.sim.call("POST", "/%s/as/introspect" % ENV,
                          "token=user-token-1&client_id=%s&client_secret=%s" % (POST_CID, POST_SECRET), FORM)
        self.assertEqual(r.json["active"], True, "post client auth")
        self.assertEqual(self.introspect("user-token-1", {}).status, 401)
        self.assertEqual(self.introspect("user-token-1", basic(CID, "wrong")).json["error"], "invalid_client")
        r = self.sim.call("POST", "/%s/as/introspect" % ENV, "", dict(FORM, **basic(CID, SECRET)))
        self.assertEqual((r.status, r.json["error"]), (400, "invalid_request"))


# ----------------------------------------------------------------- control

class Control(SimCase):
    def test_health_and_unknown(self):
        self.assertEqual(self.sim.control("GET", "health"), (200, {"ok": True}))
        self.assertEqual(self.sim.control("GET", "nope")[0], 404)
        self.assertEqual(self.sim.control("GET", "revoke")[0], 405)
        self.assertEqual(self.sim.call("POST", "/__control/faults", "{oops",
                                       {"Content-Type": "application/json"}).status, 400)

    def test_counts(self):
        self.sim.control("POST", "reset-counts")
        self.sim.token()
        self.consents(U["alice"])
        self.consents(U["alice"])
        self.consents(U["bob"])
        self.consents(GHOST)
        self.sim.api("GET", "/users?filter=" + urllib.parse.quote('username eq "bob"'), self.tok)
        self.sim.api("GET", "/users/" + U["bob"], self.tok)
        self.sim.api("GET", "/users/%s/oauthConsents/%s" % (U["bob"], GHOST), self.tok)
        self.sim.api("PATCH", "/users/%s/oauthConsents/%s" % (U["bob"], GHOST), self.tok, {})
        self.sim.api("POST", "/users/%s/oauthConsents" % U["bob"], self.tok, {})
        self.sim.api("POST", "/oathJobs", self.tok, {})
        self.sim.api("GET", "/oathJobs/x", self.tok)
        self.sim.call("POST", "/%s/as/introspect" % ENV, "token=x", FORM)
        self.sim.call("GET", "/nowhere")
        self.sim.control("POST", "faults", {"endpoint": "consents", "type": "status", "status": 500})
        self.consents(U["carol"])
        c = self.sim.control("GET", "counts")[1]
        want = {"token": 1, "users": 1, "user": 1, "consents": 5, "consent": 1, "consent_patch": 1,
                "consent_post": 1, "oath_jobs_post": 1, "oath_jobs_get": 1, "introspect": 1, "unknown": 1}
        self.assertEqual({k: c[k] for k in want}, want)
        self.assertEqual(c["total"], sum(want.values()))
        self.assertEqual(c["by_user"], {U["alice"]: 2, U["bob"]: 1, GHOST: 1, U["carol"]: 1})
        self.assertEqual(self.sim.control("POST", "reset-counts")[0], 200)
        c = self.sim.control("GET", "counts")[1]
        self.assertEqual((c["total"], c["consents"], c["by_user"]), (0, 0, {}))

    def test_reset(self):
        self.sim.control("POST", "revoke", {"user_id": U["alice"], "application_id": APP1})
        self.sim.control("POST", "faults", {"endpoint": "any", "type": "status", "status": 500, "count": -1})
        self.sim.control("DELETE", "users/" + U["carol"])
        self.assertEqual(self.sim.control("POST", "reset"), (200, {"ok": True}))
        self.assertPingOneError(self.consents(U["alice"]), 401, "ACCESS_FAILED", "INVALID_TOKEN")
        self.assertEqual(self.sim.control("GET", "faults"), (200, []))
        self.assertEqual(self.sim.control("GET", "counts")[1]["total"], 1)
        tok = self.sim.token()
        self.assertEqual(self.consents(U["alice"], token=tok).json["_embedded"]["oauthConsents"][0]["status"],
                         "ACCEPTED")
        self.assertEqual(self.consents(U["carol"], token=tok).status, 200)

    def test_consents_revoke_users(self):
        status, c = self.sim.control("POST", "consents", {"user_id": U["bob"], "application_id": APP1,
                                                          "scope": ["openid", "profile"]})
        self.assertEqual((status, c["status"], c["user"]["id"]), (201, "ACCEPTED", U["bob"]))
        self.assertEqual([x["id"] for x in self.consents(U["bob"]).json["_embedded"]["oauthConsents"]],
                         [c["id"]], "replace removed the revoked one")
        self.sim.control("POST", "consents", {"user_id": U["bob"], "application_id": APP2, "scope": ["openid"],
                                              "status": "DECLINED", "expiresAt": "2030-01-01T00:00:00.000Z",
                                              "replace": False})
        items = self.consents(U["bob"]).json["_embedded"]["oauthConsents"]
        self.assertEqual([(x["status"], x.get("expiresAt")) for x in items],
                         [("ACCEPTED", None), ("DECLINED", "2030-01-01T00:00:00.000Z")])
        self.assertEqual(self.sim.control("POST", "revoke", {"user_id": U["bob"], "application_id": APP1}),
                         (200, {"revoked": 1}))
        self.assertEqual(self.consents(U["bob"]).json["_embedded"]["oauthConsents"][0]["status"], "REVOKED")
        self.assertEqual(self.sim.control("POST", "revoke", {"user_id": U["bob"], "application_id": APP1}),
                         (200, {"revoked": 0}))
        # An unknown user is created, named by its ID unless a username is given.
        new = "e1000000-0000-4000-8000-000000000050"
        self.sim.control("POST", "consents", {"user_id": new, "application_id": APP1, "scope": ["openid"]})
        self.assertEqual(self.sim.api("GET", "/users/" + new, self.tok).json["username"], new)
        self.sim.control("POST", "consents", {"user_id": GHOST, "username": "ghost", "application_id": APP1})
        r = self.sim.api("GET", "/users?filter=" + urllib.parse.quote('username eq "ghost"'), self.tok)
        self.assertEqual(r.json["_embedded"]["users"][0]["id"], GHOST)
        # users: create/replace, delete with their consents
        self.assertEqual(self.sim.control("POST", "users", {"id": GHOST, "username": "casper"})[0], 201)
        self.assertEqual(self.sim.api("GET", "/users/" + GHOST, self.tok).json["username"], "casper")
        self.assertEqual(self.sim.control("DELETE", "users/" + GHOST),
                         (200, {"deleted": True, "consents_removed": 1}))
        self.assertEqual(self.consents(GHOST).status, 404)
        self.assertEqual(self.sim.control("POST", "consents", {"application_id": APP1})[0], 400)

    def test_state_has_no_secrets(self):
        status, state = self.sim.control("GET", "state")
        self.assertEqual(status, 200)
        self.assertEqual(len(state["users"]), 8)
        self.assertEqual(len(state["consents"]), 8)
        self.assertEqual(state["jobs"], [])
        text = json.dumps(state)
        for secret in (SECRET, POST_SECRET, self.tok):
            self.assertNotIn(secret, text)

    def test_fault_control(self):
        status, out = self.sim.control("POST", "faults", {"endpoint": "users", "type": "latency", "latency_ms": 1})
        self.assertEqual(status, 201)
        fid = out["id"]
        self.sim.control("POST", "faults", {"type": "status", "status": 502, "count": -1})
        faults = self.sim.control("GET", "faults")[1]
        self.assertEqual([(f["id"], f["endpoint"], f["type"]) for f in faults][0], (fid, "users", "latency"))
        self.assertEqual(faults[1]["endpoint"], "any")
        self.assertEqual(self.sim.control("DELETE", "faults/" + fid), (200, {"deleted": True}))
        self.assertEqual(self.sim.control("DELETE", "faults"), (200, {"cleared": 1}))
        for bad in ({"type": "nope"}, {"endpoint": "nope", "type": "status"}, {"type": "status", "count": 0},
                    {"type": "body"}, {"type": "redirect"}, {"type": "status", "status": 99}):
            self.assertEqual(self.sim.control("POST", "faults", bad)[0], 400, bad)


# ------------------------------------------------------------------ faults

class Faults(SimCase):
    def fault(self, endpoint="consents", **kw):
        status, out = self.sim.control("POST", "faults", dict(endpoint=endpoint, **kw))
        self.assertEqual(status, 201, out)
        return out["id"]

    def raw_consents(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=10)
        conn.request("GET", "/v1/environments/%s%s" % (ENV, consents_path(U["alice"])),
                     headers={"Authorization": "Bearer " + self.tok})
        return conn, conn.getresponse()

    def test_status(self):
        self.fault(type="status", status=503, retry_after="9")
        r = self.consents(U["alice"])
        self.assertPingOneError(r, 503, "UNEXPECTED_ERROR")
        self.assertEqual(r.header("Retry-After"), "9")
        self.fault(type="status", status=500)
        r = self.consents(U["alice"])
        self.assertPingOneError(r, 500, "UNEXPECTED_ERROR")
        self.assertIsNone(r.header("Retry-After"))
        self.fault(type="status", status=403)
        self.assertPingOneError(self.consents(U["alice"]), 403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS")
        self.assertEqual(self.consents(U["alice"]).status, 200, "a fault applies once by default")

    def test_rate_limit(self):
        self.fault(type="rate_limit")
        r = self.consents(U["alice"])
        self.assertPingOneError(r, 429, "REQUEST_LIMITED", "LIMIT_EXCEEDED")
        self.assertEqual(r.header("Retry-After"), "2")
        date = email.utils.formatdate(time.time() + 30, usegmt=True)
        self.fault(type="rate_limit", retry_after=date)
        self.assertEqual(self.consents(U["alice"]).header("Retry-After"), date)

    def test_latency(self):
        self.fault(type="latency", latency_ms=300)
        t0 = time.monotonic()
        r = self.consents(U["alice"])
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)
        self.assertEqual(r.status, 200)

    def test_latency_after(self):
        # the answer is made on arrival: a revoke during the delay is not in it
        self.fault(type="latency", latency_ms=400, after=True)
        out = {}
        t = threading.Thread(target=lambda: out.update(r=self.consents(U["alice"])))
        t0 = time.monotonic()
        t.start()
        time.sleep(0.15)
        self.sim.control("POST", "revoke", {"user_id": U["alice"], "application_id": APP1})
        t.join()
        self.assertGreaterEqual(time.monotonic() - t0, 0.39)
        items = out["r"].json["_embedded"]["oauthConsents"]
        self.assertEqual([c["status"] for c in items], ["ACCEPTED"])
        self.assertEqual(self.consents(U["alice"]).json["_embedded"]["oauthConsents"][0]["status"],
                         "REVOKED")
        status, out = self.sim.control("POST", "faults", {"type": "latency", "after": "yes"})
        self.assertEqual(status, 400)

    def test_malformed(self):
        self.fault(type="malformed")
        r = self.consents(U["alice"])
        self.assertEqual((r.status, r.header("Content-Type")), (200, "application/json"))
        self.assertTrue(r.raw.startswith(b'{"_embedded": {"oauthConsents": ['))
        self.assertRaises(ValueError, json.loads, r.raw)

    def test_truncated(self):
        full = len(self.consents(U["alice"]).raw)
        self.fault(type="truncated")
        conn, resp = self.raw_consents()
        self.assertEqual(int(resp.getheader("Content-Length")), full)
        with self.assertRaises(http.client.IncompleteRead) as cm:
            resp.read()
        self.assertEqual(len(cm.exception.partial), full // 2)
        conn.close()

    def test_reset(self):
        self.fault(type="reset")
        conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=10)
        conn.request("GET", "/v1/environments/%s%s" % (ENV, consents_path(U["alice"])),
                     headers={"Authorization": "Bearer " + self.tok})
        with self.assertRaises(ConnectionResetError):
            conn.getresponse()
        conn.close()
        self.assertEqual(self.consents(U["alice"]).status, 200)

    def test_invalid_token(self):
        self.fault(type="invalid_token", count=2)
        self.assertPingOneError(self.consents(U["alice"]), 401, "ACCESS_FAILED", "INVALID_TOKEN")
        self.assertPingOneError(self.consents(U["alice"]), 401, "ACCESS_FAILED", "INVALID_TOKEN")
        self.assertEqual(self.consents(U["alice"]).status, 200)

    def test_body(self):
        hostile = '{"_embedded":{"oauthConsents":[{"id":"x","status":1,"status":"ACCEPTED","scope":"openid"}]}}'
        self.fault(type="body", body=hostile)
        r = self.consents(U["alice"])
        self.assertEqual((r.status, r.header("Content-Type"), r.raw), (200, "application/json", hostile.encode()))
        self.fault(type="body", body="[" * 5000, status=201)
        r = self.consents(U["alice"])
        self.assertEqual((r.status, r.raw), (201, b"[" * 5000))
        self.fault(type="body", body_base64=base64.b64encode(b'{"a":"\xff\x00"}').decode())
        self.assertEqual(self.consents(U["alice"]).raw, b'{"a":"\xff\x00"}')

    def test_redirect(self):
        self.fault(type="redirect", location="http://127.0.0.2:9/steal")
        r = self.consents(U["alice"])
        self.assertEqual((r.status, r.header("Location")), (302, "http://127.0.0.2:9/steal"))

    def test_slow_drip(self):
        normal = self.consents(U["alice"], expand=False)
        self.fault(endpoint="user", type="slow_drip", interval_ms=2)
        plain = self.sim.api("GET", "/users/" + U["bob"], self.tok)
        self.fault(endpoint="user", type="slow_drip", interval_ms=2)
        t0 = time.monotonic()
        r = self.sim.api("GET", "/users/" + U["bob"], self.tok)
        self.assertGreaterEqual(time.monotonic() - t0, len(r.raw) * 0.002 * 0.9)
        self.assertEqual((r.status, r.json["username"]), (200, "bob"))
        self.assertEqual(len(r.raw), len(plain.raw))
        self.assertEqual(normal.status, 200)

    def test_client_leaves_mid_drip(self):
        self.fault(type="slow_drip", interval_ms=20)
        conn, resp = self.raw_consents()
        self.assertEqual(resp.read(5), b'{"_li')
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        time.sleep(0.1)
        self.assertEqual(self.sim.control("GET", "health"), (200, {"ok": True}))
        self.assertEqual(self.consents(U["alice"]).status, 200)

    def test_huge(self):
        self.fault(type="huge", size=100000)
        r = self.consents(U["alice"])
        self.assertEqual((r.status, len(r.raw), int(r.header("Content-Length"))), (200, 100000, 100000))
        body = r.json
        self.assertEqual(body["_embedded"]["oauthConsents"][0]["status"], "ACCEPTED")
        self.fault(type="huge", size=3000000)
        self.assertEqual(len(self.consents(U["alice"]).raw), 3000000)

    def test_fifo_count_any_and_counting(self):
        self.sim.control("POST", "reset-counts")
        self.fault(type="status", status=500)
        self.fault(type="status", status=503)
        self.assertEqual([self.consents(U["alice"]).status for _ in range(3)], [500, 503, 200])
        self.fault(endpoint="any", type="status", status=502, count=-1)
        self.assertEqual(self.sim.api("GET", "/users/" + U["bob"], self.tok).status, 502)
        self.assertEqual(self.sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                                       dict(FORM, **basic(CID, SECRET))).status, 502)
        self.assertEqual(self.consents(U["alice"]).status, 502)
        self.assertEqual(self.sim.control("GET", "health")[0], 200, "control calls never fault")
        self.sim.control("DELETE", "faults")
        self.assertEqual(self.consents(U["alice"]).status, 200)
        c = self.sim.control("GET", "counts")[1]
        self.assertEqual((c["consents"], c["user"], c["token"]), (5, 1, 1), "faulted calls are counted")

    def test_token_endpoint_faults(self):
        self.fault(endpoint="token", type="status", status=500)
        r = self.sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                          dict(FORM, **basic(CID, SECRET)))
        self.assertPingOneError(r, 500, "UNEXPECTED_ERROR")
        self.fault(endpoint="token", type="latency", latency_ms=150)
        t0 = time.monotonic()
        self.sim.token()
        self.assertGreaterEqual(time.monotonic() - t0, 0.14)


# ----------------------------------------------------------- HTTP plumbing

class Plumbing(SimCase):
    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=10)
        r1 = self.sim.api("GET", consents_path(U["alice"]), self.tok, conn=conn)
        sock = conn.sock
        r2 = self.sim.api("GET", "/users/" + U["alice"], self.tok, conn=conn)
        r3 = self.sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                           dict(FORM, **basic(CID, SECRET)), conn=conn)
        self.assertIs(conn.sock, sock, "one connection for all three")
        self.assertEqual((r1.status, r2.status, r3.status), (200, 200, 200))
        self.assertEqual(int(r1.header("Content-Length")), len(r1.raw))
        conn.close()

    def test_unknown_paths_and_methods(self):
        for method, path in (("GET", "/"), ("GET", "/v1/environments/%s/groups" % ENV),
                             ("GET", "/v1/environments/%s/users/%s/oauthConsents/" % (ENV, U["alice"]))):
            self.assertPingOneError(self.sim.call(method, path, headers={"Authorization": "Bearer " + self.tok}),
                                    404, "NOT_FOUND")
        r = self.sim.api("DELETE", "/users/%s/oauthConsents/%s" % (U["alice"], GHOST), self.tok)
        self.assertEqual((r.status, r.header("Allow")), (405, "GET, PATCH"))
        self.assertEqual(self.sim.call("GET", "/%s/as/token" % ENV).status, 405)

    def test_chunked_request_and_protocol_errors(self):
        s = socket.create_connection(("127.0.0.1", self.sim.port), timeout=5)
        body = b"grant_type=client_credentials"
        auth = basic(CID, SECRET)["Authorization"].encode()
        s.sendall(b"POST /" + ENV.encode() + b"/as/token HTTP/1.1\r\nHost: x\r\nAuthorization: " + auth +
                  b"\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
                  b"Connection: close\r\n\r\n" + b"%x\r\n" % 10 + body[:10] + b"\r\n" +
                  b"%x\r\n" % (len(body) - 10) + body[10:] + b"\r\n0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data[:100])
        s = socket.create_connection(("127.0.0.1", self.sim.port), timeout=5)
        s.sendall(b"GARBAGE\r\n\r\n")
        data = s.recv(65536)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 400 ") or data.startswith(b"HTTP/1.0 400 "), data[:100])
        self.assertIn(b"application/json", data)
        self.assertEqual(self.sim.control("GET", "health")[0], 200)

    def test_concurrency(self):
        results = []

        def worker():
            for _ in range(10):
                results.append(self.consents(U["alice"]).status)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [200] * 80)
        self.assertEqual(self.sim.control("GET", "counts")[1]["by_user"][U["alice"]], 80)


# ------------------------------------------------- scale: indexes and bulk

def bulk_id(i):
    return "f0000000-0000-4000-8000-%012d" % i


def bulk_consent_id(uid, app):
    return str(uuid.uuid5(BULK_NS, uid + "/" + app))


class Scale(SimCase):
    def bulk(self, **body):
        return self.sim.control("POST", "bulk-users", body)

    def user_ids(self, name):
        r = self.sim.api("GET", "/users?filter=" + urllib.parse.quote('username eq "%s"' % name, safe=""),
                         self.tok)
        self.assertEqual(r.status, 200, r.raw)
        return [u["id"] for u in r.json["_embedded"]["users"]]

    def test_bulk_users_deterministic(self):
        status, out = self.bulk(count=50, start=1000, application=APP1, scope=["openid", "profile"],
                                status="ACCEPTED")
        self.assertEqual(status, 201, out)
        self.assertEqual((out["created"], out["updated"], out["consents"], out["application"]),
                         (50, 0, 50, APP1))
        self.assertEqual(out["first"], {"index": 1000, "id": bulk_id(1000), "username": "user1000"})
        self.assertEqual(out["last"], {"index": 1049, "id": bulk_id(1049), "username": "user1049"})
        self.assertIsInstance(out["ms"], (int, float))
        self.assertEqual(bulk_id(1049), "f0000000-0000-4000-8000-000000001049")
        self.assertEqual(self.user_ids("USER1049"), [bulk_id(1049)], "username lookup, any case")
        self.assertEqual(self.user_ids("user999"), [])
        r = self.sim.api("GET", "/users/" + bulk_id(1025), self.tok)
        self.assertEqual((r.status, r.json["username"], r.json["enabled"]), (200, "user1025", True))
        (c,) = self.consents(bulk_id(1025)).json["_embedded"]["oauthConsents"]
        self.assertEqual((c["id"], c["status"], c["scope"], c["application"]["name"]),
                         (bulk_consent_id(bulk_id(1025), APP1), "ACCEPTED", ["openid", "profile"],
                          "Web Portal"))
        # again: the same IDs, the pair's consent replaced, nothing doubled
        status, again = self.bulk(count=50, start=1000, application=APP1)
        self.assertEqual((status, again["created"], again["updated"]), (201, 0, 50))
        (c2,) = self.consents(bulk_id(1025)).json["_embedded"]["oauthConsents"]
        self.assertEqual(c2["id"], c["id"])
        # another application: a second consent each; filters and paging see both
        self.assertEqual(self.bulk(count=50, start=1000, application=APP2, scope=["openid"],
                                   status="REVOKED")[0], 201)
        items = self.consents(bulk_id(1000)).json["_embedded"]["oauthConsents"]
        self.assertEqual([(x["application"]["id"], x["status"]) for x in items],
                         [(APP1, "ACCEPTED"), (APP2, "REVOKED")])
        (only,) = self.consents(bulk_id(1000), 'application.id eq "%s"' % APP2.upper()).json[
            "_embedded"]["oauthConsents"]
        self.assertEqual(only["id"], bulk_consent_id(bulk_id(1000), APP2))
        (named,) = self.consents(bulk_id(1000), 'application.name eq "Web Portal"').json[
            "_embedded"]["oauthConsents"]
        self.assertEqual(named["application"]["id"], APP1)
        r = self.sim.api("GET", "/users?limit=20", self.tok)
        self.assertEqual(r.json["count"], 8 + 50)
        seen = []
        body = r.json
        while True:
            seen += [u["id"] for u in body["_embedded"]["users"]]
            if "next" not in body["_links"]:
                break
            nxt = urllib.parse.urlsplit(body["_links"]["next"]["href"])
            body = self.sim.call("GET", nxt.path + "?" + nxt.query,
                                 headers={"Authorization": "Bearer " + self.tok}).json
        self.assertEqual(seen, list(U.values()) + [bulk_id(i) for i in range(1000, 1050)])
        # seeding is initial state: no audit events unless asked
        self.assertEqual(self.sim.control("GET", "activities")[1]["events"], 0)
        self.assertEqual(self.bulk(count=3, start=5, events=True)[0], 201)
        kinds = [e["action"]["type"] for e in self.sim.control("GET", "activities")[1]["activities"]]
        self.assertEqual(kinds, ["USER.CREATED", "OAUTH_CONSENT.ACCEPTED"] * 3)

    def test_bulk_users_refusals(self):
        for bad in ({}, {"count": 0}, {"count": "10"}, {"count": True}, {"count": 10, "start": -1},
                    {"count": 10, "status": "MAYBE"}, {"count": 10, "application": "Web Portal"},
                    {"count": 10, "scope": "openid"}, {"count": 10, "scope": [""]},
                    {"count": 10, "colour": "blue"}, {"count": 10, "events": "yes"},
                    {"count": 10, "start": 10 ** 12 - 5}):
            status, out = self.bulk(**bad)
            self.assertEqual(status, 400, bad)
            self.assertIn("error", out)
        self.assertEqual(self.sim.control("GET", "state")[1]["users"].__len__(), 8, "nothing seeded")

    def test_indexes_follow_changes(self):
        # renames move a user between names; equal names (any case) list in creation order
        self.sim.control("POST", "users", {"id": GHOST, "username": "Alice"})
        self.assertEqual(self.user_ids("alice"), [U["alice"], GHOST])
        self.sim.control("POST", "users", {"id": GHOST, "username": "casper"})
        self.assertEqual(self.user_ids("alice"), [U["alice"]])
        self.assertEqual(self.user_ids("CASPER"), [GHOST])
        self.sim.control("POST", "users", {"id": U["alice"], "username": "CASPER"})
        self.assertEqual(self.user_ids("casper"), [U["alice"], GHOST], "listing order, not rename order")
        self.sim.control("DELETE", "users/" + U["alice"])
        self.assertEqual(self.user_ids("casper"), [GHOST])
        self.assertEqual(self.consents(U["alice"]).status, 404)
        # consents of one pair: added, replaced, revoked, deleted
        for day in (1, 2, 3):
            self.sim.control("POST", "consents", {"user_id": GHOST, "application_id": APP1, "scope": ["openid"],
                                                  "replace": False,
                                                  "consentedAt": "2024-01-0%dT00:00:00.000Z" % day})
        self.sim.control("POST", "consents", {"user_id": GHOST, "application_id": APP2, "scope": ["openid"]})
        ids = lambda flt=None: [c["id"] for c in self.consents(GHOST, flt).json["_embedded"]["oauthConsents"]]
        everything = ids()
        self.assertEqual(len(everything), 4)
        self.assertEqual(ids('application.id eq "%s"' % APP1), everything[:3])
        self.assertEqual(self.sim.control("POST", "revoke", {"user_id": GHOST, "application_id": APP1}),
                         (200, {"revoked": 3}))
        self.assertEqual([c["status"] for c in self.consents(GHOST).json["_embedded"]["oauthConsents"]],
                         ["REVOKED"] * 3 + ["ACCEPTED"])
        self.sim.control("POST", "consents", {"user_id": GHOST, "application_id": APP1, "scope": ["openid"]})
        after = ids()
        self.assertEqual(after[:1], everything[3:], "replace removed the pair's three, kept APP2's")
        self.assertEqual(len(after), 2)
        self.assertEqual(self.sim.control("POST", "delete-consents", {"user_id": GHOST, "consent_id": after[0]}),
                         (200, {"deleted": 1}))
        self.assertEqual(ids(), after[1:])
        self.assertEqual(ids('application.id eq "%s"' % APP2), [])
        # the state dump lists consents in creation order across users
        dumped = [c["id"] for c in self.sim.control("GET", "state")[1]["consents"]]
        self.assertEqual(dumped[-1], after[1])
        self.assertNotIn("_seq", json.dumps(self.sim.control("GET", "state")[1]))

    def test_keep_alive_under_concurrency(self):
        results, errors = [], []

        def worker():
            conn = http.client.HTTPConnection("127.0.0.1", self.sim.port, timeout=30)
            try:
                sock = None
                for i in range(25):
                    r = self.sim.api("GET", consents_path(U["alice"]), self.tok, conn=conn)
                    if sock is None:
                        sock = conn.sock
                    results.append((r.status, conn.sock is sock))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(repr(e))
            finally:
                conn.close()

        threads = [threading.Thread(target=worker) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(results, [(200, True)] * 300, "every answer 200, one connection per client")


class BulkCommandLine(unittest.TestCase):
    def test_bulk_option_and_reset(self):
        sim = Sim("--bulk-users", "2000", "--bulk-start", "7", "--bulk-application", APP2,
                  "--bulk-scope", "openid reports", "--bulk-status", "DECLINED")
        try:
            tok = sim.token()
            r = sim.api("GET", consents_path(bulk_id(2006)), tok)
            (c,) = r.json["_embedded"]["oauthConsents"]
            self.assertEqual((c["id"], c["status"], c["scope"]),
                             (bulk_consent_id(bulk_id(2006), APP2), "DECLINED", ["openid", "reports"]))
            self.assertEqual(sim.api("GET", "/users/" + bulk_id(6), tok).status, 404)
            self.assertEqual(sim.api("GET", "/users/" + bulk_id(2007), tok).status, 404)
            self.assertEqual(sim.control("POST", "reset")[0], 200)
            tok = sim.token()
            self.assertEqual(sim.api("GET", "/users?limit=1", tok).json["count"], 8 + 2000,
                             "reset goes back to the seed, bulk users included")
            self.assertIn("seeded 2000 bulk users", slurp(sim.log))
        finally:
            sim.cleanup()
        for args in (["--bulk-users", "0"], ["--bulk-users", "5", "--bulk-status", "MAYBE"],
                     ["--bulk-users", "5", "--bulk-application", "nope"]):
            p = subprocess.run([sys.executable, SIM, "--port", "0", "--seed", SEED] + args,
                               capture_output=True, timeout=30)
            self.assertNotEqual(p.returncode, 0, args)
            self.assertIn(b"--bulk", p.stderr)


# ------------------------------------------------------- user changes (API)

class UserChanges(SimCase):
    def test_create_update_disable_delete(self):
        r = self.sim.api("POST", "/users", self.tok, {"username": "newbie"})
        self.assertEqual(r.status, 201, r.raw)
        uid = r.json["id"]
        self.assertEqual((r.json["username"], r.json["enabled"]), ("newbie", True))
        self.assertPingOneError(self.sim.api("POST", "/users", self.tok, {"username": "NEWBIE"}),
                                400, "INVALID_DATA", "UNIQUENESS_VIOLATION")
        self.assertPingOneError(self.sim.api("POST", "/users", self.tok, {"username": ""}),
                                400, "INVALID_DATA", "INVALID_VALUE")
        self.assertPingOneError(self.sim.api("POST", "/users", self.tok, "username=x", FORM),
                                400, "INVALID_REQUEST")
        r = self.sim.api("PATCH", "/users/" + uid, self.tok, {"username": "veteran"})
        self.assertEqual((r.status, r.json["username"]), (200, "veteran"))
        self.assertPingOneError(self.sim.api("PATCH", "/users/" + uid, self.tok, {"username": "Alice"}),
                                400, "INVALID_DATA", "UNIQUENESS_VIOLATION")
        r = self.sim.api("PUT", "/users/%s/enabled" % uid, self.tok, {"enabled": False})
        self.assertEqual((r.status, r.json["enabled"]), (200, False))
        self.assertFalse(self.sim.api("GET", "/users/" + uid, self.tok).json["enabled"])
        self.assertPingOneError(self.sim.api("PUT", "/users/%s/enabled" % uid, self.tok, {"enabled": "no"}),
                                400, "INVALID_DATA", "INVALID_VALUE")
        r = self.sim.api("DELETE", "/users/" + uid, self.tok)
        self.assertEqual((r.status, r.raw), (204, b""))
        for method, path, body in (("GET", "/users/" + uid, None), ("DELETE", "/users/" + uid, None),
                                   ("PATCH", "/users/" + uid, {"username": "x"}),
                                   ("PUT", "/users/%s/enabled" % uid, {"enabled": True})):
            self.assertPingOneError(self.sim.api(method, path, self.tok, body), 404, "NOT_FOUND")
        self.assertPingOneError(self.sim.call("DELETE", "/v1/environments/%s/users/%s" % (ENV, U["bob"])),
                                401, "ACCESS_FAILED", "INVALID_TOKEN")
        c = self.sim.control("GET", "counts")[1]
        self.assertEqual((c["user_post"], c["user_patch"], c["user_enabled"], c["user_delete"]), (4, 3, 3, 3))


# ------------------------------------------------------- audit activities

def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % (int(t * 1000) % 1000)


class Activities(SimCase):
    def setUp(self):
        super().setUp()
        self.since = iso(time.time() - 3600)
        # most tests make many calls: lift the audit rate group (test_rate_group sets it)
        self.assertEqual(self.sim.control("POST", "activities", {"rate_limit_per_second": 0})[0], 200)

    def acts(self, flt=None, limit=None, method="GET", extra=None, token=None):
        params = {}
        if flt is not None:
            params["filter"] = flt
        if limit is not None:
            params["limit"] = str(limit)
        params.update(extra or {})
        q = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        if method == "POST":
            return self.sim.api("POST", "/activities", token or self.tok, q, FORM)
        return self.sim.api("GET", "/activities" + ("?" + q if q else ""), token or self.tok)

    def events(self, flt=None, **kw):
        r = self.acts(flt or 'recordedat gt "%s"' % self.since, **kw)
        self.assertEqual(r.status, 200, r.raw)
        self.assertEqual(r.json["size"], len(r.json["_embedded"]["activities"]))
        return r.json["_embedded"]["activities"]

    def kinds(self, flt=None):
        return [e["action"]["type"] for e in self.events(flt)]

    def follow(self, href, method="GET", body=None):
        nxt = urllib.parse.urlsplit(href)
        h = {"Authorization": "Bearer " + self.tok}
        if method == "POST":
            h.update(FORM)
        return self.sim.call(method, nxt.path + "?" + nxt.query, body, h)

    def test_events_for_api_changes(self):
        c = self.consents(U["alice"]).json["_embedded"]["oauthConsents"][0]
        r = self.sim.api("PATCH", "/users/%s/oauthConsents/%s" % (U["alice"], c["id"]), self.tok,
                         {"status": "REVOKED"}, CT_REVOKE)
        corr = r.header("Correlation-Id")
        self.sim.api("POST", "/users/%s/oauthConsents" % U["frank"], self.tok,
                     {"application": {"id": APP2}, "scope": ["openid"]}, CT_ACCEPT)
        uid = self.sim.api("POST", "/users", self.tok, {"username": "newbie"}).json["id"]
        self.sim.api("PATCH", "/users/" + uid, self.tok, {"username": "veteran"})
        self.sim.api("PUT", "/users/%s/enabled" % uid, self.tok, {"enabled": False})
        self.sim.api("DELETE", "/users/" + uid, self.tok)
        self.sim.api("PATCH", "/users/%s/oauthConsents/%s" % (U["alice"], GHOST), self.tok,
                     {"status": "REVOKED"}, CT_REVOKE)                       # 404: no event
        evs = self.events()
        self.assertEqual([e["action"]["type"] for e in evs],
                         ["OAUTH_CONSENT.REVOKED", "OAUTH_CONSENT.ACCEPTED", "USER.CREATED", "USER.UPDATED",
                          "USER.DISABLED", "USER.DELETED"])
        revoked = evs[0]
        self.assertEqual(revoked["correlationId"], corr)
        self.assertEqual(revoked["actors"]["client"]["id"], CID, "the worker that called")
        self.assertEqual([(x["type"], x["id"]) for x in revoked["resources"]],
                         [("USER", U["alice"]), ("OAUTH_CONSENT", c["id"])])
        self.assertEqual(revoked["resources"][1]["application"], {"id": APP1})
        self.assertEqual(evs[1]["resources"][0]["id"], U["frank"])
        self.assertEqual({e["resources"][0]["id"] for e in evs[2:]}, {uid})
        self.assertEqual(evs[2]["resources"][0]["name"], "newbie")
        self.assertEqual(evs[5]["resources"][0]["name"], "veteran")
        stamps = [e["recordedAt"] for e in evs]
        self.assertEqual(stamps, sorted(stamps))
        self.assertEqual(len({e["id"] for e in evs}), 6)

    def test_events_for_control_changes(self):
        ctl = self.sim.control
        ctl("POST", "consents", {"user_id": U["frank"], "application_id": APP1, "scope": ["openid"]})
        ctl("POST", "consents", {"user_id": U["frank"], "application_id": APP2, "scope": ["openid"],
                                 "status": "DECLINED"})
        ctl("POST", "revoke", {"user_id": U["frank"], "application_id": APP1})
        ctl("POST", "revoke", {"user_id": U["frank"], "application_id": APP1})        # nothing to revoke
        self.assertEqual(ctl("POST", "delete-consents", {"user_id": U["frank"], "application_id": APP2}),
                         (200, {"deleted": 1}))
        ctl("POST", "consents", {"user_id": GHOST, "username": "ghost", "application_id": APP1,
                                 "client_id": "some-app"})
        ctl("POST", "users", {"id": GHOST, "username": "ghost", "enabled": False})
        ctl("POST", "users", {"id": GHOST, "username": "ghost2", "enabled": True})
        ctl("DELETE", "users/" + GHOST)
        ctl("DELETE", "users/" + GHOST)                                            # gone already
        self.assertEqual(self.kinds(), [
            "OAUTH_CONSENT.ACCEPTED", "OAUTH_CONSENT.DECLINED", "OAUTH_CONSENT.REVOKED", "OAUTH_CONSENT.DELETED",
            "USER.CREATED", "OAUTH_CONSENT.ACCEPTED", "USER.DISABLED", "USER.UPDATED", "USER.DELETED"])
        evs = self.events()
        self.assertEqual(evs[5]["actors"]["client"]["id"], "some-app")
        self.assertEqual(evs[3]["resources"][1]["application"], {"id": APP2})
        self.assertEqual(self.sim.control("POST", "delete-consents", {"user_id": GHOST})[0], 400)

    def test_event_shape_matches_webhook(self):
        self.sim.control("POST", "revoke", {"user_id": U["alice"], "application_id": APP1})
        (e,) = self.events()
        self.assertRegex(e["id"], r"^[0-9a-f-]{36}$")
        self.assertRegex(e["recordedAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        self.assertEqual(e["createdAt"], e["recordedAt"])
        self.assertRegex(e["correlationId"], r"^[0-9a-f-]{36}$")
        self.assertEqual(e["action"], {"type": "OAUTH_CONSENT.REVOKED", "description": "OAuth Consent Revoked"})
        self.assertEqual(e["result"]["status"], "SUCCESS")
        self.assertEqual(e["environment"], {"id": ENV})
        self.assertEqual(e["actors"]["user"], {"id": U["alice"], "type": "USER", "name": "alice"})
        self.assertEqual(e["actors"]["client"]["type"], "CLIENT")
        user = e["resources"][0]
        self.assertEqual((user["type"], user["name"], user["environment"], user["population"]),
                         ("USER", "alice", {"id": ENV}, {"id": POPULATION}))
        # the webhook delivery of the same change has the same shape
        got = []

        class Once(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        httpd = http.server.HTTPServer(("127.0.0.1", 0), Once)
        t = threading.Thread(target=httpd.handle_request)
        t.start()
        self.sim.control("POST", "webhook", {"url": "http://127.0.0.1:%d/" % httpd.server_address[1],
                                             "events": [{"type": "OAUTH_CONSENT.REVOKED", "user_id": U["alice"],
                                                         "application_id": APP1}]})
        t.join(10)
        httpd.server_close()
        hook = got[0][0]

        def shape(obj):
            if isinstance(obj, dict):
                return {k: shape(v) for k, v in obj.items()}
            if isinstance(obj, list):
                return [shape(v) for v in obj]
            return type(obj).__name__

        self.assertEqual(shape(hook), shape(e))
        self.assertEqual(hook["resources"][1]["id"], e["resources"][1]["id"], "the revoked consent")

    def test_filter_grammar_accepts(self):
        # three events in three distinct milliseconds (the bounds below single one out)
        self.sim.control("POST", "revoke", {"user_id": U["alice"], "application_id": APP1})
        time.sleep(0.01)
        self.sim.control("POST", "consents", {"user_id": U["bob"], "application_id": APP2, "scope": ["openid"],
                                              "replace": False, "client_id": "app-client"})
        time.sleep(0.01)
        self.sim.control("POST", "users", {"id": U["carol"], "username": "carol", "enabled": False})
        (rev, acc, dis) = self.events()
        later = iso(time.time() + 3600)
        cases = [
            ('recordedat gt "%s"' % self.since, [rev, acc, dis]),
            ('RECORDEDAT GE "%s"' % self.since, [rev, acc, dis]),
            ('recordedAt gt "%s" AND recordedAt lt "%s"' % (self.since, later), [rev, acc, dis]),
            ('recordedat ge "%s" and recordedat le "%s"' % (acc["recordedAt"], acc["recordedAt"]), [acc]),
            ('recordedat gt "%s"' % dis["recordedAt"], []),
            ('recordedat ge "%s"' % dis["recordedAt"], [dis]),
            ('recordedat gt "%s" and recordedat lt "%s"' % (self.since, rev["recordedAt"]), []),
            ('recordedat gt "%s" and action.type eq "OAUTH_CONSENT.REVOKED"' % self.since, [rev]),
            ('recordedat gt "%s" and ACTION.TYPE EQ "user.disabled"' % self.since, [dis]),
            ('recordedat gt "%s" and (action.type eq "OAUTH_CONSENT.REVOKED" or action.type eq "USER.DISABLED")'
             % self.since, [rev, dis]),
            ('(action.type eq "OAUTH_CONSENT.ACCEPTED") and (recordedat gt "%s")' % self.since, [acc]),
            ('recordedat gt "%s" and resources.id eq "%s"' % (self.since, U["bob"]), [acc]),
            ('recordedat gt "%s" and resources.id eq "%s"' % (self.since, rev["resources"][1]["id"]), [rev]),
            ('recordedat gt "%s" and resources.type eq "OAUTH_CONSENT" and resources.id eq "%s"'
             % (self.since, U["alice"]), [rev]),
            ('recordedat gt "%s" and correlationid eq "%s"' % (self.since, dis["correlationId"]), [dis]),
            ('recordedat gt "%s" and actors.client.id eq "app-client"' % self.since, [acc]),
            ('recordedat gt "%s" and actors.user.id eq "%s"' % (self.since, U["carol"]), [dis]),
            ('recordedat gt "%s" and actors.user.name eq "CAROL"' % self.since, [dis]),
            ('recordedat gt "%s" and resources.population.id eq "%s"' % (self.since, POPULATION), [rev, acc, dis]),
            ('recordedat gt "%s" and action.type eq "USER.DELETED"' % self.since, []),
            ('recordedat gt "%s" and action.type eq "A" and action.type eq "B"' % self.since, []),
            ('recordedat gt "%s+00:00"' % self.since[:-1], [rev, acc, dis]),
            ('recordedat gt "%s123Z"' % self.since[:-1], [rev, acc, dis]),
            ('recordedat gt "%sZ"' % self.since[:19], [rev, acc, dis]),
            ('recordedat gt "%s" and action.type eq "we\\"ird\\\\"' % self.since, []),
        ]
        for flt, want in cases:
            got = self.events(flt)
            self.assertEqual([e["id"] for e in got], [e["id"] for e in want], flt)
            self.assertEqual(self.acts(flt).json["count"], len(want), flt)

    def test_filter_grammar_rejects(self):
        s = self.since
        for flt in (None, "", "   ", 'action.type eq "USER.DELETED"', 'recordedat lt "%s"' % s,
                    'recordedat eq "%s"' % s, 'recordedat gt %s' % s, 'recordedat gt "yesterday"',
                    'recordedat gt "2026-13-01T00:00:00Z"', 'recordedat gt "2026-01-01T00:00:00+02:00"',
                    'recordedat gt "2026-01-01"', 'recordedat gt "%s" and action.type gt "X"' % s,
                    'recordedat gt "%s" and action.type ne "X"' % s, 'recordedat gt "%s" and user.id eq "x"' % s,
                    'recordedat gt "%s" or action.type eq "X"' % s,
                    'recordedat gt "%s" and action.type eq "A" or action.type eq "B"' % s,
                    '(recordedat gt "%s" or action.type eq "X")' % s,
                    'recordedat gt "%s" and ((action.type eq "A"))' % s,
                    'recordedat gt "%s" and (action.type eq "A" and action.type eq "B")' % s,
                    'recordedat gt "%s" and (action.type eq "A"' % s,
                    'recordedat gt "%s" and action.type eq "A")' % s,
                    'recordedat gt "%s" and' % s, 'and recordedat gt "%s"' % s,
                    'recordedat gt "%s" action.type eq "A"' % s,
                    'recordedat gt "%s" and action.type eq "unterminated' % s,
                    'recordedat gt "%s" and action.type eq "bad\\n"' % s,
                    'recordedat gt "%s" and action.type eq "A" ; drop' % s):
            r = self.acts(flt)
            body = self.assertPingOneError(r, 400, "INVALID_DATA", "INVALID_FILTER")
            self.assertEqual(body["details"][0]["target"], "filter", flt)

    def test_paging_with_next_links(self):
        for i in range(7):
            self.sim.control("POST", "users", {"id": GHOST, "username": "ghost%d" % i})
        everything = self.events()
        self.assertEqual(len(everything), 7)
        flt = 'recordedat gt "%s"' % self.since
        r = self.acts(flt, 3)
        pages = []
        while True:
            self.assertEqual(r.status, 200, r.raw)
            body = r.json
            self.assertEqual((body["count"], body["size"]), (7, len(body["_embedded"]["activities"])))
            pages.append([e["id"] for e in body["_embedded"]["activities"]])
            if "next" not in body["_links"]:
                break
            href = body["_links"]["next"]["href"]
            base = "http://127.0.0.1:%d/v1/environments/%s/activities?cursor=" % (self.sim.port, ENV)
            self.assertTrue(href.startswith(base), href)
            self.assertNotIn("recordedat", href.lower(), "the filter stays out of the URL")
            r = self.follow(href)
        self.assertEqual([len(p) for p in pages], [3, 3, 1])
        self.assertEqual(sum(pages, []), [e["id"] for e in everything])
        self.assertNotIn("next", self.acts(flt, 7).json["_links"], "no next link without more items")
        self.assertIn("next", self.acts(flt, 6).json["_links"])
        # POST: the filter in the body; the next link (a cursor) by GET, or by POST with the filter again
        r = self.acts(flt, 4, method="POST")
        self.assertEqual(([e["id"] for e in r.json["_embedded"]["activities"]]), pages[0] + pages[1][:1])
        href = r.json["_links"]["next"]["href"]
        self.assertEqual([e["id"] for e in self.follow(href).json["_embedded"]["activities"]], pages[1][1:] + pages[2])
        again = self.follow(href, "POST", urllib.parse.urlencode({"filter": flt}))
        self.assertEqual(again.json["size"], 3)
        other = self.follow(href, "POST", urllib.parse.urlencode({"filter": flt + ' and action.type eq "X"'}))
        self.assertPingOneError(other, 400, "INVALID_DATA", "INVALID_VALUE")
        # a page may hold fewer items than the limit
        self.sim.control("POST", "activities", {"max_page_items": 2})
        r = self.acts(flt, 5)
        self.assertEqual((r.json["size"], r.json["count"]), (2, 7))
        self.assertIn("next", r.json["_links"])
        self.assertEqual(self.follow(r.json["_links"]["next"]["href"]).json["size"], 2)
        # limits and cursors
        for bad in ("0", "1001", "x", "-1"):
            self.assertPingOneError(self.acts(flt, bad), 400, "INVALID_DATA", "INVALID_VALUE")
        self.assertEqual(self.acts(flt, 1000).status, 200)
        self.assertPingOneError(self.acts(extra={"cursor": "nope"}), 400, "INVALID_DATA", "INVALID_VALUE")

    def test_post_form(self):
        self.sim.control("POST", "revoke", {"user_id": U["alice"], "application_id": APP1})
        flt = 'recordedat gt "%s"' % self.since
        r = self.acts(flt, method="POST")
        self.assertEqual((r.status, r.json["size"]), (200, 1))
        self.assertEqual(r.json["_embedded"]["activities"], self.events(flt))
        r = self.sim.api("POST", "/activities", self.tok, {"filter": flt})
        self.assertPingOneError(r, 400, "INVALID_REQUEST")
        r = self.sim.api("POST", "/activities?filter=" + urllib.parse.quote(flt), self.tok,
                         urllib.parse.urlencode({"filter": flt}), FORM)
        self.assertPingOneError(r, 400, "INVALID_REQUEST")
        r = self.sim.api("POST", "/activities", self.tok, "limit=5", FORM)
        self.assertPingOneError(r, 400, "INVALID_DATA", "INVALID_FILTER")

    def test_ingestion_delay(self):
        self.assertEqual(self.sim.control("POST", "activities", {"ingestion_delay_ms": 600000})[0], 200)
        self.sim.control("POST", "revoke", {"user_id": U["alice"], "application_id": APP1})
        self.assertEqual(self.events(), [], "not visible yet")
        logged = self.sim.control("GET", "activities")[1]
        self.assertEqual((logged["events"], logged["ingestion_delay_ms"]), (1, 600000))
        happened = logged["activities"][0]["recordedAt"]
        self.sim.control("POST", "activities", {"ingestion_delay_ms": 0})
        (e,) = self.events()
        self.assertEqual(e["recordedAt"], happened, "recordedAt is when it happened")
        # a short delay: the event shows up once the delay has passed, never before
        self.sim.control("POST", "activities", {"ingestion_delay_ms": 700})
        self.sim.control("POST", "revoke", {"user_id": U["carol"], "application_id": APP1})
        deadline = time.time() + 30
        while True:
            before = time.time()
            evs = self.events()
            if len(evs) == 2:
                break
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        visible_at = time.time()
        recorded = evs[1]["recordedAt"]
        self.assertLessEqual(recorded, iso(visible_at - 0.7 + 0.001), (recorded, before))

    def test_rate_group(self):
        self.sim.control("POST", "activities", {"rate_limit_per_second": 10})
        self.sim.control("POST", "reset-counts")
        flt = 'recordedat gt "%s"' % self.since
        statuses, limited = [], None
        for _ in range(300):
            r = self.acts(flt)
            statuses.append(r.status)
            if r.status == 429:
                limited = r
                break
        self.assertIsNotNone(limited, "no 429 in %d calls" % len(statuses))
        self.assertGreaterEqual(statuses.count(200), 10, "ten calls a second are admitted")
        body = self.assertPingOneError(limited, 429, "REQUEST_LIMITED", "LIMIT_EXCEEDED")
        self.assertTrue(limited.header("Retry-After").isdigit())
        self.assertGreaterEqual(int(limited.header("Retry-After")), 1)
        self.assertIsInstance(body["message"], str)
        self.assertEqual(self.consents(U["alice"]).status, 200, "the other endpoints are not in the group")
        c = self.sim.control("GET", "counts")[1]
        self.assertEqual((c["activities"], c["activities_limited"]), (len(statuses), 1))
        self.assertEqual(c["consents"], 1)
        deadline = time.time() + 30
        while self.acts(flt).status != 200:
            self.assertLess(time.time(), deadline, "the group never admitted a call again")
            time.sleep(0.2)
        self.sim.control("POST", "activities", {"rate_limit_per_second": 0})
        self.assertEqual({self.acts(flt).status for _ in range(30)}, {200}, "0 = no limit")

    def test_faults(self):
        flt = 'recordedat gt "%s"' % self.since

        def fault(**kw):
            self.assertEqual(self.sim.control("POST", "faults", dict(endpoint="activities", **kw))[0], 201)

        fault(type="status", status=500)
        self.assertPingOneError(self.acts(flt), 500, "UNEXPECTED_ERROR")
        fault(type="rate_limit")
        r = self.acts(flt)
        self.assertPingOneError(r, 429, "REQUEST_LIMITED", "LIMIT_EXCEEDED")
        self.assertEqual(r.header("Retry-After"), "2")
        fault(type="latency", latency_ms=300)
        t0 = time.monotonic()
        self.assertEqual(self.acts(flt).status, 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.29)
        fault(type="malformed")
        r = self.acts(flt)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.raw.startswith(b'{"_embedded": {"activities": ['))
        self.assertRaises(ValueError, json.loads, r.raw)
        fault(type="status", status=503)
        self.assertEqual(self.consents(U["alice"]).status, 200, "a fault on activities stays there")
        self.assertEqual(self.acts(flt).status, 503)

    def test_audit_role_auth_and_env(self):
        flt = 'recordedat gt "%s"' % self.since
        self.assertEqual(self.sim.control("POST", "activities", {"audit_role": False})[0], 200)
        body = self.assertPingOneError(self.acts(flt), 403, "ACCESS_FAILED", "INSUFFICIENT_PERMISSIONS")
        self.assertIn("audit", body["details"][0]["message"])
        self.assertPingOneError(self.acts(flt, method="POST"), 403, "ACCESS_FAILED")
        self.sim.control("POST", "activities", {"audit_role": True})
        self.assertEqual(self.acts(flt).status, 200)
        self.assertPingOneError(self.acts(flt, token="nope"), 401, "ACCESS_FAILED", "INVALID_TOKEN")
        r = self.sim.api("GET", "/activities?filter=" + urllib.parse.quote(flt), self.tok, env=OTHER_ENV)
        self.assertPingOneError(r, 404, "NOT_FOUND")
        r = self.sim.api("DELETE", "/activities", self.tok)
        self.assertEqual((r.status, r.header("Allow")), (405, "GET, POST"))

    def test_inject_and_retention(self):
        now = time.time()
        ctl = self.sim.control
        self.assertEqual(ctl("POST", "activities/inject", {"event": {"id": 5, "action": "nope"}})[0], 201)
        foreign = {"id": "f0reign", "recordedAt": iso(now - 60), "action": {"type": "OAUTH_CONSENT.REVOKED"},
                   "environment": {"id": OTHER_ENV},
                   "resources": [{"type": "USER", "id": U["alice"], "environment": {"id": OTHER_ENV}}]}
        self.assertEqual(ctl("POST", "activities/inject", {"event": foreign}), (201, {"injected": 1, "events": 2}))
        self.assertEqual(ctl("POST", "activities/inject", {"events": [
            "garbage", {"id": "old", "recordedAt": iso(now - 15 * 86400)},
            {"id": "13days", "recordedAt": iso(now - 13 * 86400)}, None]})[0], 201)
        self.sim.control("POST", "revoke", {"user_id": U["alice"], "application_id": APP1})
        month = 'recordedat gt "%s"' % iso(now - 30 * 86400)
        got = self.events(month)
        self.assertEqual(got[:2], [{"id": "13days", "recordedAt": iso(now - 13 * 86400)}, foreign],
                         "in time order, as injected; nothing older than 14 days")
        self.assertEqual(got[2:4], [{"id": 5, "action": "nope"}, "garbage"])
        self.assertIsNone(got[4])
        self.assertEqual(got[5]["action"]["type"], "OAUTH_CONSENT.REVOKED")
        self.assertEqual(len(got), 6)
        typed = self.events(month + ' and action.type eq "OAUTH_CONSENT.REVOKED"')
        self.assertEqual([e["id"] for e in typed], ["f0reign", got[5]["id"]], "malformed events do not match")
        by_user = self.events(month + ' and resources.id eq "%s"' % U["alice"])
        self.assertEqual(len(by_user), 2)
        for bad in ({}, {"event": 1, "events": []}, {"events": "x"}):
            self.assertEqual(ctl("POST", "activities/inject", bad)[0], 400, bad)
        self.assertEqual(ctl("POST", "activities/other", {"event": 1})[0], 404)
        self.assertEqual(ctl("DELETE", "activities"), (200, {"cleared": 6}))
        self.assertEqual(self.events(month), [])

    def test_control_settings_and_reset(self):
        self.sim.control("POST", "reset")
        status, got = self.sim.control("GET", "activities")
        self.assertEqual((status, got), (200, {"ingestion_delay_ms": 0, "rate_limit_per_second": 10,
                                               "audit_role": True, "max_page_items": 0, "events": 0,
                                               "activities": []}))
        status, got = self.sim.control("POST", "activities", {"ingestion_delay_ms": 250, "max_page_items": 3})
        self.assertEqual((status, got["ingestion_delay_ms"], got["max_page_items"], got["rate_limit_per_second"]),
                         (200, 250, 3, 10))
        for bad in ({"ingestion_delay_ms": -1}, {"rate_limit_per_second": 1.5}, {"audit_role": "no"},
                    {"max_page_items": True}, {"colour": 1}):
            self.assertEqual(self.sim.control("POST", "activities", bad)[0], 400, bad)
        self.sim.control("POST", "revoke", {"user_id": U["alice"], "application_id": APP1})
        self.assertEqual(self.sim.control("GET", "state")[1]["activities"], 1)
        self.sim.control("POST", "reset")
        got = self.sim.control("GET", "activities")[1]
        self.assertEqual((got["events"], got["ingestion_delay_ms"], got["max_page_items"]), (0, 0, 0))
        self.tok = self.sim.token()


# ----------------------------------------------------------------- webhook

class Receiver(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    got = []
    answer = (200, b"thanks", None)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.got.append((self.path, dict(self.headers), body))
        status, text, location = Receiver.answer
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, *args):
        pass


class Webhook(SimCase):
    @classmethod
    def setUpClass(cls):
        cls.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()
        cls.url = "http://127.0.0.1:%d/hook" % cls.httpd.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()

    def setUp(self):
        super().setUp()
        Receiver.got = []
        Receiver.answer = (200, b"thanks", None)

    def test_json_array(self):
        status, out = self.sim.control("POST", "webhook", {
            "url": self.url, "headers": {"Authorization": "Bearer hook-secret"}, "format": "json",
            "events": [{"type": "OAUTH_CONSENT.REVOKED", "user_id": U["alice"], "application_id": APP1,
                        "consent_id": "c0000000-0000-4000-8000-000000000001"},
                       {"type": "USER.DELETED", "user_id": U["bob"]}]})
        self.assertEqual((status, out), (200, {"status": 200, "body": "thanks"}))
        (path, headers, body), = Receiver.got
        self.assertEqual((path, headers["Authorization"], headers["Content-Type"]),
                         ("/hook", "Bearer hook-secret", "application/json"))
        events = json.loads(body)
        self.assertEqual(len(events), 2)
        e = events[0]
        for key in ("id", "recordedAt", "createdAt", "action", "actors", "resources", "result", "source",
                    "_embedded"):
            self.assertIn(key, e)
        self.assertEqual(e["action"]["type"], "OAUTH_CONSENT.REVOKED")
        self.assertEqual(e["actors"]["user"], {"id": U["alice"], "type": "USER", "name": "alice"})
        self.assertEqual(e["actors"]["client"]["type"], "CLIENT")
        self.assertEqual(e["resources"][0], {"type": "USER", "id": U["alice"], "name": "alice",
                                             "environment": {"id": ENV}, "population": {"id": POPULATION},
                                             "href": e["resources"][0]["href"]})
        self.assertEqual((e["resources"][1]["type"], e["resources"][1]["id"]),
                         ("OAUTH_CONSENT", "c0000000-0000-4000-8000-000000000001"))
        self.assertEqual(e["result"]["status"], "SUCCESS")
        self.assertEqual(events[1]["action"]["type"], "USER.DELETED")
        self.assertEqual([r["type"] for r in events[1]["resources"]], ["USER"])

    def test_ndjson_and_receiver_status(self):
        Receiver.answer = (401, b"x" * 5000, None)
        status, out = self.sim.control("POST", "webhook", {
            "url": self.url, "format": "ndjson",
            "events": [{"type": "OAUTH_CONSENT.REVOKED", "user_id": U["alice"], "application_id": APP1}] * 3})
        self.assertEqual((status, out["status"], len(out["body"])), (200, 401, 2048))
        (path, headers, body), = Receiver.got
        lines = body.decode().splitlines()
        self.assertEqual(len(lines), 3)
        self.assertEqual(json.loads(lines[0])["resources"][1]["id"], "c0000000-0000-4000-8000-000000000001")

    def test_redirect_not_followed_and_unreachable(self):
        Receiver.answer = (302, b"", self.url + "/elsewhere")
        out = self.sim.control("POST", "webhook", {"url": self.url, "events": []})[1]
        self.assertEqual(out["status"], 302)
        self.assertEqual(len(Receiver.got), 1)
        self.assertEqual(json.loads(Receiver.got[0][2]), [])
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        dead = "http://127.0.0.1:%d/" % s.getsockname()[1]
        s.close()
        self.assertEqual(self.sim.control("POST", "webhook", {"url": dead, "events": []})[1]["status"], 0)
        self.assertEqual(self.sim.control("POST", "webhook", {"url": "file:///etc/passwd"})[0], 400)


# ------------------------------------------------- other simulator options

class ShortTokens(unittest.TestCase):
    def test_token_ttl(self):
        sim = Sim("--token-ttl", "1")
        try:
            r = sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                         dict(FORM, **basic(CID, SECRET)))
            self.assertEqual(r.json["expires_in"], 1)
            tok = r.json["access_token"]
            self.assertEqual(sim.api("GET", consents_path(U["alice"]), tok).status, 200)
            time.sleep(1.1)
            r = sim.api("GET", consents_path(U["alice"]), tok)
            self.assertEqual((r.status, r.json["details"][0]["code"]), (401, "INVALID_TOKEN"))
            self.assertEqual(sim.control("GET", "tokens"), (200, {"issued": 1, "valid": 0}))
        finally:
            sim.cleanup()


class RateLimit(unittest.TestCase):
    def test_rate_limit(self):
        sim = Sim("--rate-limit", "5")
        try:
            tok = sim.token()
            statuses, limited = [], None
            for _ in range(12):
                r = sim.api("GET", "/users/" + U["alice"], tok)
                statuses.append(r.status)
                if r.status == 429:
                    limited = r
            self.assertGreaterEqual(statuses.count(429), 2, statuses)
            self.assertLessEqual(statuses.count(200), 10, statuses)
            self.assertEqual(limited.header("Retry-After"), "1")
            body = limited.json
            self.assertEqual((body["code"], body["details"][0]["code"]), ("REQUEST_LIMITED", "LIMIT_EXCEEDED"))
            for _ in range(20):
                self.assertEqual(sim.control("GET", "health")[0], 200, "control is not limited")
            self.assertEqual(sim.control("GET", "counts")[1]["user"], 12, "limited calls are counted")
            time.sleep(1.05)
            self.assertEqual(sim.api("GET", "/users/" + U["alice"], tok).status, 200)
        finally:
            sim.cleanup()


class Process(unittest.TestCase):
    def test_files_signal_and_log(self):
        sim = Sim()
        try:
            self.assertEqual(int(slurp(sim.pid_file)), sim.proc.pid)
            self.assertEqual(slurp(sim.port_file), "%d\n" % sim.port)
            tok = sim.token()
            sim.token(POST_CID, POST_SECRET, post=True)
            sim.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                     dict(FORM, **basic(CID, "not-the-secret")))
            sim.control("POST", "introspect-tokens", {"token": "introspected-token-value", "active": True})
            sim.call("POST", "/%s/as/introspect" % ENV, "token=introspected-token-value",
                     dict(FORM, **basic(CID, SECRET)))
            sim.api("GET", consents_path(U["alice"], 'application.id eq "%s"' % APP1) +
                    "&access_token=" + tok + "&client_secret=" + SECRET, tok)
            self.assertEqual(sim.stop(), 0, "SIGTERM exits cleanly")
            self.assertFalse(os.path.exists(sim.pid_file))
            self.assertFalse(os.path.exists(sim.port_file))
            log = slurp(sim.log)
            self.assertIn("GET /v1/environments/%s/users/%s/oauthConsents" % (ENV, U["alice"]), log)
            self.assertIn(" 200 consents ", log)
            self.assertIn(" 401 token ", log)
            for secret in (SECRET, POST_SECRET, "not-the-secret", tok, "introspected-token-value",
                           "Authorization", "Bearer", "Basic "):
                self.assertNotIn(secret, log)
        finally:
            sim.cleanup()

    def test_sigint_and_bad_options(self):
        sim = Sim()
        try:
            sim.proc.send_signal(signal.SIGINT)
            self.assertEqual(sim.proc.wait(5), 0)
        finally:
            sim.cleanup()
        for args in (["--port", "0", "--host", "0.0.0.0"], ["--port", "0", "--seed", "/nonexistent"]):
            p = subprocess.run([sys.executable, SIM] + args, capture_output=True, timeout=10)
            self.assertNotEqual(p.returncode, 0, args)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        try:
            p = subprocess.run([sys.executable, SIM, "--port", str(s.getsockname()[1])],
                               capture_output=True, timeout=10)
            self.assertNotEqual(p.returncode, 0, "a busy port is an error")
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main(verbosity=1)
