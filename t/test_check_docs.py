#!/usr/bin/env python3
"""Self-test of tools/check-docs.py: small source trees in temporary
directories, in step and drifted in each direction."""

import contextlib
import importlib.util
import io
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(os.path.dirname(HERE), "tools", "check-docs.py")

spec = importlib.util.spec_from_file_location("check_docs", CHECKER)
check_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_docs)

# A tree in step: three directives in two contexts, three log tags (one in
# the core), one tag that appears in a comment only.
TREE = {
    "mod_pingone_consent.c": """\
        /* the module struct; PC09999 in a comment is not a log tag */
        #include "pc_apache.h"
        """,
    "apache/pc_config.c": """\
        static const char *s = "// not a comment";
        const command_rec pc_cmds[] = {
            AP_INIT_TAKE1("PingOneEnvironmentID", set_env_id, NULL, RSRC_CONF,
                          "environment, \\"UUID\\""),
            AP_INIT_FLAG("PingOneConsent", set_consent, NULL, OR_AUTHCFG,
                         "check consent here"),
            AP_INIT_TAKE1("PingOneWebhookAuthorization", set_auth, NULL,
                          ACCESS_CONF | RSRC_CONF, "webhook header"),
            {NULL}};
        void f(void) { ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "PC00001: %s", err); }
        """,
    "apache/pc_access.c": """\
        // PC08888 only in a line comment
        void g(void) { ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "PC00110: denied"); }
        """,
    "src/pc_client.c": """\
        static void h(void) { logf_(c, 7, p, "PC00120: obtained a token"); }
        """,
    "docs/reference.md": """\
        # Reference

        ## Directives

        #### PingOneEnvironmentID

        - **Syntax:** `PingOneEnvironmentID <uuid>`
        - **Default:** none
        - **Context:** server config, virtual host

        #### PingOneConsent

        - **Syntax:** `PingOneConsent On|Off`
        - **Default:** `Off`
        - **Context:** directory, .htaccess
        - **Override:** AuthConfig

        #### PingOneWebhookAuthorization

        - **Syntax:** `PingOneWebhookAuthorization "<value>"`
        - **Default:** none
        - **Context:** server config, virtual host, directory

        ## Handlers

        ```apache
        # PingOneConsent
        ```
        """,
    "docs/troubleshooting.md": """\
        # Troubleshooting

        | Tag | Level | Meaning |
        |---|---|---|
        | PC00001 | emerg | configuration mistake |
        | PC00110 | info | consent denied |
        | PC00120 | debug | a worker token was obtained |

        See [the reference](reference.md#pingoneconsent) and [`PingOneConsent`](reference.md#pingoneconsent).
        """,
    "conf/pingone_consent.conf": """\
        PingOneEnvironmentID abcdef01-2345-4678-9abc-def012345678
        #PingOneWebhookAuthorization "Bearer 0123456789abcdef"
        <Location /app>
            PingOneConsent On
        </Location>
        """,
    "docs/architecture.md": """\
        # Architecture

        | file | holds |
        |---|---|
        | `pc_client.c/.h` | the PingOne client |
        | `../mod_pingone_consent.c` | the module record |
        | `pc_config.c` | the command table |
        | `pc_access.c` | the access hooks |
        """,
    "src/pc_client.h": """\
        int pc_client(void);
        """,
    "README.md": """\
        # mod_pingone_consent

        Read the [reference](docs/reference.md), [tags](docs/troubleshooting.md#troubleshooting),
        the [sample](conf/pingone_consent.conf) and [PingOne](https://www.pingidentity.com/).
        """,
}


class Tree:
    """A temporary source tree made from TREE plus changes."""

    def __init__(self, changes=None, remove=()):
        self.root = tempfile.mkdtemp(prefix="check-docs-test.")
        files = dict(TREE)
        files.update(changes or {})
        for rel, text in files.items():
            if rel in remove:
                continue
            path = os.path.join(self.root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                f.write(textwrap.dedent(text))

    def edit(self, rel, old, new):
        path = os.path.join(self.root, rel)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if old not in text:
            raise AssertionError("%r not in %s" % (old, rel))
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.replace(old, new, 1))

    def problems(self):
        """{check's first word: [str(problem)]}"""
        return {name.split(":")[0]: [str(p) for p in probs]
                for name, probs in check_docs.run_checks(self.root)}

    def run(self, *args):
        return subprocess.run([sys.executable, CHECKER, "--root", self.root] + list(args),
                              capture_output=True, text=True, timeout=60)

    def close(self):
        shutil.rmtree(self.root)


class CheckDocsTest(unittest.TestCase):

    def tree(self, **kw):
        t = Tree(**kw)
        self.addCleanup(t.close)
        return t

    def assertOnly(self, tree, check, *needles):
        """Exactly `check` fails, with problems mentioning every needle."""
        probs = tree.problems()
        failing = sorted(k for k, v in probs.items() if v)
        self.assertEqual(failing, [check], probs)
        text = "\n".join(probs[check])
        for n in needles:
            self.assertIn(n, text)

    # --- in step ----------------------------------------------------------

    def test_in_step_passes(self):
        t = self.tree()
        self.assertEqual({k: v for k, v in t.problems().items() if v}, {})
        r = t.run()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("3 directives, 3 log tags", r.stdout)

    def test_command_table_may_move(self):
        # The restructure may move the table to another file, even a subdirectory.
        text = textwrap.dedent(TREE["apache/pc_config.c"])
        table = text[text.index("const command_rec"):text.index("{NULL}};") + len("{NULL}};")]
        t = self.tree(changes={
            "apache/pc_config.c": 'void f(void) { log("PC00001: %s", err); }\n',
            "apache/config/pc_cmds.c": table + "\n"})
        self.assertEqual({k: v for k, v in t.problems().items() if v}, {})
        found = check_docs.registered_directives(t.root)[0]
        self.assertEqual(found["PingOneConsent"][0], "apache/config/pc_cmds.c")

    # --- directives -------------------------------------------------------

    def test_registered_but_undocumented(self):
        t = self.tree()
        t.edit("apache/pc_config.c", "{NULL}};",
               'AP_INIT_TAKE1("PingOneRegion", set_region, NULL, RSRC_CONF, "region"),\n{NULL}};')
        self.assertOnly(t, "directives", "PingOneRegion is registered here",
                        "apache/pc_config.c:9", "docs/reference.md has no '#### PingOneRegion'")
        r = t.run()
        self.assertEqual(r.returncode, 1)
        self.assertIn("PingOneRegion", r.stderr)

    def test_documented_but_not_registered(self):
        t = self.tree()
        t.edit("docs/reference.md", "## Handlers",
               "#### PingOneGone\n\n- **Syntax:** `PingOneGone x`\n- **Default:** none\n"
               "- **Context:** server config\n\n## Handlers")
        probs = t.problems()
        self.assertIn("docs/reference.md:24: directive PingOneGone is documented but no command "
                      "table registers it", "\n".join(probs["directives"]))
        # Its name in the syntax line is a stale mention as well.
        self.assertIn("PingOneGone is not a directive", "\n".join(probs["mentions"]))

    def test_field_lines_required(self):
        t = self.tree()
        t.edit("docs/reference.md", "- **Default:** `Off`\n", "")
        self.assertOnly(t, "directives", "PingOneConsent has no '- **Default:** ...' line")
        t = self.tree()
        t.edit("docs/reference.md", "`PingOneConsent On|Off`", "`On|Off`")
        self.assertOnly(t, "directives", "the syntax of PingOneConsent does not start with")

    def test_no_command_table_found(self):
        t = self.tree()
        t.edit("apache/pc_config.c", "AP_INIT_TAKE1(\"PingOneEnvironmentID\"", "X(\"PingOneEnvironmentID\"")
        t.edit("apache/pc_config.c", "AP_INIT_FLAG(", "X(")
        t.edit("apache/pc_config.c", "AP_INIT_TAKE1(\"PingOneWebhook", "X(\"PingOneWebhook")
        probs = t.problems()
        self.assertIn("cannot see the directives", "\n".join(probs["directives"]))

    def test_commented_out_entry_does_not_count(self):
        t = self.tree()
        t.edit("apache/pc_config.c", "{NULL}};",
               '/* AP_INIT_TAKE1("PingOneOld", set_old, NULL, RSRC_CONF, "old"), */\n{NULL}};')
        self.assertEqual({k: v for k, v in t.problems().items() if v}, {})

    # --- contexts ---------------------------------------------------------

    def test_context_wider_than_code(self):
        t = self.tree()
        t.edit("docs/reference.md", "- **Context:** server config, virtual host\n",
               "- **Context:** server config, virtual host, directory\n")
        self.assertOnly(t, "contexts", "PingOneEnvironmentID: documented in 'directory'",
                        "RSRC_CONF")

    def test_context_narrower_than_code(self):
        t = self.tree()
        t.edit("docs/reference.md", "- **Context:** directory, .htaccess",
               "- **Context:** directory")
        self.assertOnly(t, "contexts", "PingOneConsent: the code allows it in '.htaccess'")

    def test_code_flags_change(self):
        t = self.tree()
        t.edit("apache/pc_config.c", "ACCESS_CONF | RSRC_CONF", "RSRC_CONF")
        self.assertOnly(t, "contexts", "PingOneWebhookAuthorization: documented in 'directory'")

    def test_override_must_match(self):
        t = self.tree()
        t.edit("docs/reference.md", "- **Override:** AuthConfig\n", "")
        self.assertOnly(t, "contexts", "PingOneConsent: Override '' does not match the code's "
                        "'AuthConfig'")
        t = self.tree()
        t.edit("docs/reference.md", "- **Override:** AuthConfig", "- **Override:** Options")
        self.assertOnly(t, "contexts", "Override 'Options'")

    def test_unknown_context_word(self):
        t = self.tree()
        t.edit("docs/reference.md", "- **Context:** server config, virtual host\n",
               "- **Context:** server config, vhost\n")
        self.assertOnly(t, "contexts", "context 'vhost' is not one of")

    def test_global_only_may_leave_out_virtual_host(self):
        t = self.tree()
        t.edit("docs/reference.md", "- **Context:** server config, virtual host\n",
               "- **Context:** server config\n")
        self.assertEqual({k: v for k, v in t.problems().items() if v}, {})

    # --- sample config ----------------------------------------------------

    def test_sample_config_unknown_directive(self):
        t = self.tree()
        t.edit("conf/pingone_consent.conf", "    PingOneConsent On",
               "    PingOneConsent On\n    PingOneConsentScopez openid")
        self.assertOnly(t, "sample-config", "conf/pingone_consent.conf:5",
                        "PingOneConsentScopez is not a directive")

    def test_sample_config_commented_example_counts(self):
        t = self.tree()
        t.edit("conf/pingone_consent.conf", "#PingOneWebhookAuthorization",
               "#PingOneWebhookAuth")
        self.assertOnly(t, "sample-config", "PingOneWebhookAuth is not a directive")

    # --- log tags ---------------------------------------------------------

    def test_tag_in_code_without_row(self):
        t = self.tree()
        t.edit("src/pc_client.c", "}", ' logf_(c, 3, p, "PC00124: several users"); }')
        self.assertOnly(t, "log-tags", "src/pc_client.c:1", "log tag PC00124 is used here but has "
                        "no row in the table of docs/troubleshooting.md")

    def test_row_without_tag_in_code(self):
        t = self.tree()
        t.edit("docs/troubleshooting.md", "| PC00110 |", "| PC00100 | debug | old |\n| PC00110 |")
        probs = t.problems()
        self.assertIn("docs/troubleshooting.md:6: log tag PC00100 has a row but occurs nowhere in "
                      "the code", "\n".join(probs["log-tags"]))
        # The same tag is a stale mention too.
        self.assertIn("log tag PC00100 occurs nowhere in the code", "\n".join(probs["mentions"]))

    def test_source_file_without_row(self):
        t = self.tree(changes={"apache/pc_new.c": "void n(void) {}\n"})
        self.assertOnly(t, "files", "docs/architecture.md", "pc_new.c has no row in the file tables")

    def test_doc_names_a_file_that_is_gone(self):
        t = self.tree()
        t.edit("docs/troubleshooting.md", "See [the", "The cache is in `pc_l1.c/.h`. See [the")
        self.assertOnly(t, "files", "docs/troubleshooting.md:9", "names pc_l1.c, which is not in src or apache",
                        "names pc_l1.h")

    def test_row_for_a_header_pair_needs_both(self):
        t = self.tree(remove=("src/pc_client.h",))
        self.assertOnly(t, "files", "docs/architecture.md:5: names pc_client.h")

    def test_tag_in_comment_only(self):
        t = self.tree()
        self.assertNotIn("PC09999", check_docs.code_tags(t.root))
        self.assertNotIn("PC08888", check_docs.code_tags(t.root))
        t.edit("docs/troubleshooting.md", "| PC00120 |", "| PC09999 | debug | x |\n| PC00120 |")
        self.assertIn("PC09999 has a row but occurs nowhere", "\n".join(t.problems()["log-tags"]))

    def test_range_row_refused(self):
        for row in ("| PC00110…112 | info | several |", "| PC00110/111 | info | two |",
                    "| PC0011 | info | short |"):
            t = self.tree()
            t.edit("docs/troubleshooting.md", "| PC00110 | info | consent denied |", row)
            probs = t.problems()
            text = "\n".join(probs["log-tags"])
            self.assertIn("one row per tag", text, row)
            self.assertIn("PC00110 is used here but has no row", text, row)

    def test_duplicate_row_and_bad_level(self):
        t = self.tree()
        t.edit("docs/troubleshooting.md", "| PC00120 | debug |", "| PC00120 | debug | a |\n| PC00120 | verbose |")
        text = "\n".join(t.problems()["log-tags"])
        self.assertIn("log tag PC00120 has two rows", text)
        t = self.tree()
        t.edit("docs/troubleshooting.md", "| PC00120 | debug |", "| PC00120 | verbose |")
        self.assertOnly(t, "log-tags", "level 'verbose' is not one of")

    def test_tag_split_across_strings_not_needed(self):
        # A tag in a string that continues on the next line still counts.
        t = self.tree()
        t.edit("src/pc_client.c", '"PC00120: obtained a token"', '"PC00120: obtained "\n "a token"')
        self.assertEqual({k: v for k, v in t.problems().items() if v}, {})

    # --- mentions and links -----------------------------------------------

    def test_stale_directive_in_prose(self):
        t = self.tree()
        t.edit("README.md", "Read the", "Set PingOneCacheTTL. Read the")
        self.assertOnly(t, "mentions", "README.md:3: PingOneCacheTTL is not a directive")

    def test_broken_file_link(self):
        t = self.tree()
        t.edit("README.md", "docs/reference.md)", "docs/referance.md)")
        self.assertOnly(t, "links", "README.md:3: link 'docs/referance.md': docs/referance.md "
                        "does not exist")

    def test_broken_anchor(self):
        t = self.tree()
        t.edit("docs/troubleshooting.md", "(reference.md#pingoneconsent)",
               "(reference.md#pingoneconsentcache)")
        self.assertOnly(t, "links", "docs/reference.md has no heading with anchor "
                        "#pingoneconsentcache")

    def test_same_file_anchor_and_link_out_of_tree(self):
        t = self.tree()
        t.edit("README.md", "Read the", "[top](#mod_pingone_consent) [x](#nowhere) [up](../x.md)")
        text = "\n".join(t.problems()["links"])
        self.assertNotIn("#mod_pingone_consent", text)
        self.assertIn("has no heading with anchor #nowhere", text)
        self.assertIn("link '../x.md' leaves the tree", text)

    def test_links_in_code_are_not_links(self):
        t = self.tree()
        t.edit("README.md", "Read the", "`[a](nowhere.md)` Read the")
        t.edit("docs/reference.md", "\n# PingOneConsent\n", "\n[b](nowhere.md)\n")
        self.assertEqual({k: v for k, v in t.problems().items() if v}, {})

    def test_slug(self):
        self.assertEqual(check_docs.slug("Revocation: webhook and admin endpoint"),
                         "revocation-webhook-and-admin-endpoint")
        self.assertEqual(check_docs.slug("make bench: ungated, PingOneConsent, mod_oauth2"),
                         "make-bench-ungated-pingoneconsent-mod_oauth2")
        self.assertEqual(check_docs.slug("`Require pingone-consent`"), "require-pingone-consent")

    # --- output -----------------------------------------------------------

    def test_tap_output(self):
        t = self.tree()
        r = t.run("--tap")
        self.assertEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith("1..%d\n" % len(check_docs.CHECKS)), r.stdout)
        self.assertNotIn("not ok", r.stdout)
        t.edit("docs/troubleshooting.md", "| PC00001 | emerg | configuration mistake |\n", "")
        r = t.run("--tap")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not ok 4 - log-tags", r.stdout)
        self.assertIn("# apache/pc_config.c:10: log tag PC00001 is used here", r.stderr)

    def test_main_in_process(self):
        t = self.tree()
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(check_docs.main(["--root", t.root]), 0)
        self.assertIn("docs and code agree", out.getvalue())


if __name__ == "__main__":
    unittest.main(verbosity=2)
