#!/usr/bin/env python3
"""Reads a listnews server with Python's own nntplib and prints what nntplib parsed.

usage: nntplib_client.py HOST PORT GROUP OUTDIR

One TAB-separated record a line on stdout (kind first) for protocol-tests/real_clients.rs to
check against the server's answers; fetched articles go to files in OUTDIR, CRLF line ends.
nntplib is the standard-library module (deprecated since 3.11, removed in 3.13: there it is
the `standard-nntplib` package); its DeprecationWarning is silenced.
"""

import datetime
import os
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import nntplib

# nntplib decodes with surrogateescape: print the raw bytes back.
sys.stdout.reconfigure(encoding="utf-8", errors="surrogateescape", newline="\n")


def out(*fields):
    print(*fields, sep="\t")


def save(outdir, name, lines):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(b"".join(line + b"\r\n" for line in lines))


def main():
    host, port, group, outdir = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    # Connecting reads the greeting and CAPABILITIES; MODE READER only if READER is missing.
    s = nntplib.NNTP(host, port, readermode=True, timeout=30)
    out("welcome", s.getwelcome())
    for name, tokens in s.getcapabilities().items():
        out("cap", name, *tokens)

    _, groups = s.list()
    for g in groups:
        out("list", g.group, g.last, g.first, g.flag)
    # LIST NEWSGROUPS, falling back to XGTITLE.
    _, descriptions = s.descriptions("example.*")
    for name, desc in sorted(descriptions.items()):
        out("description", name, desc)

    _, count, first, last, name = s.group(group)
    out("group", count, first, last, name)
    # OVER (advertised), parsed with the LIST OVERVIEW.FMT nntplib validates.
    _, overviews = s.over((first, last))
    for number, ov in overviews:
        out(
            "over",
            number,
            ov["subject"],
            ov["from"],
            ov["date"],
            ov["message-id"],
            ov["references"],
            ov[":bytes"],
            ov[":lines"],
            ov.get("xref") or "",
        )
    first_id = overviews[0][1]["message-id"]
    _, by_id = s.over(first_id)
    out("over-id", by_id[0][0], by_id[0][1]["message-id"])
    _, legacy = s.xover(first, first + 2)
    for number, ov in legacy:
        out("xover", number, ov["message-id"])

    _, info = s.article(first)
    out("article", info.number, info.message_id, len(info.lines))
    save(outdir, "article-%d" % first, info.lines)
    _, info = s.article(first_id)
    out("article-id", info.number, info.message_id)
    save(outdir, "article-id", info.lines)
    _, info = s.head(last)
    out("head", info.number, info.message_id)
    save(outdir, "head-%d" % last, info.lines)
    _, info = s.body(last)
    out("body", info.number, info.message_id)
    save(outdir, "body-%d" % last, info.lines)
    _, number, message_id = s.stat(first + 1)
    out("stat", number, message_id)
    _, number, message_id = s.next()
    out("next", number, message_id)

    _, subjects = s.xhdr("subject", "%d-%d" % (first, last))
    for number, value in subjects:
        out("xhdr", number, value)

    # DATE, then NEWNEWS/NEWGROUPS with 8-digit years and no GMT (nntplib's form).
    _, now = s.date()
    out("date", now.strftime("%Y%m%d%H%M%S"))
    day = datetime.timedelta(days=1)
    _, ids = s.newnews(group, now - day)
    for message_id in ids:
        out("newnews", message_id)
    _, later = s.newnews(group, now + day)
    out("newnews-later", len(later))
    _, new = s.newgroups(now - day)
    for g in new:
        out("newgroup", g.group)

    for what, call in [
        ("group", lambda: s.group("no.such.group")),
        ("article", lambda: s.article("<no-such-article@example.org>")),
    ]:
        try:
            call()
            out("error", what, "none")
        except nntplib.NNTPTemporaryError as e:
            out("error", what, e.response)
    out("quit", s.quit())


if __name__ == "__main__":
    main()
