#!/usr/bin/env python3
"""check-docs: the documentation against the code (run by `make test-docs`).

    python3 tools/check-docs.py [--root DIR] [--tap]

Checks, each failing with the file and line of what drifted:

  directives    every directive in a command table (AP_INIT_<KIND>("Name", ...)
                in mod_pingone_consent.c or apache/) has a "#### Name" heading in
                docs/reference.md, and every such heading names a registered one
  contexts      each directive's "- **Context:**" and "- **Override:**" lines
                agree with the flags of its command table entry
  sample-config every PingOne... directive named in conf/pingone_consent.conf exists
  log-tags      every PCnnnnn in the code (src/, apache/, mod_pingone_consent.c;
                comments do not count) has exactly one row in the table of
                docs/troubleshooting.md, and every row's tag is in the code
  mentions      every PingOne... directive and PCnnnnn tag named anywhere in
                README.md or docs/ exists in the code
  links         every relative link in README.md and docs/ reaches an existing
                file, and its #anchor an existing heading
  files         every C source of src/ and apache/ has a row in the file tables
                of docs/architecture.md, and every pc_*.c / pc_*.h named in
                README.md or docs/ exists

Exit status 0 when everything agrees, 1 otherwise.  --tap prints one TAP test
per check (for prove; the problems go to stderr).  Python 3 standard library only.
"""

import argparse
import os
import re
import sys

REFERENCE = "docs/reference.md"
TAG_TABLE = "docs/troubleshooting.md"
SAMPLE_CONF = "conf/pingone_consent.conf"
ARCHITECTURE = "docs/architecture.md"
GLUE_DIRS = ("apache",)
GLUE_FILES = ("mod_pingone_consent.c",)
CORE_DIRS = ("src",)

LEVELS = ("emerg", "alert", "crit", "error", "warn", "notice", "info", "debug")
CONTEXTS = ("server config", "virtual host", "directory", ".htaccess")
# AllowOverride class of each OR_* flag.
OVERRIDES = {"OR_AUTHCFG": "AuthConfig", "OR_LIMIT": "Limit", "OR_OPTIONS": "Options",
             "OR_FILEINFO": "FileInfo", "OR_INDEXES": "Indexes"}

DIRECTIVE_RE = re.compile(r"\bPingOne[A-Z][A-Za-z0-9]*\b")
TAG_RE = re.compile(r"\bPC[0-9]{5}\b")
AP_INIT_RE = re.compile(
    r"\bAP_INIT_([A-Z0-9_]+)\s*\(\s*\"([^\"]+)\"\s*,\s*([^,]+?)\s*,\s*([^,]+?)\s*,\s*([^,]+?)\s*,",
    re.S)
HEADING_RE = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
DIRECTIVE_HEADING_RE = re.compile(r"^`?(PingOne[A-Za-z0-9]*)`?$")
FIELD_RE = re.compile(r"^- \*\*(Syntax|Default|Context|Override):\*\*\s*(.*?)\s*$")
FENCE_RE = re.compile(r"^\s*(```|~~~)")
LINK_RE = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFDEF_RE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
INLINE_CODE_RE = re.compile(r"(`+)(.+?)\1")
SOURCE_NAME_RE = re.compile(r"\b(pc_[a-z0-9_]+)\.(c/\.h|c|h)\b")
FILE_ROW_RE = re.compile(r"^\|\s*`(?:\.\./)?([a-z0-9_]+)\.(?:c/\.h|c|h)`\s*\|")


class Problem:
    """One disagreement: where, and what."""

    def __init__(self, path, line, message):
        self.path, self.line, self.message = path, line, message

    def __str__(self):
        where = self.path if self.line is None else "%s:%d" % (self.path, self.line)
        return "%s: %s" % (where, self.message)


# ------------------------------------------------------------------ reading

def read(root, rel):
    with open(os.path.join(root, rel), encoding="utf-8") as f:
        return f.read()


def files_under(root, dirs, files, exts):
    """Relative paths of the named files and of every file with one of exts
    below the named directories, sorted."""
    out = [f for f in files if os.path.isfile(os.path.join(root, f))]
    for d in dirs:
        for base, subdirs, names in os.walk(os.path.join(root, d)):
            subdirs.sort()
            for n in sorted(names):
                if n.endswith(exts):
                    out.append(os.path.relpath(os.path.join(base, n), root))
    return sorted(out)


def markdown_files(root):
    return files_under(root, ("docs",), ("README.md",), (".md",))


def strip_c_comments(text):
    """The C text with every comment blanked out (newlines kept, so line
    numbers stay right); string and character literals are kept."""
    out, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            out.append(" " * (end - i))
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def line_of(text, pos):
    return text.count("\n", 0, pos) + 1


def markdown_lines(text):
    """(line number, line) of a Markdown text outside fenced code blocks."""
    fenced = False
    for no, line in enumerate(text.split("\n"), 1):
        if FENCE_RE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            yield no, line


# ---------------------------------------------------------- the code's side

def registered_directives(root):
    """{name: (file, line, flag words)} from every AP_INIT_* entry, and the
    problems met while reading them."""
    found, problems = {}, []
    sources = files_under(root, GLUE_DIRS, GLUE_FILES, (".c",))
    for rel in sources:
        text = strip_c_comments(read(root, rel))
        for m in AP_INIT_RE.finditer(text):
            name, flags = m.group(2), re.findall(r"[A-Z_]+", m.group(5))
            line = line_of(text, m.start())
            if name in found:
                problems.append(Problem(rel, line, "directive %s is registered twice (also %s:%d)"
                                        % (name, found[name][0], found[name][1])))
                continue
            found[name] = (rel, line, flags)
    if not found:
        problems.append(Problem(", ".join(sources) or "mod_pingone_consent.c, apache/", None,
                                "no AP_INIT_<KIND>(\"Name\", ...) command table entry found: "
                                "the checker cannot see the directives"))
    return found, problems


def code_tags(root):
    """{tag: (file, line) of its first use} outside comments."""
    found = {}
    for rel in files_under(root, CORE_DIRS + GLUE_DIRS, GLUE_FILES, (".c", ".h")):
        text = strip_c_comments(read(root, rel))
        for m in TAG_RE.finditer(text):
            found.setdefault(m.group(0), (rel, line_of(text, m.start())))
    return found


def flag_contexts(flags):
    """(permitted, required, overrides, unknown flag words) for the flags of
    a command table entry.  RSRC_CONF permits the server config and virtual
    hosts and requires the server config (a setter may refuse virtual hosts
    with GLOBAL_ONLY); ACCESS_CONF is directory sections; an OR_* flag is
    directory sections and .htaccess, and the server config too unless it is
    OR_AUTHCFG or OR_LIMIT (httpd's rule for the main config)."""
    permitted, required, overrides, unknown = set(), set(), set(), []
    for f in flags:
        if f == "RSRC_CONF":
            permitted |= {"server config", "virtual host"}
            required.add("server config")
        elif f == "ACCESS_CONF":
            permitted.add("directory")
            required.add("directory")
        elif f == "OR_ALL":
            permitted |= set(CONTEXTS)
            required |= {"directory", ".htaccess"}
            overrides |= set(OVERRIDES.values())
        elif f in OVERRIDES:
            permitted |= {"directory", ".htaccess"}
            required |= {"directory", ".htaccess"}
            if f not in ("OR_AUTHCFG", "OR_LIMIT"):
                permitted |= {"server config", "virtual host"}
            overrides.add(OVERRIDES[f])
        elif f in ("OR_NONE", "EXEC_ON_READ") or f.startswith("NONFATAL_"):
            pass
        else:
            unknown.append(f)
    return permitted, required, overrides, unknown


# ---------------------------------------------------------- the docs' side

def documented_directives(root):
    """{name: {"line": n, field: (line, value)}} from the '#### Name'
    headings of the reference, and the problems met while reading them."""
    docs, problems, current = {}, [], None
    if not os.path.isfile(os.path.join(root, REFERENCE)):
        return docs, [Problem(REFERENCE, None, "missing: the directive reference")]
    for no, line in markdown_lines(read(root, REFERENCE)):
        h = HEADING_RE.match(line)
        if h:
            d = DIRECTIVE_HEADING_RE.match(h.group(2))
            current = None
            if d:
                name = d.group(1)
                if name in docs:
                    problems.append(Problem(REFERENCE, no, "directive %s has two headings "
                                            "(also line %d)" % (name, docs[name]["line"])))
                else:
                    current = docs[name] = {"line": no}
            continue
        f = FIELD_RE.match(line)
        if current is not None and f:
            current.setdefault(f.group(1), (no, f.group(2)))
    for name, d in sorted(docs.items()):
        for field in ("Syntax", "Default", "Context"):
            if field not in d:
                problems.append(Problem(REFERENCE, d["line"], "directive %s has no "
                                        "'- **%s:** ...' line under its heading" % (name, field)))
        if "Syntax" in d and not d["Syntax"][1].startswith("`" + name + "`") \
                and not d["Syntax"][1].startswith("`" + name + " "):
            problems.append(Problem(REFERENCE, d["Syntax"][0], "the syntax of %s does not "
                                    "start with `%s" % (name, name)))
    return docs, problems


def documented_tags(root):
    """{tag: line} from the table rows of the troubleshooting page, and the
    problems met while reading them."""
    rows, problems = {}, []
    if not os.path.isfile(os.path.join(root, TAG_TABLE)):
        return rows, [Problem(TAG_TABLE, None, "missing: the log tag table")]
    for no, line in markdown_lines(read(root, TAG_TABLE)):
        if not line.lstrip().startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        first = cells[0].strip("`* ")
        if not re.search(r"PC[0-9]", first):
            continue
        if not re.fullmatch(r"PC[0-9]{5}", first):
            problems.append(Problem(TAG_TABLE, no, "row '%s': one row per tag, written PCnnnnn "
                                    "(no ranges, no two tags in one row)" % cells[0]))
            continue
        if first in rows:
            problems.append(Problem(TAG_TABLE, no, "log tag %s has two rows (also line %d)"
                                    % (first, rows[first])))
            continue
        rows[first] = no
        if len(cells) < 3 or not cells[2]:
            problems.append(Problem(TAG_TABLE, no, "log tag %s: the row needs "
                                    "| tag | level | meaning |" % first))
        elif cells[1].strip("`") not in LEVELS:
            problems.append(Problem(TAG_TABLE, no, "log tag %s: level '%s' is not one of %s"
                                    % (first, cells[1], ", ".join(LEVELS))))
    if not rows and not problems:
        problems.append(Problem(TAG_TABLE, None, "no '| PCnnnnn | level | meaning |' row found"))
    return rows, problems


# ------------------------------------------------------------------ checks

def check_directives(root):
    code, problems = registered_directives(root)
    docs, doc_problems = documented_directives(root)
    problems += doc_problems
    for name, (rel, line, _) in sorted(code.items()):
        if name not in docs:
            problems.append(Problem(rel, line, "directive %s is registered here but %s has no "
                                    "'#### %s' heading" % (name, REFERENCE, name)))
    for name, d in sorted(docs.items()):
        if code and name not in code:
            problems.append(Problem(REFERENCE, d["line"], "directive %s is documented but no "
                                    "command table registers it (AP_INIT_* in %s, %s/)"
                                    % (name, ", ".join(GLUE_FILES), "/, ".join(GLUE_DIRS))))
    return problems


def check_contexts(root):
    code, _ = registered_directives(root)
    docs, _ = documented_directives(root)
    problems = []
    for name in sorted(set(code) & set(docs)):
        rel, line, flags = code[name]
        where = "%s:%d, %s" % (rel, line, " | ".join(flags))
        permitted, required, overrides, unknown = flag_contexts(flags)
        if unknown:
            problems.append(Problem(rel, line, "directive %s: unknown flag(s) %s"
                                    % (name, ", ".join(unknown))))
            continue
        if "Context" not in docs[name]:
            continue  # reported by check_directives
        cline, cvalue = docs[name]["Context"]
        said = [c.strip() for c in cvalue.split(",") if c.strip()]
        for c in said:
            if c not in CONTEXTS:
                problems.append(Problem(REFERENCE, cline, "directive %s: context '%s' is not one "
                                        "of: %s" % (name, c, ", ".join(CONTEXTS))))
            elif c not in permitted:
                problems.append(Problem(REFERENCE, cline, "directive %s: documented in '%s', "
                                        "which the code does not allow (%s)" % (name, c, where)))
        for c in sorted(required - set(said)):
            problems.append(Problem(REFERENCE, cline, "directive %s: the code allows it in '%s' "
                                    "(%s) but the Context line does not say so" % (name, c, where)))
        oline, ovalue = docs[name].get("Override", (cline, ""))
        said_over = {o.strip() for o in ovalue.split(",") if o.strip()}
        if said_over != overrides:
            problems.append(Problem(REFERENCE, oline, "directive %s: Override '%s' does not match "
                                    "the code's '%s' (%s)" % (name, ", ".join(sorted(said_over)),
                                                              ", ".join(sorted(overrides)), where)))
    return problems


def check_sample_config(root):
    code, problems = registered_directives(root)
    if not code:
        return problems
    if not os.path.isfile(os.path.join(root, SAMPLE_CONF)):
        return [Problem(SAMPLE_CONF, None, "missing: the sample configuration")]
    text = read(root, SAMPLE_CONF)
    for m in DIRECTIVE_RE.finditer(text):
        if m.group(0) not in code:
            problems.append(Problem(SAMPLE_CONF, line_of(text, m.start()),
                                    "%s is not a directive of the module" % m.group(0)))
    return problems


def check_log_tags(root):
    code = code_tags(root)
    rows, problems = documented_tags(root)
    if not code:
        problems.append(Problem("src/, apache/, mod_pingone_consent.c", None,
                                "no PCnnnnn log tag found in the code"))
    for tag, (rel, line) in sorted(code.items()):
        if tag not in rows:
            problems.append(Problem(rel, line, "log tag %s is used here but has no row in the "
                                    "table of %s" % (tag, TAG_TABLE)))
    for tag, line in sorted(rows.items()):
        if code and tag not in code:
            problems.append(Problem(TAG_TABLE, line, "log tag %s has a row but occurs nowhere in "
                                    "the code (src/, apache/, mod_pingone_consent.c; comments "
                                    "do not count)" % tag))
    return problems


def check_mentions(root):
    directives, problems = registered_directives(root)
    tags = code_tags(root)
    for rel in markdown_files(root):
        for no, line in enumerate(read(root, rel).split("\n"), 1):
            for m in DIRECTIVE_RE.finditer(line):
                if directives and m.group(0) not in directives:
                    problems.append(Problem(rel, no, "%s is not a directive of the module"
                                            % m.group(0)))
            for m in TAG_RE.finditer(line):
                if tags and m.group(0) not in tags:
                    problems.append(Problem(rel, no, "log tag %s occurs nowhere in the code"
                                            % m.group(0)))
    return problems


def check_files(root):
    """Source files and the docs' file tables agree; no doc names a file that is gone."""
    problems = []
    dirs = CORE_DIRS + GLUE_DIRS
    present = set()
    for d in dirs:
        for name in os.listdir(os.path.join(root, d)) if os.path.isdir(os.path.join(root, d)) else []:
            if name.endswith((".c", ".h")):
                present.add(name)
    rows = set()
    text = read(root, ARCHITECTURE) if os.path.exists(os.path.join(root, ARCHITECTURE)) else None
    if text is None:
        return [Problem(ARCHITECTURE, 0, "missing: it must list the source files")]
    for line in text.split("\n"):
        m = FILE_ROW_RE.match(line)
        if m:
            rows.add(m.group(1))
    for name in sorted(present):
        if name.endswith(".c") and name[:-2] not in rows:
            problems.append(Problem(ARCHITECTURE, 0, "%s has no row in the file tables"
                                    % name))
    for rel in markdown_files(root):
        for no, line in enumerate(read(root, rel).split("\n"), 1):
            for m in SOURCE_NAME_RE.finditer(line):
                stem, ext = m.group(1), m.group(2)
                wanted = [stem + ".c", stem + ".h"] if ext == "c/.h" else [stem + "." + ext]
                for w in wanted:
                    if w not in present:
                        problems.append(Problem(rel, no, "names %s, which is not in %s"
                                                % (w, " or ".join(dirs))))
    return problems


def slug(text):
    """GitHub's anchor for a heading text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]*>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(root, rel, cache):
    if rel not in cache:
        seen, out = {}, set()
        for _, line in markdown_lines(read(root, rel)):
            h = HEADING_RE.match(line)
            if h:
                s = slug(h.group(2))
                n = seen.get(s, 0)
                seen[s] = n + 1
                out.add(s if n == 0 else "%s-%d" % (s, n))
        cache[rel] = out
    return cache[rel]


def check_links(root):
    problems, cache = [], {}
    for rel in markdown_files(root):
        for no, line in markdown_lines(read(root, rel)):
            if line.startswith("    ") or line.startswith("\t"):
                continue  # indented code block
            plain = INLINE_CODE_RE.sub(lambda m: "x" * len(m.group(2)), line)
            targets = [m.group(1) for m in LINK_RE.finditer(plain)]
            d = REFDEF_RE.match(plain)
            if d:
                targets.append(d.group(1))
            for target in targets:
                if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target) or target.startswith("//"):
                    continue  # absolute URL, mailto:, ...
                path, _, anchor = target.partition("#")
                dest = rel if not path else os.path.normpath(
                    os.path.join(os.path.dirname(rel), path))
                if dest.startswith(".."):
                    problems.append(Problem(rel, no, "link '%s' leaves the tree" % target))
                    continue
                if not os.path.exists(os.path.join(root, dest)):
                    problems.append(Problem(rel, no, "link '%s': %s does not exist"
                                            % (target, dest)))
                elif anchor and dest.endswith(".md") and anchor not in anchors(root, dest, cache):
                    problems.append(Problem(rel, no, "link '%s': %s has no heading with anchor "
                                            "#%s" % (target, dest, anchor)))
    return problems


CHECKS = (
    ("directives: the command tables and %s agree" % REFERENCE, check_directives),
    ("contexts: each directive's Context and Override agree with its flags", check_contexts),
    ("sample-config: %s names only existing directives" % SAMPLE_CONF, check_sample_config),
    ("log-tags: the code's PCnnnnn tags and the table of %s agree" % TAG_TABLE, check_log_tags),
    ("mentions: README.md and docs/ name only existing directives and tags", check_mentions),
    ("links: relative links in README.md and docs/ reach their file and anchor", check_links),
    ("files: the source files and the file tables of %s agree" % ARCHITECTURE, check_files),
)


def run_checks(root):
    """[(check name, [Problem])] for every check."""
    return [(name, fn(root)) for name, fn in CHECKS]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check the documentation against the code.")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="top of the source tree (default: the one holding this script)")
    ap.add_argument("--tap", action="store_true", help="print TAP, one test per check")
    args = ap.parse_args(argv)
    root = os.path.abspath(args.root)
    results = run_checks(root)
    failed = sum(1 for _, p in results if p)
    if args.tap:
        print("1..%d" % len(results))
        for i, (name, problems) in enumerate(results, 1):
            print("%s %d - %s" % ("not ok" if problems else "ok", i, name), flush=True)
            for p in problems:  # diagnostics on stderr, as Test::More does: prove shows them
                print("# %s" % p, file=sys.stderr, flush=True)
    else:
        for name, problems in results:
            for p in problems:
                print("check-docs: %s" % p, file=sys.stderr)
        if failed:
            print("check-docs: %d of %d checks failed; see above (formats: "
                  "docs/development.md#documentation-checks)" % (failed, len(results)),
                  file=sys.stderr)
        else:
            code, _ = registered_directives(root)
            print("check-docs: ok: %d directives, %d log tags, docs and code agree"
                  % (len(code), len(code_tags(root))))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
