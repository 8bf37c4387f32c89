#!/usr/bin/env python3
"""What a reader sees of real lore mail: checks a running server's group over NNTP.

    tools/lore_check.py PORT GROUP [--id MESSAGE-ID] [--word WORD]

Prints: articles; Message-ID headers served on more than one line (HEAD of every article);
articles with several References headers; for --id, its overview References and the size
of its thread (XTHREAD); encoded-word subjects; and for --word, what `XPAT Subject 1-
*WORD*` finds (the decoded subjects) against the subjects that hold the word once decoded.
"""
import argparse, email.errors, email.header, socket


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("port", type=int)
    ap.add_argument("group")
    ap.add_argument("--id")
    ap.add_argument("--word")
    a = ap.parse_args()
    s = socket.create_connection(("127.0.0.1", a.port))
    f = s.makefile("rb")
    f.readline()

    def cmd(c):
        s.sendall(c.encode() + b"\r\n")
        return f.readline()

    def block():
        out = []
        while (l := f.readline()) != b".\r\n":
            out.append(l[1:] if l.startswith(b"..") else l)
        return out

    count, low, high = (int(x) for x in cmd(f"GROUP {a.group}").split()[1:4])
    cmd("XOVER 1-")
    over = block()
    folded = several = 0
    for start in range(low, high + 1, 500):
        numbers = range(start, min(start + 500, high + 1))
        s.sendall(b"".join(b"HEAD %d\r\n" % n for n in numbers))
        for _ in numbers:
            if not f.readline().startswith(b"221"):
                continue
            head = block()
            for k, line in enumerate(head):
                if line.lower().startswith(b"message-id:") and k + 1 < len(head) and head[k + 1][:1] in (b" ", b"\t"):
                    folded += 1
            several += sum(1 for line in head if line.lower().startswith(b"references:")) > 1
    print(f"articles: {count}; Message-ID headers on more than one line: {folded}; "
          f"articles with several References headers: {several}")
    if a.id:
        line = next(l for l in over if l.split(b"\t")[4].decode() == a.id)
        refs = line.split(b"\t")[5].decode()
        print(f"{a.id}: overview References {refs}")
        status = cmd(f"XTHREAD {a.id}").decode().strip()
        print(f"  XTHREAD: {status} ({len(block())} lines)")
    encoded = [l.split(b"\t")[1].decode(errors="replace") for l in over if b"=?" in l.split(b"\t")[1]]
    print(f"subjects with encoded words: {len(encoded)}")
    if a.word:
        def decoded(v):
            try:
                return str(email.header.make_header(email.header.decode_header(v)))
            except (UnicodeDecodeError, LookupError, email.errors.HeaderParseError):
                return v
        want = sorted(l.split(b"\t")[0].decode() for l in over
                      if a.word.lower() in decoded(l.split(b"\t")[1].decode(errors="replace")).lower())
        cls = "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in a.word)
        status = cmd(f"XPAT Subject 1- *{cls}*").decode().strip()
        got = sorted(l.split(b" ", 1)[0].decode() for l in block())
        print(f"XPAT Subject 1- *{cls}*: {status}: {len(got)} found, {len(want)} subjects hold it decoded; "
              f"{'the same articles' if got == want else 'DIFFERENT: ' + str(sorted(set(got) ^ set(want))[:10])}")
        subjects = {l.split(b"\t")[0].decode(): l.split(b"\t")[1].decode(errors="replace") for l in over}
        for n in got[:3]:
            print(f"  {n}: {subjects[n]} = {decoded(subjects[n])}")
    cmd("QUIT")


if __name__ == "__main__":
    main()
