#!/usr/bin/env python3
"""Load and abuse campaign against a release `listnews serve` on loopback:
10,000 concurrent connections (RSS per connection); 1,000 slow-loris clients sending a byte
a second while a normal client's XOVER and ARTICLE times are compared with an idle server's;
a 1 MB line without CRLF, NUL bytes, invalid UTF-8 and a command flood (memory measured,
other sessions checked). Writes its figures into docs/reliability.md ("Load and abuse").

    tools/abuse.py [--connections 10000] [--loris 1000] [--binary target/release/listnews]
"""
import argparse, multiprocessing, os, resource, socket, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from crash_campaign import update_doc, write_mbox  # noqa: E402

CONFIG = """[server]
listen = ["127.0.0.1:0"]
hostname = "abuse.example"
data_dir = "{data}"
max_connections = 30000
max_connections_per_ip = 30000
[[group]]
name = "crash.list-0"
list_id = "list-0.lists.example.org"
[[group]]
name = "crash.list-1"
list_id = "list-1.lists.example.org"
[[group]]
name = "crash.list-2"
list_id = "list-2.lists.example.org"
"""


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")
        self.greeting = self.f.readline()

    def cmd(self, line):
        self.s.sendall(line + b"\r\n")
        return self.f.readline()

    def block(self):
        n = 0
        while self.f.readline() != b".\r\n":
            n += 1
        return n


def drip(port, n, ready, stop):
    """Slow-loris clients, in a process of their own so they never slow the measuring client."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (resource.getrlimit(resource.RLIMIT_NOFILE)[1],) * 2)
    loris = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
    ready.set()
    payload = b"GROUP crash.list-0 "
    k = 0
    while not stop.is_set():
        for s in loris:
            try:
                s.send(payload[k % len(payload):k % len(payload) + 1])
            except OSError:
                pass
        k += 1
        stop.wait(1.0)
    for s in loris:
        s.close()


def timings(port, high, rounds=15):
    """Median seconds of a whole-group XOVER and of an ARTICLE, from a fresh client."""
    c = Client(port)
    c.cmd(b"GROUP crash.list-0")
    xs, arts = [], []
    for i in range(rounds):
        t = time.perf_counter()
        assert c.cmd(b"XOVER 1-").startswith(b"224")
        c.block()
        xs.append(time.perf_counter() - t)
        t = time.perf_counter()
        assert c.cmd(b"ARTICLE %d" % (1 + (i * 37) % high)).startswith(b"220")
        c.block()
        arts.append(time.perf_counter() - t)
    c.s.close()
    return statistics.median(xs), statistics.median(arts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=10000)
    ap.add_argument("--loris", type=int, default=1000)
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/listnews"))
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "a.toml")
        open(cfg, "w").write(CONFIG.format(data=os.path.join(tmp, "data")))
        mbox = os.path.join(tmp, "in.mbox")
        write_mbox(mbox, 9000)
        subprocess.run([a.binary, "import", "--config", cfg, mbox], check=True, capture_output=True)
        p = subprocess.Popen([a.binary, "serve", "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             env={**os.environ, "RUST_LOG": "error"})
        port = int(p.stdout.readline().decode().strip().rsplit(":", 1)[1])
        threading.Thread(target=lambda: p.stdout.read(), daemon=True).start()
        try:
            probe = Client(port)
            high = int(probe.cmd(b"GROUP crash.list-0").split()[3])
            probe.s.close()
            rows = []

            # Idle baseline.
            base_x, base_a = timings(port, high)
            rss0 = rss_kib(p.pid)

            # 10,000 idle connections, each greeted.
            conns = []
            t = time.perf_counter()
            for _ in range(a.connections):
                s = socket.create_connection(("127.0.0.1", port))
                conns.append(s)
            greeted = 0
            for s in conns:
                s.settimeout(30)
                if s.recv(512).startswith(b"201"):
                    greeted += 1
            opened = time.perf_counter() - t
            time.sleep(1)
            rss1 = rss_kib(p.pid)
            per_conn = (rss1 - rss0) * 1024 / max(1, greeted)
            busy_x, busy_a = timings(port, high, rounds=5)
            rows.append(f"| {a.connections:,} idle connections | {greeted:,} greeted in {opened:.1f} s; RSS "
                        f"{rss0:,} → {rss1:,} KiB = **{per_conn:,.0f} bytes per connection**; with them open a "
                        f"client's XOVER of {high:,} lines took {busy_x * 1000:.0f} ms (idle: {base_x * 1000:.0f} ms) |")
            for s in conns:
                s.close()
            time.sleep(1)

            # Slow loris: a byte a second, never finishing a line.
            ready, stop = multiprocessing.Event(), multiprocessing.Event()
            proc = multiprocessing.Process(target=drip, args=(port, a.loris, ready, stop))
            proc.start()
            ready.wait(120)
            time.sleep(2)
            lx, la = timings(port, high)
            stop.set()
            proc.join()
            rows.append(f"| {a.loris:,} slow-loris clients (a byte a second) | a normal client's whole-group XOVER "
                        f"{lx * 1000:.1f} ms vs {base_x * 1000:.1f} ms idle (**×{lx / base_x:.2f}**), ARTICLE "
                        f"{la * 1000:.2f} ms vs {base_a * 1000:.2f} ms (**×{la / base_a:.2f}**); medians of 15 |")

            # A 1 MB line without CRLF, then the session goes on.
            rss_b = rss_kib(p.pid)
            c = Client(port)
            c.s.sendall(b"A" * (1 << 20))
            time.sleep(0.5)
            rss_a = rss_kib(p.pid)
            c.s.sendall(b"\r\nDATE\r\n")
            first, second = c.f.readline(), c.f.readline()
            rows.append(f"| 1 MB line without CRLF | answered `{first.decode().strip()}`, then DATE → "
                        f"`{second.decode().strip()[:20]}`; RSS {rss_b:,} → {rss_a:,} KiB |")

            # NUL bytes and invalid UTF-8.
            answers = [c.cmd(b"GROUP \x00crash").decode()[:3], c.cmd(b"HEAD \xff\xfe").decode()[:3], c.cmd(b"DATE").decode()[:3]]
            rows.append(f"| NUL bytes, invalid UTF-8 | answers {', '.join(answers)}; the session goes on |")
            c.s.close()

            # Command flood: 2 million DATEs, never reading the answers.
            rss_b = rss_kib(p.pid)
            flood = socket.create_connection(("127.0.0.1", port))
            flood.setblocking(False)
            sent = 0
            chunk = b"DATE\r\n" * 10000
            deadline = time.time() + 10
            while sent < 2_000_000 * 6 and time.time() < deadline:
                try:
                    sent += flood.send(chunk)
                except BlockingIOError:
                    time.sleep(0.01)
            time.sleep(0.5)
            rss_a = rss_kib(p.pid)
            fx, fa = timings(port, high, rounds=5)
            rows.append(f"| command flood, answers never read | {sent / 6:,.0f} commands accepted before the server stopped "
                        f"reading (TCP backpressure); RSS {rss_b:,} → {rss_a:,} KiB; another client's XOVER {fx * 1000:.1f} ms, "
                        f"ARTICLE {fa * 1000:.2f} ms |")
            flood.close()
        finally:
            p.terminate()
            p.wait()
    section = ("<!-- tools/abuse.py writes this section -->\n"
               f"### Load and abuse campaign ({time.strftime('%Y-%m-%d', time.gmtime())}, release build, {os.cpu_count()} cores, "
               "client and server on loopback; 9,000 articles, 3,000 per group)\n\n"
               "| what | result |\n|---|---|\n" + "\n".join(rows) + "\n")
    update_doc("<!-- tools/abuse.py writes this section -->", section, before="## Operator errors")
    print(section)


if __name__ == "__main__":
    main()
