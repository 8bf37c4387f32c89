#!/usr/bin/env python3
"""Posts an article with Python's nntplib, as a script would.

usage: post_nntplib.py HOST PORT USER PASSWORD ARTICLE_FILE

Logs in (AUTHINFO USER/PASS, nntplib's login), posts the file (nntplib's post(), which
dot-stuffs and sends CRLF lines) and prints the server's final answer; exits 1 if nntplib
raised (printing the error).
"""

import sys
import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import nntplib

host, port, user, password, path = sys.argv[1:6]
server = nntplib.NNTP(host, int(port), readermode=True)
try:
    server.login(user, password)
    with open(path, "rb") as f:
        print(server.post(f))
except nntplib.NNTPError as e:
    print("error", e)
    sys.exit(1)
finally:
    server.quit()
