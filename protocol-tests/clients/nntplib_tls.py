#!/usr/bin/env python3
"""Reads a private group of a listnews server with Python's nntplib over TLS.

usage: nntplib_tls.py HOST PLAIN_PORT TLS_PORT CAFILE USER PASSWORD GROUP

Three runs: nntplib.NNTP_SSL to TLS_PORT with the default trust store (must be refused),
NNTP_SSL with an SSLContext trusting CAFILE, and NNTP on PLAIN_PORT upgraded with
starttls(). Each logs in with AUTHINFO USER/PASS and reads GROUP, OVER and the first
article. One TAB-separated record a line on stdout (mode, kind, fields) for
protocol-tests/security.rs to check.
"""

import ssl
import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import nntplib

sys.stdout.reconfigure(encoding="utf-8", errors="surrogateescape", newline="\n")


def out(*fields):
    print(*fields, sep="\t", flush=True)


def read_private_group(mode, s, user, password, group):
    out(mode, "tls", s.sock.version())
    caps = s.getcapabilities()
    out(mode, "caps-before-login", " ".join(caps.get("AUTHINFO", ["absent"])) or "bare")
    try:
        s.group(group)
        out(mode, "group-before-login", "211")
    except nntplib.NNTPTemporaryError as e:
        out(mode, "group-before-login", str(e)[:3])
    s.login(user, password)
    # login() re-reads CAPABILITIES: AUTHINFO must be gone.
    caps = s.getcapabilities()
    out(mode, "caps-after-login", " ".join(caps["AUTHINFO"]) if "AUTHINFO" in caps else "none")
    _, count, first, last, name = s.group(group)
    out(mode, "group", count, first, last, name)
    _, overviews = s.over((first, last))
    for number, fields in overviews:
        out(mode, "over", number, fields["message-id"], fields.get("xref", ""))
    _, info = s.body(first)
    out(mode, "article", info.number, info.message_id, b"\n".join(info.lines).decode("utf-8", "surrogateescape"))
    s.quit()


def main():
    host, plain_port, tls_port, cafile, user, password, group = sys.argv[1:8]
    plain_port, tls_port = int(plain_port), int(tls_port)

    try:
        s = nntplib.NNTP_SSL(host, tls_port, ssl_context=ssl.create_default_context(), timeout=30)
        out("untrusted", "connect", "accepted")
        s.quit()
    except ssl.SSLCertVerificationError:
        out("untrusted", "connect", "refused")

    context = ssl.create_default_context(cafile=cafile)

    s = nntplib.NNTP_SSL(host, tls_port, ssl_context=context, timeout=30)
    read_private_group("nntps", s, user, password, group)

    s = nntplib.NNTP(host, plain_port, timeout=30)
    out("starttls", "advertised", "STARTTLS" in s.getcapabilities())
    s.starttls(context)
    read_private_group("starttls", s, user, password, group)


if __name__ == "__main__":
    main()
