#!/usr/bin/env python3
"""Hostile posters: many clients at once sending articles, with posting open and a real SMTP
relay (aiosmtpd, protocol-tests/kit/smtp_sink.py, under Debian's /usr/bin/python3). A release
`listnews serve` on loopback; for each attack the server's RSS (idle, peak, after) and how
the clients were answered.

    tools/post_attack.py [--clients 500] [--binary target/release/listnews]

Attacks: articles just under post_max_bytes (1 MB) sent slowly, 64 KiB every 0.2 s; articles
of 3 MB (over the cap) sent as fast as the server reads; POST then silence. The hourly limit
is raised out of the way (all clients come from 127.0.0.1) so that memory, not the limit, is
what is measured; the clients come from 250 loopback addresses.
"""
import argparse, asyncio, collections, os, resource, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from auth_attack import Sampler, rss_kib  # noqa: E402

CONFIG = """
[server]
listen = ["127.0.0.1:0"]
hostname = "post.example"
data_dir = "{tmp}/data"
max_connections_per_ip = 10000
post_policy = "open"
post_relay = "smtp://127.0.0.1:{smtp}"
post_from_rewrite = "never"
post_per_hour = 1000000

[[group]]
name = "example.list"
address = "list@lists.example.org"
"""


def article(size, n):
    head = (f"From: Poster {n} <p{n}@example.net>\r\nNewsgroups: example.list\r\nSubject: load {n}\r\n"
            f"Message-ID: <load.{n}.{time.time_ns()}@example.net>\r\n\r\n").encode()
    line = b"x" * 70 + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


async def poster(port, n, size, pace, silent, codes):
    try:
        # From 250 addresses (127.0.0.x): at most 4 posts at once come from one.
        r, w = await asyncio.open_connection("127.0.0.1", port, local_addr=(f"127.0.0.{2 + n % 250}", 0))
        await r.readline()
        w.write(b"POST\r\n")
        status = await r.readline()
        if not status.startswith(b"340"):
            codes[status[:3].decode() or "closed"] += 1
            w.close()
            return
        if silent:
            await asyncio.sleep(silent)
            codes["340, then silent"] += 1
            w.close()
            return
        data = article(size, n) + b".\r\n"
        step = 64 << 10
        for i in range(0, len(data), step):
            w.write(data[i:i + step])
            await w.drain()
            if pace:
                await asyncio.sleep(pace)
        codes[(await r.readline())[:3].decode() or "closed"] += 1
        w.close()
    except (ConnectionError, OSError) as e:
        codes[type(e).__name__] += 1


def run(pid, port, clients, size, pace, silent):
    codes = collections.Counter()
    rss0 = rss_kib(pid)
    sampler = Sampler(pid)
    started = time.time()

    async def all_of_them():
        await asyncio.gather(*(poster(port, n, size, pace, silent, codes) for n in range(clients)))

    asyncio.run(all_of_them())
    elapsed = time.time() - started
    peak = sampler.done()
    time.sleep(1)
    return rss0, peak, rss_kib(pid), elapsed, dict(codes)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/listnews"))
    a = ap.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        os.mkdir(f"{tmp}/mail")
        sink = subprocess.Popen(["/usr/bin/python3", os.path.join(ROOT, "protocol-tests/kit/smtp_sink.py"),
                                 f"{tmp}/mail"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        smtp = int(sink.stdout.readline().split()[1])
        cfg = os.path.join(tmp, "p.toml")
        open(cfg, "w").write(CONFIG.format(tmp=tmp, smtp=smtp))
        p = subprocess.Popen([a.binary, "serve", "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env={**os.environ, "RUST_LOG": "error"})
        port = int(p.stdout.readline().decode().strip().rsplit(":", 1)[1])
        try:
            print(f"| attack ({a.clients} clients) | RSS idle | peak | after | seconds | answers |")
            print("|---|---|---|---|---|---|")
            for label, size, pace, silent in [
                ("1 MB articles, 64 KiB every 0.2 s", 950_000, 0.2, 0),
                ("3 MB articles (over the cap), full speed", 3_000_000, 0, 0),
                ("POST, then silence for 10 s", 0, 0, 10),
            ]:
                rss0, peak, after, elapsed, codes = run(p.pid, port, a.clients, size, pace, silent)
                answers = ", ".join(f"{k}: {v}" for k, v in sorted(codes.items()))
                print(f"| {label} | {rss0 / 1024:.1f} MB | {peak / 1024:.1f} MB | {after / 1024:.1f} MB "
                      f"| {elapsed:.1f} | {answers} |", flush=True)
            print(f"mails at the relay: {len(os.listdir(f'{tmp}/mail'))}")
        finally:
            p.terminate()
            p.wait()
            sink.stdin.close()
            sink.wait()


if __name__ == "__main__":
    main()
