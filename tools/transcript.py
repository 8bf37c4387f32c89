#!/usr/bin/env python3
"""A transcript of every command, for comparing two builds of listnews byte for byte.

    tools/transcript.py BINARY OUT.txt

Imports config/sample.mbox with BINARY into a fresh store, serves it twice (the sample
configuration; then with a user, a private group, plaintext AUTHINFO and a certificate), runs
a fixed script of sessions covering CAPABILITIES, HELP, every LIST form, every command in
every state and the error answers, and writes what the server sent, byte for byte. Values
that depend on the clock (DATE, group creation times) are masked. Run it with the old and
the new binary and diff the outputs.
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BASE = """
[server]
listen = ["127.0.0.1:0"]
hostname = "news.example.org"
data_dir = "data"
motd = "Transcript archive.\\nRead-only."
{server_extra}

[[group]]
name = "example.list-0"
description = "List zero"
address = "list-0@lists.example.org"
list_id = "list-0.lists.example.org"
subscribe = true

[[group]]
name = "example.list-1"
description = "List one"
address = "list-1@lists.example.org"
list_id = "list-1.lists.example.org"
{group1_extra}

[[group]]
name = "example.list-2"
description = "List two"
address = "list-2@lists.example.org"
list_id = "list-2.lists.example.org"

[[group]]
name = "example.empty"
description = "Nothing here"
{users}
"""


def sessions(ids):
    """The script: a list of sessions, each a list of raw command lines (bytes)."""
    a, b, thread = ids["a"], ids["b"], ids["thread"]
    before_group = [
        "CAPABILITIES", "HELP", "MODE READER", "mode reader", "DATE",
        "LIST", "LIST ACTIVE", "LIST ACTIVE example.list-*,!example.list-1", "LIST ACTIVE.TIMES",
        "LIST ACTIVE.TIMES example.*", "LIST COUNTS", "LIST COUNTS example.list-2", "LIST NEWSGROUPS",
        "LIST NEWSGROUPS example.list-1", "LIST OVERVIEW.FMT", "LIST HEADERS", "LIST HEADERS MSGID",
        "LIST HEADERS RANGE", "LIST MOTD", "LIST SUBSCRIPTIONS", "LIST DISTRIB.PATS", "LIST DISTRIBUTIONS",
        "LIST FOO", "LIST HEADERS BAD", "LIST ACTIVE a b", "LIST MOTD x",
        "STAT", "NEXT", "LAST", "ARTICLE", "ARTICLE 1", "HEAD 1", "XOVER", "OVER", "OVER 1-5", "XOVER 1-",
        "HDR Subject 1-2", "HDR Subject", "XHDR Subject", "XPAT Subject 1- *e*", "XROVER", "XROVER 1-3",
        "XTHREAD", "XTHREAD 3", "LISTGROUP", "XGTITLE", "XGTITLE example.*",
        f"STAT {a}", f"HEAD {a}", f"OVER {a}", f"HDR Subject {a}", f"XHDR Subject {a}", f"XPAT Subject {a} *",
        f"XTHREAD {thread}", f"XPATH {a}", "XPATH <nope@example.org>", "XPATH 12",
        "NEWGROUPS 19700101 000000 GMT", "NEWGROUPS 700101 000000", "NEWGROUPS 20991231 235959",
        "NEWGROUPS yesterday", "NEWNEWS example.list-2 700101 000000", "NEWNEWS * 20991231 235959 GMT",
        "NEWNEWS * 2024 000000", "POST", "IHAVE <a@b.example>", "IHAVE", "CAPABILITIES AUTHINFO",
    ]
    in_group = [
        "GROUP nope", "GROUP example.empty", "STAT", "NEXT", "LISTGROUP", "OVER 1-", "XOVER 1-",
        "HDR Subject 1-", "XHDR Subject 1-", "XPAT Subject 1- *", "XROVER 1-", "OVER", "XOVER",
        "GROUP example.list-0", "STAT", "LAST", "NEXT", "NEXT", "LAST", "HEAD 3", "BODY 3", "ARTICLE 3",
        "ARTICLE", "STAT 3", "ARTICLE 99999", "BODY 0", "STAT abc", f"STAT {a}", f"ARTICLE {b}",
        "ARTICLE <nope@example.org>", "OVER 1-5", "XOVER 3", "OVER", "XOVER 5-3", f"OVER {a}", f"OVER {b}",
        "OVER <nope@example.org>", "OVER 100000-", "XOVER 100000-", "OVER x",
        "HDR Subject 1-3", "XHDR subject 1-3", "HDR :lines 1", "HDR :bytes 1-2", "HDR Xref 2", "XHDR Path 1",
        "XHDR Newsgroups 1-2", "XHDR Return-Path 1-2", "XHDR X-No-Such-Header 1-3", "HDR Message-ID",
        "HDR References 1-10", "HDR Date 1-2", "HDR From 4", f"HDR Subject {a}", f"XHDR Subject {a}",
        "HDR Subject 100000-", "XHDR Subject 100000-", "HDR", "HDR Subject <nope@x>",
        "XPAT Subject 1-20 *e*", "XPAT subject 1- *[Ff][Ii][Xx]*", "XPAT From 1-5 * *", f"XPAT Subject {a} *",
        "XPAT Subject 1-5", "XROVER 1-10", "XROVER", "XTHREAD", "XTHREAD 5", f"XTHREAD {thread}",
        "XTHREAD 99999", "XTHREAD <nope@example.org>", "XGTITLE", "LISTGROUP", "LISTGROUP nope",
        "LISTGROUP example.list-2 3-5", "STAT", "LISTGROUP example.list-2 5-3", "LISTGROUP example.list-2 40-",
        "LISTGROUP example.list-2 x-y", "GROUP example.list-1", f"STAT {a}", "XOVER 1-3",
        "NEWNEWS * 19700101 000000 GMT", "DATE",
    ]
    errors = [
        "FROBNICATE", "", "GROUP", "GROUP a b", "MODE STREAM", "MODE", "DATE now", "QUIT now", "HELP me",
        "ARTICLE abc", "ARTICLE 12345678901234567", "ARTICLE 1 2", "ARTICLE <a b>", "LISTGROUP a 1 2",
        "XOVER 1 2", "OVER <x", "HDR a b c", "XGTITLE a b", "XROVER a b", "XTHREAD x", "NEWNEWS",
        "NEWNEWS * 20240102 030405 UTC", "NEWGROUPS 20241302 030405", "NEWGROUPS 20240102 030405 <dist>",
        "COMPRESS", "COMPRESS DEFLATE x", "COMPRESS GZIP", "STARTTLS now", "AUTHINFO", "AUTHINFO SASL PLAIN",
        "AUTHINFO USER", "AUTHINFO PASS", "AUTHINFO PASS secret", "AUTHINFO USER alice", "AUTHINFO PASS wrong",
        "AUTHINFO USER nobody", "AUTHINFO PASS  two  spaces ", "GROUP " + "x" * 600, b"A" * 5000, b"HEAD \xff\xfe",
        b"DATE\0", "XHDR " + "a" * 503 + " 1", "POST", "IHAVE <a@b>",
    ]
    auth = [
        "GROUP example.list-1", "LIST", "LIST NEWSGROUPS", "LIST COUNTS", "XGTITLE example.*",
        "AUTHINFO USER alice", "AUTHINFO PASS secret", "CAPABILITIES", "HELP", "AUTHINFO USER alice",
        "GROUP example.list-1", "LIST", "XOVER 1-3", "STARTTLS", "QUIT",
    ]
    tail_starttls = ["CAPABILITIES", "STARTTLS"]
    tail_compress = ["COMPRESS DEFLATE"]
    tail_quit = ["QUIT"]
    return [before_group + tail_quit, in_group + tail_quit, errors + tail_quit, auth, tail_starttls, tail_compress]


MASKS = [
    (re.compile(rb"^111 \d{14}\r\n", re.M), b"111 <DATE>\r\n"),
    # LIST ACTIVE.TIMES: group, creation time, creator.
    (re.compile(rb"^(example\.[a-z0-9.-]+) \d{9,11} ", re.M), rb"\1 <TIME> "),
]


def read_idle(sock, idle):
    """Everything the server sends until it has been silent for `idle` seconds."""
    sock.settimeout(idle)
    out = b""
    while True:
        try:
            data = sock.recv(65536)
        except socket.timeout:
            return out, False
        if not data:
            return out, True
        out += data


def run_session(addr, commands, idle):
    sock = socket.create_connection(addr)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    greeting, _ = read_idle(sock, idle)
    out.append(b"<<< " + greeting)
    for cmd in commands:
        raw = cmd if isinstance(cmd, bytes) else cmd.encode()
        sock.sendall(raw + b"\r\n")
        answer, closed = read_idle(sock, idle)
        out.append(b">>> " + raw[:80] + (b"..." if len(raw) > 80 else b"") + b"\n" + answer)
        if closed:
            out.append(b"[closed]\n")
            break
    sock.close()
    text = b"".join(out)
    for pattern, repl in MASKS:
        text = pattern.sub(repl, text)
    return text


def start(binary, config):
    proc = subprocess.Popen([binary, "serve", "--config", config], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = proc.stdout.readline().decode()
    m = re.search(r"on (\S+):(\d+)$", line.strip())
    if not m:
        proc.kill()
        sys.exit(f"no address in {line!r}")
    return proc, (m.group(1), int(m.group(2)))


def ids_of(addr):
    sock = socket.create_connection(addr)
    f = sock.makefile("rb")
    f.readline()

    def cmd(line):
        sock.sendall(line.encode() + b"\r\n")
        return f.readline().decode().split()

    cmd("GROUP example.list-0")
    a = cmd("STAT 3")[2]
    cmd("GROUP example.list-1")
    b = cmd("STAT 7")[2]
    # A message with References: the thread of the 10th article of list-2.
    cmd("GROUP example.list-2")
    thread = cmd("STAT 10")[2]
    sock.close()
    return {"a": a, "b": b, "thread": thread}


def main():
    binary, out_path = sys.argv[1], sys.argv[2]
    idle = float(os.environ.get("TRANSCRIPT_IDLE", "0.15"))
    result = []
    with tempfile.TemporaryDirectory() as tmp:
        key, cert = os.path.join(tmp, "key.pem"), os.path.join(tmp, "cert.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
        pw = subprocess.run([binary, "passwd"], input=b"secret\n", check=True, capture_output=True).stdout.decode()
        variants = [
            ("sample", "", "", ""),
            ("secure", f'allow_plaintext_auth = true\ntls_cert = "{cert}"\ntls_key = "{key}"',
             'readers = ["alice"]', f'[[user]]\nname = "alice"\npassword_hash = "{pw.strip()}"\n'),
        ]
        for name, server_extra, group1_extra, users in variants:
            d = os.path.join(tmp, name)
            os.makedirs(d)
            config = os.path.join(d, "listnews.toml")
            with open(config, "w") as f:
                f.write(BASE.format(server_extra=server_extra, group1_extra=group1_extra, users=users))
            subprocess.run([binary, "import", "--config", config, os.path.join(ROOT, "config/sample.mbox")],
                           check=True, capture_output=True)
            proc, addr = start(binary, config)
            try:
                time.sleep(0.2)
                ids = ids_of(addr)
                for i, commands in enumerate(sessions(ids)):
                    result.append(f"=== {name} session {i}\n".encode())
                    result.append(run_session(addr, commands, idle))
            finally:
                proc.terminate()
                proc.wait()
    with open(out_path, "wb") as f:
        f.write(b"".join(result))


if __name__ == "__main__":
    main()
