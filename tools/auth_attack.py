#!/usr/bin/env python3
"""Authentication under attack: a release `listnews serve` with users whose hashes come from
`listnews passwd` (argon2id at its defaults), plaintext AUTHINFO allowed, attacked on
loopback by clients sending wrong passwords. Measures the server's RSS (idle, peak, after),
guesses answered per second (per source address and in all), what one connection gets for
30 wrong passwords in a row, and how long another user's correct login from another address
takes during the attack. Source addresses vary over 127.0.0.2... (all loopback).

    tools/auth_attack.py [--binary target/release/listnews] [--seconds 10] [--doc]

With --doc the figures go into docs/reliability.md ("Authentication under attack").
"""
import argparse, os, resource, socket, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from crash_campaign import update_doc  # noqa: E402

CONFIG = """[server]
listen = ["127.0.0.1:0"]
hostname = "auth.example"
data_dir = "{data}"
allow_plaintext_auth = true
max_connections = 30000
[[group]]
name = "auth.list"
[[user]]
name = "alice"
password_hash = "{alice}"
[[user]]
name = "bob"
password_hash = "{bob}"
"""


def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Sampler:
    """Samples the server's RSS every 20 ms; `peak` is the highest seen."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, rss_kib(pid), threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)

    def done(self):
        self.stop.set()
        self.thread.join()
        return self.peak


def connect(port, source="127.0.0.1", timeout=60):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.bind((source, 0))
    s.settimeout(timeout)
    s.connect(("127.0.0.1", port))
    f = s.makefile("rb")
    return s, f, f.readline()


def attempt(s, f, user, password):
    """One AUTHINFO USER/PASS; returns PASS's status code (or USER's when not 381), 0 when
    the connection closed."""
    s.sendall(f"AUTHINFO USER {user}\r\nAUTHINFO PASS {password}\r\n".encode())
    first = f.readline()
    if not first:
        return 0
    if not first.startswith(b"381"):
        f.readline()
        return int(first[:3])
    line = f.readline()
    return int(line[:3]) if line else 0


def attacker(port, source, guesses, until, codes, lock):
    """Wrong passwords for alice from `source`: reconnects when closed, until `until` or
    `guesses` answers."""
    n = 0
    while n < guesses and time.time() < until:
        try:
            s, f, greeting = connect(port, source)
        except OSError:
            time.sleep(0.05)
            continue
        if not greeting.startswith(b"20"):
            with lock:
                codes.append((time.time(), source, int(greeting[:3] or b"0")))
            s.close()
            time.sleep(0.05)
            continue
        try:
            while n < guesses and time.time() < until:
                code = attempt(s, f, "alice", f"wrong{n}")
                n += 1
                with lock:
                    codes.append((time.time(), source, code))
                if code in (0, 400):
                    break
        except OSError:
            pass
        s.close()


def legit_login(port, source):
    """bob's correct login from `source`: seconds until 281 (or the code it got)."""
    t = time.perf_counter()
    s, f, _ = connect(port, source)
    code = attempt(s, f, "bob", "bob-secret")
    s.close()
    return time.perf_counter() - t, code


def attack(port, pid, conns, sources, guesses, seconds):
    """`conns` attacking connections spread over `sources` addresses; returns a dict."""
    codes, lock = [], threading.Lock()
    rss0, cpu0 = rss_kib(pid), cpu_seconds(pid)
    sampler = Sampler(pid)
    until = time.time() + seconds
    threads = [threading.Thread(target=attacker, args=(port, f"127.0.{1 + i % sources // 250}.{2 + i % sources % 250}",
                                                        guesses, until, codes, lock), daemon=True)
               for i in range(conns)]
    t0 = time.time()
    for t in threads:
        t.start()
    time.sleep(min(2, seconds / 2))
    login = legit_login(port, "127.0.254.1")
    for t in threads:
        t.join()
    elapsed = time.time() - t0
    peak = sampler.done()
    cpu = cpu_seconds(pid) - cpu0
    time.sleep(1)
    after = rss_kib(pid)
    answered = [c for c in codes if c[2] == 481]
    per_source = {}
    for _, src, _ in answered:
        per_source[src] = per_source.get(src, 0) + 1
    kinds = {}
    for c in codes:
        kinds[c[2]] = kinds.get(c[2], 0) + 1
    return {"conns": conns, "sources": sources, "rss0": rss0, "peak": peak, "after": after, "elapsed": elapsed,
            "guesses_per_s": len(answered) / elapsed,
            "per_source_per_s": max(per_source.values(), default=0) / elapsed, "codes": kinds,
            "login": login, "cpu": cpu}


def one_connection(port, n=30):
    """`n` wrong passwords on one connection, one after another."""
    s, f, _ = connect(port, "127.0.250.1")
    t = time.perf_counter()
    seen = []
    try:
        for i in range(n):
            code = attempt(s, f, "alice", f"guess{i}")
            seen.append((round(time.perf_counter() - t, 2), code))
            if code in (0, 400):
                break
        if seen and seen[-1][1] != 0:
            s.sendall(b"DATE\r\n")
            line = f.readline()
            seen.append((round(time.perf_counter() - t, 2), int(line[:3]) if line else 0))
    except OSError:
        seen.append((round(time.perf_counter() - t, 2), 0))
    s.close()
    return seen, time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/listnews"))
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--doc", action="store_true", help="write the figures into docs/reliability.md")
    a = ap.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    hashes = {u: subprocess.run([a.binary, "passwd"], input=f"{u}-secret\n".encode(), capture_output=True,
                                check=True).stdout.decode().strip() for u in ("alice", "bob")}
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "a.toml")
        open(cfg, "w").write(CONFIG.format(data=os.path.join(tmp, "data"), **hashes))

        def start():
            p = subprocess.Popen([a.binary, "serve", "--config", cfg], stdout=subprocess.PIPE,
                                 stderr=open(os.path.join(tmp, "server.log"), "a"),
                                 env={**os.environ, "RUST_LOG": "info"})
            port = int(p.stdout.readline().decode().strip().rsplit(":", 1)[1])
            threading.Thread(target=lambda: p.stdout.read(), daemon=True).start()
            return p, port

        log_path = os.path.join(tmp, "server.log")
        for conns, sources, guesses in [(20, 1, 3), (60, 1, 10), (200, 50, 1000), (1000, 250, 1000)]:
            p, port = start()
            mark = os.path.getsize(log_path)
            try:
                r = attack(port, p.pid, conns, sources, guesses, a.seconds)
            finally:
                p.terminate()
                p.wait()
            with open(log_path) as f:
                f.seek(mark)
                lines = f.read().splitlines()
            # Passwords actually checked (the others were answered 481 unchecked).
            checked = sum(1 for l in lines if "auth: failed " in l and "reason=bad-password" in l)
            t, code = r["login"]
            codes = ", ".join(f"{k}: {v:,}" for k, v in sorted(r["codes"].items()))
            rows.append(f"| {conns:,} connections from {sources} address{'es' if sources > 1 else ''}, up to "
                        f"{guesses:,} wrong passwords each ({r['elapsed']:.1f} s) | RSS {r['rss0']:,} KiB idle → "
                        f"peak **{r['peak']:,} KiB** → {r['after']:,} KiB after | {checked / r['elapsed']:,.1f} passwords "
                        f"checked/s; {r['guesses_per_s']:,.1f} failures answered/s in all, "
                        f"{r['per_source_per_s']:,.1f}/s to the busiest address; CPU {r['cpu']:.1f} s; "
                        f"answers {codes} | bob's correct login from another address: {code} in {t:.2f} s |")
            print(rows[-1], flush=True)
        p, port = start()
        try:
            seen, secs = one_connection(port)
        finally:
            p.terminate()
            p.wait()
        log = open(os.path.join(tmp, "server.log")).read().splitlines()
        failed = [l for l in log if "auth: failed " in l]
    rows.append(f"| 30 wrong passwords on one connection | {len(seen)} answers in {secs:.1f} s: "
                f"{', '.join(f'{c} at {t} s' for t, c in seen[:12])}{' …' if len(seen) > 12 else ''} | | |")
    print(rows[-1])
    print(f"log lines for failures: {len(failed)}; e.g. {failed[-1] if failed else '(none)'}")
    if a.doc:
        section = ("<!-- tools/auth_attack.py writes this section -->\n"
                   f"### Authentication under attack ({time.strftime('%Y-%m-%d', time.gmtime())}, release build, "
                   f"{os.cpu_count()} cores, loopback; argon2id hashes from `listnews passwd`)\n\n"
                   "| attack | server memory | guesses | another user meanwhile |\n|---|---|---|---|\n"
                   + "\n".join(rows) + f"\n\nA failed login is logged as: `{failed[-1] if failed else ''}`\n")
        update_doc("<!-- tools/auth_attack.py writes this section -->", section, before="## Operator errors")


if __name__ == "__main__":
    main()
