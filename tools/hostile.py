#!/usr/bin/env python3
"""Hostile clients beyond passwords: many clients at once, each doing work that costs the
server memory or CPU in proportion to what it asks for. A release `listnews serve` on
loopback with 9,000 articles (3,000 per group), plain and TLS listeners; for each attack,
the server's RSS (idle, peak, after), its CPU seconds, and how long a normal client's
ARTICLE and whole-group XOVER take meanwhile.

    tools/hostile.py [--clients 500] [--idle 2000] [--seconds 8] [--binary …] [--doc]

Attacks: whole-group XPAT on a header not in the overview (every article read and
decompressed), whole-group XOVER and HDR, XTHREAD; COMPRESS DEFLATE connections left idle;
TLS connections left idle after the handshake; connections that never finish the TLS
handshake. With --doc the figures go into docs/reliability.md ("Hostile clients").
"""
import argparse, asyncio, os, resource, ssl, statistics, subprocess, sys, tempfile, threading, time, zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from crash_campaign import update_doc, write_mbox  # noqa: E402
from abuse import CONFIG  # noqa: E402
from auth_attack import Sampler, cpu_seconds, rss_kib  # noqa: E402

# The abuse campaign's archive, with an implicit-TLS listener too.
TLS = 'listen_tls = ["127.0.0.1:0"]\ntls_cert = "{dir}/cert.pem"\ntls_key = "{dir}/key.pem"\n'


async def greet(port, tls_ctx=None):
    r, w = await asyncio.open_connection("127.0.0.1", port, ssl=tls_ctx, limit=1 << 20)
    await r.readline()
    return r, w


async def read_block(r):
    n = 0
    while (await r.readline()) not in (b".\r\n", b""):
        n += 1
    return n


async def worker(port, commands, until):
    """Sends `commands` in turn (each answered with a block) until `until`."""
    try:
        r, w = await greet(port)
        w.write(b"GROUP crash.list-0\r\n")
        await r.readline()
        i = 0
        while time.time() < until:
            w.write(commands[i % len(commands)] + b"\r\n")
            status = await r.readline()
            if status[:1] == b"2":
                await read_block(r)
            i += 1
        w.close()
    except (OSError, asyncio.IncompleteReadError):
        pass


def probe(port, stop, out):
    """A normal client, meanwhile: ARTICLE and whole-group XOVER latencies."""
    import socket
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(60)
    f = s.makefile("rb")
    f.readline()
    s.sendall(b"GROUP crash.list-1\r\n")
    f.readline()
    arts, overs = [], []
    i = 0
    while not stop.is_set():
        t = time.perf_counter()
        s.sendall(b"ARTICLE %d\r\n" % (1 + i % 2999))
        if f.readline().startswith(b"220"):
            while f.readline() != b".\r\n":
                pass
        arts.append(time.perf_counter() - t)
        if i % 10 == 0:
            t = time.perf_counter()
            s.sendall(b"XOVER 1-\r\n")
            f.readline()
            while f.readline() != b".\r\n":
                pass
            overs.append(time.perf_counter() - t)
        i += 1
        time.sleep(0.02)
    out["article_ms"] = statistics.median(arts) * 1000 if arts else None
    out["xover_ms"] = statistics.median(overs) * 1000 if overs else None


def settled_rss(pid, limit=30.0):
    """The server's RSS once it has stopped shrinking: the allocator (jemalloc) gives freed
    memory back gradually, over about ten seconds, so a baseline taken at once would still
    hold the previous attack's memory and the next figure would come out too small, even
    negative. Settled: after jemalloc's decay time (10 s), less than 0.5% smaller after three
    more seconds."""
    time.sleep(11)
    last, deadline = rss_kib(pid), time.time() + limit
    while time.time() < deadline:
        time.sleep(3)
        now = rss_kib(pid)
        if now >= last - last // 200:
            return now
        last = now
    return last


def measure(pid, port, run):
    """Runs the coroutine factory `run` while sampling RSS and a normal client."""
    rss0, cpu0 = settled_rss(pid), cpu_seconds(pid)
    sampler = Sampler(pid)
    stop, seen = threading.Event(), {}
    t = threading.Thread(target=probe, args=(port, stop, seen), daemon=True)
    t.start()
    started = time.time()
    extra = asyncio.run(run())
    elapsed = time.time() - started
    stop.set()
    t.join()
    peak = sampler.done()
    time.sleep(1)
    return {"rss0": rss0, "peak": peak, "after": rss_kib(pid), "cpu": cpu_seconds(pid) - cpu0, "elapsed": elapsed,
            **seen, **(extra or {})}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/listnews"))
    ap.add_argument("--doc", action="store_true")
    ap.add_argument("--connections-only", action="store_true",
                    help="only the attacks that hold connections open (DEFLATE, TLS), on a fresh server")
    a = ap.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{tmp}/key.pem",
                        "-out", f"{tmp}/cert.pem", "-days", "2", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
        cfg = os.path.join(tmp, "h.toml")
        config = CONFIG.format(data=f"{tmp}/data").replace("[server]\n", "[server]\n" + TLS.format(dir=tmp), 1)
        open(cfg, "w").write(config.replace('hostname = "abuse.example"', 'hostname = "hostile.example"'))
        mbox = os.path.join(tmp, "in.mbox")
        write_mbox(mbox, 9000)
        subprocess.run([a.binary, "import", "--config", cfg, mbox], check=True, capture_output=True)

        def start():
            p = subprocess.Popen([a.binary, "serve", "--config", cfg], stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "error"})
            port = int(p.stdout.readline().decode().strip().rsplit(":", 1)[1])
            tls_port = int(p.stdout.readline().decode().strip().rsplit(":", 1)[1])
            threading.Thread(target=lambda: p.stdout.read(), daemon=True).start()
            return p, port, tls_port

        p, port, tls_port = start()
        tls_ctx = ssl.create_default_context(cafile=f"{tmp}/cert.pem")
        tls_ctx.check_hostname = False
        try:
            base = measure(p.pid, port, lambda: asyncio.sleep(3))
            rows.append(f"| nothing (baseline) | {base['rss0']:,} KiB | – | – | ARTICLE {base['article_ms']:.2f} ms, "
                        f"XOVER of 3,000 {base['xover_ms']:.1f} ms |")
            for label, commands in [] if a.connections_only else [
                ("XPAT on a header not in the overview, whole group", [b"XPAT X-Nothing 1- *"]),
                ("XOVER and HDR Subject, whole group", [b"XOVER 1-", b"HDR Subject 1-"]),
                ("XTHREAD", [b"XTHREAD 400", b"XTHREAD 1200"]),
            ]:
                async def run(commands=commands):
                    until = time.time() + a.seconds
                    await asyncio.gather(*(worker(port, commands, until) for _ in range(a.clients)))
                r = measure(p.pid, port, run)
                rows.append(f"| {a.clients} clients: {label}, over and over ({r['elapsed']:.0f} s) | {r['rss0']:,} → "
                            f"**{r['peak']:,}** → {r['after']:,} KiB | {r['cpu']:.1f} s | – | ARTICLE "
                            f"{r['article_ms']:.2f} ms, XOVER {r['xover_ms']:.1f} ms |")
                print(rows[-1], flush=True)

            async def stuck():
                # Clients that ask for whole-group XOVERs and never read the answers.
                conns = []
                for _ in range(a.clients // 100):
                    conns += await asyncio.gather(*(greet(port) for _ in range(100)), return_exceptions=True)
                opened = [c for c in conns if not isinstance(c, BaseException)]
                for r, w in opened:
                    w.write(b"GROUP crash.list-0\r\n" + b"XOVER 1-\r\n" * 100)
                await asyncio.sleep(a.seconds)
                extra = {"open": len(opened), "rss_open": rss_kib(p.pid)}
                for r, w in opened:
                    w.close()
                return extra

            if not a.connections_only:
                r = measure(p.pid, port, stuck)
                rows.append(f"| {r['open']:,} clients asking for 100 whole-group XOVERs each and never reading "
                            f"| {r['rss0']:,} → **{r['peak']:,}** → {r['after']:,} KiB | {r['cpu']:.1f} s | – | ARTICLE "
                            f"{r['article_ms']:.2f} ms, XOVER {r['xover_ms']:.1f} ms |")
                print(rows[-1], flush=True)

            async def idle(kind):
                conns = []
                for _ in range(a.idle // 100):
                    batch = []
                    for _ in range(100):
                        if kind == "tls":
                            batch.append(greet(tls_port, tls_ctx))
                        elif kind == "stalled":
                            batch.append(asyncio.open_connection("127.0.0.1", tls_port))
                        else:
                            batch.append(greet(port))
                    conns += await asyncio.gather(*batch, return_exceptions=True)
                opened = [c for c in conns if not isinstance(c, BaseException)]
                refused = 0
                if kind == "deflate":
                    for r, w in opened:
                        w.write(b"COMPRESS DEFLATE\r\n")
                    answers = await asyncio.gather(*(r.readline() for r, w in opened))
                    compressed = [c for c, a in zip(opened, answers) if a.startswith(b"206")]
                    refused = len(opened) - len(compressed)
                    # Each sends one compressed command, so both ends' DEFLATE state exists.
                    for r, w in compressed:
                        c = zlib.compressobj(wbits=-15)
                        w.write(c.compress(b"DATE\r\n") + c.flush(zlib.Z_SYNC_FLUSH))
                    await asyncio.gather(*(r.read(64) for r, w in compressed))
                await asyncio.sleep(2)
                # What the open connections hold, once the opening's temporaries (handshake
                # buffers) are given back; stalled handshakes are measured at once, as they
                # are closed at the 10 s handshake timeout.
                held = rss_kib(p.pid) if kind == "stalled" else await asyncio.to_thread(settled_rss, p.pid)
                extra = {"open": len(opened) - refused, "refused": refused, "rss_open": held}
                for c in opened:
                    c[1].close()
                return extra

            # The attacks that hold connections open count bytes a connection from the RSS
            # before them, so they get a fresh server: after the loads above the allocator
            # holds freed memory it serves them from (a run gave -2,230 and -6,484 bytes a
            # TLS connection).
            if not a.connections_only:
                p.terminate()
                p.wait()
                p, port, tls_port = start()
            # The TLS attacks before DEFLATE's: glibc keeps what DEFLATE's connections freed
            # and would serve the TLS connections from it, hiding their cost.
            for label, kind in [("left idle after the TLS handshake", "tls"), ("that never start the TLS handshake", "stalled"),
                                ("left idle after COMPRESS DEFLATE", "deflate")]:
                r = measure(p.pid, port, lambda kind=kind: idle(kind))
                per = (r["rss_open"] - r["rss0"]) * 1024 / max(r["open"], 1)
                also = f" ({r['refused']:,} more refused with 403)" if r.get("refused") else ""
                rows.append(f"| {r['open']:,} connections {label}{also} | {r['rss0']:,} → **{r['peak']:,}** → {r['after']:,} KiB "
                            f"| {r['cpu']:.1f} s | **{per:,.0f} bytes a connection** | ARTICLE {r['article_ms']:.2f} ms, "
                            f"XOVER {r['xover_ms']:.1f} ms |")
                print(rows[-1], flush=True)
        finally:
            p.terminate()
            p.wait()
    section = ("<!-- tools/hostile.py writes this section -->\n"
               f"### Hostile clients ({time.strftime('%Y-%m-%d', time.gmtime())}, release build, {os.cpu_count()} cores, "
               "loopback; 9,000 articles, 3,000 per group)\n\n"
               "| attack | server RSS: idle → peak → after | server CPU | per connection | a normal client meanwhile (medians) |\n"
               "|---|---|---|---|---|\n" + "\n".join(rows) + "\n")
    print(section)
    if a.doc:
        update_doc("<!-- tools/hostile.py writes this section -->", section, before="## Operator errors")


if __name__ == "__main__":
    main()
