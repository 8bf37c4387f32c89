#!/usr/bin/env python3
"""HTTP throughput of listnews's HTTP face beside public-inbox-httpd on the same archive.

    bench/web.py [--epoch DIR] [--runs 3] [--seconds 5] [--out bench/results]

Loads the selinux epoch into listnews (with http_listen) and into public-inbox (a v2 inbox,
bench/peers/public-inbox.sh), starts both on loopback (public-inbox-httpd with a worker per
core), picks 2,000 random message-ids both serve, and measures with nntp-bench's `http`
scenario (keep-alive GETs of random paths): `/<list>/<id>/raw` and `/<list>/<id>/t.mbox.gz`,
at 1 and 64 clients, the servers in turn within each run. Writes the medians and ratios to
bench/results/http.md.
"""
import argparse, os, platform, random, socket, statistics, subprocess, sys, time, urllib.parse, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from run import GROUP, WORK, bench_dir, ensure_epoch, kv, machine, sh, wait_port  # noqa: E402

NNTP, LN_HTTP, PI_HTTP = 11130, 18130, 18131


def message_ids(port):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    f.readline()
    s.sendall(f"GROUP {GROUP}\r\n".encode())
    _, _, low, high, _ = f.readline().split(b" ", 4)
    s.sendall(f"XOVER {int(low)}-{int(high)}\r\n".encode())
    f.readline()
    ids = []
    for line in f:
        if line == b".\r\n":
            break
        ids.append(line.split(b"\t")[4].decode().strip("<>"))
    s.close()
    return ids


def status(url):
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epoch")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results"))
    a = ap.parse_args()
    epoch = a.epoch or ensure_epoch()
    bins = bench_dir()
    work = os.path.join(WORK, "http")
    os.makedirs(work, exist_ok=True)
    # listnews
    ln_dir = os.path.join(work, "listnews")
    subprocess.run(["rm", "-rf", ln_dir], check=True)
    os.makedirs(ln_dir)
    cfg = os.path.join(ln_dir, "listnews.toml")
    open(cfg, "w").write(
        f'[server]\nlisten = ["127.0.0.1:{NNTP}"]\nhttp_listen = ["127.0.0.1:{LN_HTTP}"]\nhostname = "bench.example"\n'
        f'data_dir = "data"\nmax_connections_per_ip = 100000\nhttp_requests_per_second = 1000000\n\n[[group]]\nname = "{GROUP}"\nhttp_name = "{GROUP}"\n'
        f'list_id = "selinux.vger.kernel.org"\n')
    sh(os.path.join(bins, "listnews"), "import", "--config", cfg, "--group", GROUP, epoch)
    ln = subprocess.Popen([os.path.join(bins, "listnews"), "serve", "--config", cfg], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "error"})
    # public-inbox
    script = os.path.join(ROOT, "bench/peers/public-inbox.sh")
    sh("bash", script, "load", epoch, GROUP, os.path.join(work, "public-inbox"))
    pi_pid = int(kv(sh("bash", script, "start-http", str(PI_HTTP)))["pid"])
    try:
        wait_port(NNTP)  # the HTTP face starts with it
        ids = message_ids(NNTP)
        random.Random(1).shuffle(ids)
        picked = []
        for mid in ids:
            q = urllib.parse.quote(mid, safe="@")
            if all(status(f"http://127.0.0.1:{p}/{GROUP}/{q}/t.mbox.gz") == 200 for p in (LN_HTTP, PI_HTTP)):
                picked.append(q)
            if len(picked) == 2000:
                break
        files = {}
        for what in ("raw", "t.mbox.gz"):
            path = os.path.join(work, f"paths-{what}")
            open(path, "w").write("".join(f"/{GROUP}/{q}/{what}\n" for q in picked))
            files[what] = path
        results = {}
        for run in range(a.runs):
            for what in ("raw", "t.mbox.gz"):
                for clients in (1, 64):
                    for name, port in (("listnews", LN_HTTP), ("public-inbox", PI_HTTP)):
                        out = sh(os.path.join(bins, "nntp-bench"), "--addr", f"127.0.0.1:{port}", "http", "--paths",
                                 files[what], "--clients", str(clients), "--seconds", str(a.seconds))
                        r = __import__("json").loads(out.strip().splitlines()[-1])
                        results.setdefault((what, clients, name), []).append(r)
                        print(run, what, clients, name, r, flush=True)
    finally:
        ln.terminate()
        ln.wait()
        subprocess.run(["bash", script, "stop", str(pi_pid)], capture_output=True)
    med = lambda rows, k: statistics.median(r[k] for r in rows)  # noqa: E731
    lines = [f"# HTTP: listnews beside public-inbox-httpd ({time.strftime('%Y-%m-%d')})", "",
             f"Machine: {machine()}. Archive: the selinux public-inbox epoch; {len(picked)} random message-ids both "
             f"serve. public-inbox {sh('dpkg-query', '-W', '-f=${Version}', 'public-inbox').strip()} "
             f"(public-inbox-httpd -W 2: a worker per core). Medians of {a.runs} runs of {a.seconds:g} s; within each "
             "run the servers are measured in turn. Client: `nntp-bench http` (keep-alive GETs of random paths) on the "
             "same machine, loopback. Regenerate with `bench/web.py`.", "",
             "| request | clients | listnews (req/s) | public-inbox (req/s) | listnews / public-inbox | listnews p50 | "
             "public-inbox p50 | listnews MB/s |", "|---|---|---|---|---|---|---|---|"]
    for what in ("raw", "t.mbox.gz"):
        for clients in (1, 64):
            l, p = results[(what, clients, "listnews")], results[(what, clients, "public-inbox")]
            lr, pr = med(l, "requests_per_s"), med(p, "requests_per_s")
            lines.append(f"| `{what}` | {clients} | {lr:,.0f} | {pr:,.0f} | ×{lr / pr:.1f} | {med(l, 'p50_ms'):.2f} ms "
                         f"| {med(p, 'p50_ms'):.2f} ms | {med(l, 'mb_per_s'):.1f} |")
    os.makedirs(a.out, exist_ok=True)
    open(os.path.join(a.out, "http.md"), "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
