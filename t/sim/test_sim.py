#!/usr/bin/env python3
"""Self-test of the PingOne simulator: the API as documented in
pingone-api.md, the control API, and every fault type."""
import base64
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = "abcdef01-2345-4678-9abc-def012345678"
CID, SECRET = "c0ffee00-1111-4222-8333-444455556666", "s3cr3t-worker-secret"
POST_CID, POST_SECRET = "c0ffee00-aaaa-4bbb-8ccc-ddddeeeeffff", "post-only-secret"
APP1, APP2 = "a0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000002"
ALICE, BOB = "e0000000-0000-4000-8000-00000000a11c", "e0000000-0000-4000-8000-0000000000b0"
GRACE = "e0000000-0000-4000-8000-000000000009"


class Sim(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp()
        portfile = os.path.join(cls.tmp, "port")
        cls.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "pingone-sim"), "--port", "0", "--port-file", portfile,
             "--seed", os.path.join(HERE, "seed.json"), "--log", os.path.join(cls.tmp, "log"),
             "--token-ttl", "2"])
        for _ in range(100):
            if os.path.exists(portfile):
                break
            time.sleep(0.05)
        cls.port = int(open(portfile).read())

    @classmethod
    def tearDownClass(cls):
        cls.proc.terminate()
        cls.proc.wait()

    def setUp(self):
        self.call("POST", "/__control/reset")

    # -- helpers ---------------------------------------------------------
    def call(self, method, path, body=None, headers=None, raw=False):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        h = dict(headers or {})
        data = None
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        c.request(method, path, data, h)
        r = c.getresponse()
        payload = r.read()
        c.close()
        if raw:
            return r.status, payload, r
        return r.status, (json.loads(payload) if payload else None), r

    def token(self, cid=CID, secret=SECRET):
        auth = base64.b64encode(("%s:%s" % (cid, secret)).encode()).decode()
        st, body, _ = self.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                                {"Authorization": "Basic " + auth,
                                 "Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, body)
        return body["access_token"]

    def api(self, method, path, token=None, **kw):
        h = kw.pop("headers", {})
        h["Authorization"] = "Bearer " + (token or self.token())
        return self.call(method, "/v1/environments/%s%s" % (ENV, path), headers=h, **kw)

    def consents(self, user, flt=None, token=None):
        q = "?expand=applications"
        if flt:
            q += "&filter=" + urllib.parse.quote(flt)
        return self.api("GET", "/users/%s/oauthConsents%s" % (user, q), token)

    # -- token endpoint --------------------------------------------------
    def test_token_basic_and_post(self):
        self.assertTrue(self.token())
        st, body, _ = self.call("POST", "/%s/as/token" % ENV,
                                "grant_type=client_credentials&client_id=%s&client_secret=%s" % (POST_CID, POST_SECRET),
                                {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertEqual(body["expires_in"], 2)

    def test_token_refusals(self):
        auth = base64.b64encode(("%s:wrong" % CID).encode()).decode()
        st, body, _ = self.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                                {"Authorization": "Basic " + auth})
        self.assertEqual((st, body["error"]), (401, "invalid_client"))
        auth = base64.b64encode(("%s:%s" % (POST_CID, POST_SECRET)).encode()).decode()
        st, body, _ = self.call("POST", "/%s/as/token" % ENV, "grant_type=client_credentials",
                                {"Authorization": "Basic " + auth})
        self.assertEqual(st, 401, "a post-only client may not use Basic")
        st, body, _ = self.call("POST", "/%s/as/token" % ENV, "grant_type=password",
                                {"Authorization": "Basic " + auth})
        self.assertEqual((st, body["error"]), (400, "unsupported_grant_type"))
        st, body, _ = self.call("POST", "/00000000-0000-4000-8000-000000000000/as/token", "grant_type=client_credentials")
        self.assertEqual((st, body["code"]), (404, "NOT_FOUND"))

    def test_token_expiry(self):
        tok = self.token()
        self.assertEqual(self.consents(ALICE, token=tok)[0], 200)
        time.sleep(2.1)
        st, body, _ = self.consents(ALICE, token=tok)
        self.assertEqual(st, 401)
        self.assertEqual(body["details"][0]["code"], "INVALID_TOKEN")

    # -- consents --------------------------------------------------------
    def test_consents_filters_and_expand(self):
        st, body, _ = self.consents(ALICE, 'application.id eq "%s"' % APP1)
        self.assertEqual(st, 200)
        items = body["_embedded"]["oauthConsents"]
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["status"], "ACCEPTED")
        self.assertEqual(items[0]["scope"], ["openid", "profile", "email"])
        self.assertEqual(items[0]["application"]["name"], "Web Portal")
        st, body, _ = self.consents(GRACE, 'application.name eq "Reports \\"Beta\\""')
        self.assertEqual(len(body["_embedded"]["oauthConsents"]), 1)
        st, body, _ = self.consents(ALICE, 'application.id eq "%s"' % APP2)
        self.assertEqual(body["_embedded"]["oauthConsents"], [])
        st, body, _ = self.consents(ALICE, 'application.name eq "unterminated')
        self.assertEqual((st, body["details"][0]["code"]), (400, "INVALID_FILTER"))
        st, body, _ = self.consents("e0000000-0000-4000-8000-00000000dead")
        self.assertEqual((st, body["code"]), (404, "NOT_FOUND"))

    def test_read_revoke_accept(self):
        tok = self.token()
        cid = self.consents(ALICE, token=tok)[1]["_embedded"]["oauthConsents"][0]["id"]
        st, one, _ = self.api("GET", "/users/%s/oauthConsents/%s?expand=applications" % (ALICE, cid), tok)
        self.assertEqual((st, one["id"]), (200, cid))
        st, _, _ = self.api("PATCH", "/users/%s/oauthConsents/%s" % (ALICE, cid), tok, body={"status": "REVOKED"})
        self.assertEqual(st, 400, "wrong content type refused")
        st, one, _ = self.api("PATCH", "/users/%s/oauthConsents/%s" % (ALICE, cid), tok,
                              body={"status": "REVOKED"},
                              headers={"Content-Type": "application/vnd.pingidentity.consent.revoke+json"})
        self.assertEqual((st, one["status"]), (200, "REVOKED"))
        st, new, _ = self.api("POST", "/users/%s/oauthConsents" % ALICE, tok,
                              body={"application": {"id": APP1}, "scope": ["openid"]},
                              headers={"Content-Type": "application/vnd.pingidentity.consent.accept+json"})
        self.assertEqual((st, new["status"]), (201, "ACCEPTED"))

    def test_users_filter(self):
        st, body, _ = self.api("GET", "/users?filter=" + urllib.parse.quote('username eq "ALICE"'))
        self.assertEqual([u["id"] for u in body["_embedded"]["users"]], [ALICE])
        st, body, _ = self.api("GET", "/users?filter=" + urllib.parse.quote('username eq "x\\" or \\"1"'))
        self.assertEqual((st, body["_embedded"]["users"]), (200, []))
        st, body, _ = self.api("GET", "/users?filter=" + urllib.parse.quote('username co "a"'))
        self.assertEqual(st, 400)

    # -- jobs ------------------------------------------------------------
    def test_jobs(self):
        st, body, _ = self.call("POST", "/__control/jobs", {"id": "j1", "statuses": ["IN_PROGRESS", "FAILED"],
                                                            "reason": "device offline"})
        tok = self.token()
        self.assertEqual(self.api("GET", "/oathJobs/j1", tok)[1]["status"], "IN_PROGRESS")
        body = self.api("GET", "/oathJobs/j1", tok)[1]
        self.assertEqual((body["status"], body["reason"]), ("FAILED", "device offline"))
        st, job, _ = self.api("POST", "/oathJobs", tok,
                              body={"type": "REVOKE_OATH_TOKENS", "async": True, "forceUnpair": False,
                                    "tokenIds": ["a", "b", "c"]},
                              headers={"Content-Type": "application/vnd.pingidentity.job.oathtokens.revoke+json"})
        self.assertEqual(st, 202)
        for _ in range(3):
            body = self.api("GET", "/oathJobs/" + job["id"], tok)[1]
        self.assertEqual((body["status"], body["result"]["revoked"]), ("DONE", 3))

    # -- control and faults ----------------------------------------------
    def test_control_consents_revoke_counts(self):
        self.call("POST", "/__control/reset-counts")
        self.call("POST", "/__control/consents", {"user_id": BOB, "application_id": APP1, "scope": ["openid"]})
        self.assertEqual(self.consents(BOB)[1]["_embedded"]["oauthConsents"][0]["status"], "ACCEPTED")
        self.assertEqual(self.call("POST", "/__control/revoke", {"user_id": BOB, "application_id": APP1})[1]["revoked"], 1)
        self.assertEqual(self.consents(BOB)[1]["_embedded"]["oauthConsents"][0]["status"], "REVOKED")
        counts = self.call("GET", "/__control/counts")[1]
        self.assertEqual((counts["consents"], counts["token"], counts["by_user"][BOB]), (2, 2, 2))

    def test_faults(self):
        tok = self.token()
        f = lambda **kw: self.call("POST", "/__control/faults", dict(endpoint="consents", **kw))
        f(type="status", status=503, retry_after="9")
        st, body, r = self.consents(ALICE, token=tok)
        self.assertEqual((st, body["code"], r.getheader("Retry-After")), (503, "UNEXPECTED_ERROR", "9"))
        f(type="rate_limit", retry_after="3")
        st, body, r = self.consents(ALICE, token=tok)
        self.assertEqual((st, r.getheader("Retry-After")), (429, "3"))
        f(type="malformed")
        st, raw, _ = self.api("GET", "/users/%s/oauthConsents" % ALICE, tok, raw=True)
        self.assertRaises(ValueError, json.loads, raw)
        f(type="invalid_token")
        self.assertEqual(self.consents(ALICE, token=tok)[0], 401)
        f(type="body", body='{"scope":"x"}')
        self.assertEqual(self.api("GET", "/users/%s/oauthConsents" % ALICE, tok, raw=True)[1], b'{"scope":"x"}')
        f(type="redirect", location="http://127.0.0.2:9/")
        st, _, r = self.consents(ALICE, token=tok)
        self.assertEqual((st, r.getheader("Location")), (302, "http://127.0.0.2:9/"))
        f(type="huge", size=100000)
        self.assertGreaterEqual(len(self.api("GET", "/users/%s/oauthConsents" % ALICE, tok, raw=True)[1]), 99000)
        f(type="latency", latency_ms=300)
        t0 = time.time()
        self.assertEqual(self.consents(ALICE, token=tok)[0], 200)
        self.assertGreaterEqual(time.time() - t0, 0.29)
        for kind in ("truncated", "reset"):
            f(type=kind)
            with self.assertRaises((http.client.HTTPException, ConnectionError, socket.error)):
                self.api("GET", "/users/%s/oauthConsents" % ALICE, tok, raw=True)
        self.assertEqual(self.consents(ALICE, token=tok)[0], 200, "faults are used up")
        f(type="status", status=500, count=-1)
        self.assertEqual(self.consents(ALICE, token=tok)[0], 500)
        self.assertEqual(self.consents(ALICE, token=tok)[0], 500)
        self.call("DELETE", "/__control/faults")
        self.assertEqual(self.consents(ALICE, token=tok)[0], 200)

    def test_expire_tokens(self):
        tok = self.token()
        self.call("POST", "/__control/expire-tokens")
        self.assertEqual(self.consents(ALICE, token=tok)[0], 401)


if __name__ == "__main__":
    unittest.main(verbosity=1)
