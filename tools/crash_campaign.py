#!/usr/bin/env python3
"""Crash campaign: SIGKILL the importer, and separately the server during deliveries, at N
random points each; after a restart and re-run the store must equal an uninterrupted one
(LISTGROUP, OVER and every article by Message-ID), with nothing lost and nothing twice.
Writes its figures into docs/reliability.md (section "Crash campaign").

    tools/crash_campaign.py [--points 20] [--messages 15000] [--binary target/release/listnews]
"""
import argparse, hashlib, os, random, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CONFIG = """[server]
listen = ["127.0.0.1:0"]
hostname = "crash.example"
data_dir = "{data}"
watch_interval_secs = 3600
{groups}"""
GROUP = """[[group]]
name = "crash.list-{i}"
list_id = "list-{i}.lists.example.org"
"""


def message(i, lists=3):
    body = "".join(f"message {i} line {j}: some text of a mailing-list post\n" for j in range(20 + i % 60))
    refs = f"References: <m{i - 3}@crash.example>\n" if i >= 3 and i % 4 else ""
    return (f"From: Poster {i % 17} <p{i % 17}@example.org>\nTo: list-{i % lists}@lists.example.org\n"
            f"Subject: post {i}\nDate: Mon, 1 Jan 2024 00:00:{i % 60:02d} +0000\nMessage-ID: <m{i}@crash.example>\n"
            f"List-Id: <list-{i % lists}.lists.example.org>\n{refs}\n{body}")


def write_mbox(path, n):
    with open(path, "w") as f:
        for i in range(n):
            f.write("From sender@example.org Mon Jan  1 00:00:00 2024\n")
            f.write(message(i).replace("\nFrom ", "\n>From "))
            f.write("\n")


def make_archive(tmp, name):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    cfg = os.path.join(d, "c.toml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(data=os.path.join(d, "data"), groups="".join(GROUP.format(i=i) for i in range(3))))
    return cfg


class Nntp:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.f = self.s.makefile("rb")
        self.f.readline()

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\r\n")
        return self.f.readline()

    def block(self):
        lines = []
        while True:
            l = self.f.readline()
            if l == b".\r\n":
                return lines
            lines.append(l)


def serve(binary, cfg):
    p = subprocess.Popen([binary, "serve", "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         env={**os.environ, "RUST_LOG": "error"})
    line = p.stdout.readline().decode()
    port = int(line.strip().rsplit(":", 1)[1])
    threading.Thread(target=lambda: p.stdout.read(), daemon=True).start()
    return p, port


def snapshot(binary, cfg, by_number=True):
    """LISTGROUP + OVER of every group, and a hash of every article by Message-ID."""
    p, port = serve(binary, cfg)
    try:
        c = Nntp(port)
        listing, ids = [], set()
        for g in range(3):
            listing.append(c.cmd(f"GROUP crash.list-{g}"))
            c.cmd(f"LISTGROUP crash.list-{g}")
            listing += c.block()
            if c.cmd("OVER 1-").startswith(b"224"):
                over = c.block()
                listing += over
                ids |= {l.split(b"\t")[4].decode() for l in over}
        articles = {}
        for mid in sorted(ids):
            status = c.cmd(f"BODY {mid}")
            assert status.startswith(b"222"), status
            articles[mid] = hashlib.sha256(b"".join(c.block())).hexdigest()
        c.cmd("QUIT")
        return (listing if by_number else None), articles
    finally:
        p.terminate()
        p.wait()


def importer_campaign(binary, tmp, mbox, points, rng):
    ref = make_archive(tmp, "import-ref")
    t0 = time.perf_counter()
    subprocess.run([binary, "import", "--config", ref, mbox], check=True, capture_output=True)
    full = time.perf_counter() - t0
    expected = snapshot(binary, ref)
    same = 0
    for k in range(points):
        cfg = make_archive(tmp, f"import-{k}")
        delay = rng.uniform(0.02, full * 0.95)
        p = subprocess.Popen([binary, "import", "--config", cfg, mbox], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        killed = p.poll() is None
        p.kill()
        p.wait()
        subprocess.run([binary, "import", "--config", cfg, mbox], check=True, capture_output=True)
        ok = snapshot(binary, cfg) == expected
        same += ok
        print(f"import kill {k + 1}: at {delay:.2f} s ({'mid-import' if killed else 'after it finished'}): "
              f"{'identical' if ok else 'DIFFERENT'}", file=sys.stderr)
    return full, same, len(expected[1])


def deliver(binary, cfg, i):
    return subprocess.run([binary, "deliver", "--config", cfg], input=message(i).encode(),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode


def server_campaign(binary, tmp, n, points, rng):
    results = []
    for k in range(points):
        cfg = make_archive(tmp, f"deliver-{k}")
        p, port = serve(binary, cfg)
        codes = {}
        nxt = [0]
        lock = threading.Lock()
        def worker():
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= n:
                    return
                codes[i] = deliver(binary, cfg, i)
        ws = [threading.Thread(target=worker) for _ in range(8)]
        for w in ws:
            w.start()
        kill_at = rng.randint(1, n - 1)
        while nxt[0] < kill_at:
            time.sleep(0.005)
        p.kill()
        p.wait()
        for w in ws:
            w.join()
        confirmed = {i for i, c in codes.items() if c == 0}
        _, articles = snapshot(binary, cfg, by_number=False)
        lost = [i for i in confirmed if f"<m{i}@crash.example>" not in articles]
        # The MTA retries the others; then every message is there exactly once.
        for i, c in codes.items():
            if c != 0:
                assert deliver(binary, cfg, i) == 0
        listing, articles = snapshot(binary, cfg)
        over_ids = [l.split(b"\t")[4] for l in listing if l.count(b"\t") >= 8]
        complete = len(articles) == n and len(over_ids) == len(set(over_ids)) == n
        bad_codes = {c for c in codes.values() if c not in (0, 75)}
        results.append((kill_at, len(confirmed), lost, complete, bad_codes))
        print(f"server kill {k + 1}: after {kill_at} of {n} deliveries started: {len(confirmed)} confirmed, "
              f"{len(lost)} of them lost, complete after retries: {complete}, other exit codes: {bad_codes or 'none'}",
              file=sys.stderr)
    return results


def update_doc(marker, section, before):
    """Replaces the section that starts with `marker` in docs/reliability.md (up to the next
    `## ` heading or the next section another tool writes), or puts it before the heading
    `before` the first time."""
    doc = os.path.join(ROOT, "docs/reliability.md")
    text = open(doc).read()
    if marker in text:
        start = text.index(marker)
        ends = [e for e in (text.find("\n## ", start), text.find("\n<!-- ", start + 1)) if e >= 0]
        end = min(ends) + 1 if ends else len(text)
        text = text[:start] + section + "\n" + text[end:]
    else:
        anchor = text.index(before)
        text = text[:anchor] + section + "\n" + text[anchor:]
    open(doc, "w").write(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", type=int, default=20)
    ap.add_argument("--messages", type=int, default=15000)
    ap.add_argument("--deliveries", type=int, default=150)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/listnews"))
    ap.add_argument("--seed", type=int, default=int(time.time()))
    a = ap.parse_args()
    rng = random.Random(a.seed)
    with tempfile.TemporaryDirectory() as tmp:
        mbox = os.path.join(tmp, "in.mbox")
        write_mbox(mbox, a.messages)
        full, same, articles = importer_campaign(a.binary, tmp, mbox, a.points, rng)
        server = server_campaign(a.binary, tmp, a.deliveries, a.points, rng)
    lost = sum(len(r[2]) for r in server)
    complete = sum(r[3] for r in server)
    bad = set().union(*(r[4] for r in server))
    section = f"""<!-- tools/crash_campaign.py writes this section -->
### Crash campaign ({time.strftime('%Y-%m-%d', time.gmtime())}, seed {a.seed}, release build)

- **Importer**: {a.messages:,} messages ({articles:,} articles over 3 groups), a full import
  taking {full:.2f} s, SIGKILLed at {a.points} random points and re-run: **{same} of {a.points}**
  ended identical to the uninterrupted import (LISTGROUP and OVER of every group, and the body
  of every article fetched by Message-ID). The import trains its compression dictionaries at
  about 1,000 and 10,000 articles, the second beside the import, so kill points fall before,
  during and after a training; and it has sled move live pages out of its log's mostly dead
  segments after every batch (which leaves its index at under half the size it has without),
  so they also fall while pages are being moved.
- **Server during deliveries**: {a.points} runs of {a.deliveries} `listnews deliver` processes (8 at
  a time), the server SIGKILLed after a random number of them had started: deliveries that
  exited 0 and were missing after the restart: **{lost}**; runs complete with every message
  exactly once after the MTA's retries of the rest: **{complete} of {a.points}**; exit codes
  other than 0 and 75: {sorted(bad) or 'none'}.
"""
    update_doc("<!-- tools/crash_campaign.py writes this section -->", section, before="## Disk full")
    print(section)
    if same != a.points or lost or complete != a.points or bad:
        sys.exit("the crash campaign found a difference")


if __name__ == "__main__":
    main()
