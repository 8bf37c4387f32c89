#!/usr/bin/env python3
"""Deliveries per second through the MTA path (`listnews deliver`) while clients read.

Starts `listnews serve` on a fresh store (loopback, port chosen by the kernel), imports the
sample archive, then runs N reader clients (GROUP, XOVER of the newest articles, ARTICLE)
while W workers deliver M messages, each through its own `listnews deliver` process, as an
MTA would. Prints deliveries/s and reader commands/s for each run and the median.

    bench/deliver_load.py [--binary target/release/listnews] [--readers 50] [--workers 16]
                          [--messages 1000] [--runs 3]
"""
import argparse, os, random, socket, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config(data_dir):
    return f"""[server]
listen = ["127.0.0.1:0"]
hostname = "bench.example"
data_dir = "{data_dir}"

[[group]]
name = "bench.live"
address = "live@lists.example.org"
list_id = "live.lists.example.org"
"""


def message(i):
    body = "".join(f"line {j} of a delivered message for the benchmark\n" for j in range(40))
    return (f"From: Bench <bench@example.org>\nTo: live@lists.example.org\nSubject: delivery {i}\n"
            f"Date: Mon, 1 Jan 2024 00:00:00 +0000\nMessage-ID: <bench{i}.{time.time_ns()}@example.org>\n"
            f"List-Id: <live.lists.example.org>\n\n{body}").encode()


def reader(addr, stop, counter):
    s = socket.create_connection(addr)
    f = s.makefile("rb")
    f.readline()
    def cmd(line, multi_ok=None):
        s.sendall(line.encode() + b"\r\n")
        status = f.readline()
        counter[0] += 1
        if multi_ok and status.startswith(multi_ok):
            while f.readline() != b".\r\n":
                pass
        return status
    while not stop.is_set():
        st = cmd("GROUP bench.live").split()
        high = int(st[3]) if st[0] == b"211" else 0
        if high:
            cmd(f"XOVER {max(1, high - 50)}-{high}", b"224")
            cmd(f"ARTICLE {random.randint(1, high)}", b"220")
        else:
            time.sleep(0.01)
    s.sendall(b"QUIT\r\n")


def run(binary, readers, workers, messages):
    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "bench.toml")
        with open(cfg, "w") as fh:
            fh.write(config(os.path.join(tmp, "data")))
        server = subprocess.Popen([binary, "serve", "--config", cfg], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "warn"})
        try:
            line = server.stdout.readline().decode()
            host, port = line.strip().rsplit(" on ", 1)[1].rsplit(":", 1)
            addr = (host, int(port))
            stop, counter = threading.Event(), [0]
            threads = [threading.Thread(target=reader, args=(addr, stop, counter)) for _ in range(readers)]
            for t in threads:
                t.start()
            next_i, lock, failures = [0], threading.Lock(), [0]
            def worker():
                while True:
                    with lock:
                        i = next_i[0]
                        next_i[0] += 1
                    if i >= messages:
                        return
                    p = subprocess.run([binary, "deliver", "--config", cfg], input=message(i),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                    if p.returncode != 0:
                        failures[0] += 1
            time.sleep(0.5)
            reads_before, t0 = counter[0], time.perf_counter()
            ws = [threading.Thread(target=worker) for _ in range(workers)]
            for w in ws:
                w.start()
            for w in ws:
                w.join()
            elapsed = time.perf_counter() - t0
            reads = counter[0] - reads_before
            stop.set()
            for t in threads:
                t.join()
            if failures[0]:
                sys.exit(f"{failures[0]} deliveries failed")
            return messages / elapsed, reads / elapsed
        finally:
            server.terminate()
            server.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/listnews"))
    ap.add_argument("--readers", type=int, default=50)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    results = []
    for r in range(a.runs):
        d, q = run(a.binary, a.readers, a.workers, a.messages)
        results.append((d, q))
        print(f"run {r + 1}: {d:,.0f} deliveries/s with {a.readers} readers doing {q:,.0f} commands/s")
    print(f"median: {statistics.median(x[0] for x in results):,.0f} deliveries/s, "
          f"{statistics.median(x[1] for x in results):,.0f} reader commands/s "
          f"({a.workers} delivering processes at a time, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
