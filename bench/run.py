#!/usr/bin/env python3
"""Benchmarks listnews side by side with public-inbox-nntpd and INN's nnrpd on one archive.

    bench/run.py [--epoch DIR] [--runs 5] [--seconds 10] [--peers listnews,public-inbox,inn,inn-rnews,inn-nodelay]
                 [--baseline BIN_DIR] [--out DIR]

Loads the same public-inbox epoch (default: the selinux bundle in ../shared, cloned to
/tmp/bench) into each server (listnews also from the epoch's messages as one mbox, the
`import-mbox` row) (peers through bench/peers/*.sh), starts them all on loopback,
measures each scenario --runs times with the Rust load generator (nntp-bench), taking the
servers in turn within each run (each run starting with another) so that they share the
machine's noisy spells, and writes the
medians, with ratios to each peer, to bench/results/results.md and bench/results/chart.png.
`inn` is fed the way INN sites feed it, at its best: innd over NNTP with MODE STREAM and
pipelined TAKETHIS (nntp-bench takethis). `inn-rnews` is the same articles fed through rnews
(an import row only; it serves nothing). `inn-nodelay` is INN's nnrpd on the same store, with
TCP_NODELAY set on its sockets by an LD_PRELOAD shim (bench/peers/nodelay.c): INN without its
40 ms Nagle stalls.
`--baseline BIN_DIR` adds `listnews-base`, the listnews binary in BIN_DIR (another build), as
one more peer: a change's figures against the code before it, in the same run.
"""
import argparse, json, os, platform, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = "/tmp/bench"
GROUP = "org.kernel.vger.selinux"
PORTS = {"listnews": 11119, "public-inbox": 11120, "inn": 11121, "inn-nodelay": 11122, "listnews-base": 11123}
# Peers measured for their import only (they serve nothing).
IMPORT_ONLY = {"inn-rnews"}
SCENARIOS = [
    ("import", "import (messages/s)", "msgs_per_s", True),
    ("import-mbox", "import of the archive as an mbox (messages/s; peers: their import above)", "msgs_per_s", True),
    ("store", "store size / raw mail", "ratio", False),
    ("import-rss", "import peak RSS (MB)", "mb", False),
    ("xover", "XOVER whole group (lines/s)", "median_lines_per_s", True),
    ("hdr", "HDR Subject whole group (lines/s)", "median_lines_per_s", True),
    ("article-number-1", "ARTICLE random number, 1 client (articles/s)", "articles_per_s", True),
    ("article-number-64", "ARTICLE random number, 64 clients (articles/s)", "articles_per_s", True),
    ("article-id-1", "ARTICLE random message-id, 1 client (articles/s)", "articles_per_s", True),
    ("article-id-64", "ARTICLE random message-id, 64 clients (articles/s)", "articles_per_s", True),
    ("group", "GROUP latency p50 (ms)", "p50_ms", False),
    ("startup", "start-up on the imported store (s)", "seconds", False),
    ("idle", "RSS per idle connection, 10,000 open (INN: 200) (bytes)", "bytes_per_connection", False),
]


# How the chart names the INN rows, so that it says how each was fed and served.
CHART_NAMES = {"inn": "inn (innd, TAKETHIS feed)", "inn-rnews": "inn-rnews (rnews feed)",
               "inn-nodelay": "inn-nodelay (TCP_NODELAY shim)"}


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw).stdout


def sh_peak(*args):
    """Runs a command like `sh`; returns its output and its peak RSS in MB (the kernel's
    high-water mark for that one process, from wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(args, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise subprocess.CalledProcessError(proc.returncode, args, out.read(), err.read())
        return out.read().decode(), usage.ru_maxrss * 1024 / 1e6


def kv(text):
    out = {}
    for line in text.splitlines():
        for part in line.split():
            if "=" in part:
                k, v = part.split("=", 1)
                out[k] = v
    return out


def wait_port(port, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100)[:1] == b"2":
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing answers on port {port}")


def raw_size(epoch):
    out = subprocess.run(["git", "-C", epoch, "rev-list", "--all", "--objects"], capture_output=True, text=True, check=True).stdout
    # rev-list prints "<id> <path>" for blobs; cat-file wants the id alone.
    ids = "\n".join(l.split()[0] for l in out.splitlines() if l) + "\n"
    batch = subprocess.run(["git", "-C", epoch, "cat-file", "--batch-check=%(objecttype) %(objectsize)"],
                           input=ids, capture_output=True, text=True, check=True).stdout
    return sum(int(l.split()[1]) for l in batch.splitlines() if l.startswith("blob"))


def du(path):
    return int(sh("du", "-sb", path).split()[0])


class Listnews:
    def __init__(self, bin_dir, work=None, port=None, name="listnews"):
        self.name = name
        self.bin = os.path.join(bin_dir, "listnews")
        self.dir = work or os.path.join(WORK, name)
        self.cfg = os.path.join(self.dir, "listnews.toml")
        self.port = port or PORTS[self.name]

    def reset(self, config):
        """Empties the server's folder and writes `config` as its configuration."""
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        with open(self.cfg, "w") as f:
            f.write(config)

    def load(self, epoch):
        """One import from empty: {msgs_per_s, store_bytes, peak_rss_mb}."""
        self.reset(f'[server]\nlisten = ["127.0.0.1:{self.port}"]\nhostname = "bench.example"\n'
                   f'data_dir = "data"\nmax_connections = 100000\nmax_connections_per_ip = 100000\n\n'
                   f'[[group]]\nname = "{GROUP}"\nlist_id = "selinux.vger.kernel.org"\n')
        t = time.perf_counter()
        out, peak = sh_peak(self.bin, "import", "--config", self.cfg, "--group", GROUP, epoch)
        secs = time.perf_counter() - t
        n = int(out.split("read ")[1].split()[0])
        return {"msgs_per_s": n / secs, "store_bytes": du(os.path.join(self.dir, "data")), "peak_rss_mb": peak}

    def start(self):
        t = time.perf_counter()
        self.proc = subprocess.Popen([self.bin, "serve", "--config", self.cfg], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, env={**os.environ, "RUST_LOG": "error"})
        wait_port(self.port)
        return time.perf_counter() - t, self.proc.pid

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Peer:
    def __init__(self, name, bin_dir):
        self.name = name
        self.bin_dir = bin_dir
        # inn-nodelay: the same INN (and store), its nnrpd started through the NODELAY shim;
        # inn-rnews: INN fed through rnews instead of TAKETHIS.
        self.base, _, self.variant = name.partition("-")
        self.script = os.path.join(ROOT, "bench/peers", f"{self.base if self.variant in ('nodelay', 'rnews') else name}.sh")

    def load(self, epoch):
        """One load from empty: {msgs_per_s, store_bytes}; None for a peer that loads nothing."""
        if self.variant == "nodelay":
            return None
        feed = ["rnews" if self.variant == "rnews" else "takethis"] if self.base == "inn" else []
        out = kv(sh("bash", self.script, "load", epoch, GROUP, os.path.join(WORK, self.name), *feed,
                    env={**os.environ, "NNTP_BENCH": os.path.join(self.bin_dir, "nntp-bench")}))
        secs = float(out["import_seconds"])
        return {"msgs_per_s": int(out["messages"]) / secs, "store_bytes": int(out["store_bytes"])}

    def start(self):
        t = time.perf_counter()
        extra = ["nodelay"] if self.variant == "nodelay" else []
        out = kv(sh("bash", self.script, "start", str(PORTS[self.name]), *extra))
        self.pid = int(out["pid"])
        wait_port(PORTS[self.name])
        return time.perf_counter() - t, self.pid

    def stop(self):
        subprocess.run(["bash", self.script, "stop", str(self.pid)], capture_output=True)


def bench(bin_dir, port, args, group=GROUP):
    out = sh(os.path.join(bin_dir, "nntp-bench"), "--addr", f"127.0.0.1:{port}", "--group", group, *args)
    return json.loads(out.strip().splitlines()[-1])


def scenario_args(seconds):
    """nntp-bench arguments of each serving scenario, by key (see SCENARIOS)."""
    return {"xover": ["xover", "--rounds", "3"], "hdr": ["hdr", "--rounds", "3"],
            "article-number-1": ["article-number", "--clients", "1", "--seconds", str(seconds)],
            "article-number-64": ["article-number", "--clients", "64", "--seconds", str(seconds)],
            "article-id-1": ["article-id", "--clients", "1", "--seconds", str(seconds)],
            "article-id-64": ["article-id", "--clients", "64", "--seconds", str(seconds)],
            "group": ["group", "--count", "2000"]}


def startup_seconds(srv, runs):
    """Start-up times of `runs` starts of a server (each stopped again)."""
    starts = []
    for _ in range(runs):
        secs, _ = srv.start()
        starts.append(secs)
        srv.stop()
    return starts


def ensure_epoch(epoch=os.path.join(WORK, "selinux/git/0.git")):
    """The selinux epoch, cloned from the bundle in ../shared the first time."""
    if not os.path.isdir(epoch):
        os.makedirs(os.path.dirname(epoch), exist_ok=True)
        bundle = os.path.join(ROOT, "../shared/corpus/lore/selinux.0.bundle")
        sh("git", "clone", "-q", "--mirror", bundle, epoch)
    return epoch


def ensure_mbox(epoch):
    """The epoch's messages as one mboxrd file (oldest first, deleted ones left out), written
    beside the epoch the first time: the import of "the mbox of the same archive"."""
    mbox = os.path.join(os.path.dirname(os.path.dirname(epoch)), "archive.mbox")
    if os.path.exists(mbox):
        return mbox
    commits = sh("git", "-C", epoch, "log", "--reverse", "--format=%H").split()
    cat = subprocess.run(["git", "-C", epoch, "cat-file", "--batch"], input="".join(f"{c}:m\n" for c in commits).encode(),
                         capture_output=True, check=True).stdout
    with open(mbox + ".part", "wb") as out:
        pos = 0
        while pos < len(cat):
            end = cat.index(b"\n", pos)
            header = cat[pos:end].split()
            pos = end + 1
            if len(header) < 3 or header[1] != b"blob":
                continue  # "<commit>:m missing": a deletion
            size = int(header[2])
            body, pos = cat[pos:pos + size], pos + size + 1
            out.write(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n")
            for line in body.splitlines(keepends=True):
                out.write(b">" + line if line.lstrip(b">").startswith(b"From ") else line)
            out.write(b"\n" if body.endswith(b"\n") else b"\n\n")
    os.rename(mbox + ".part", mbox)
    return mbox


def bench_dir():
    """Builds listnews and nntp-bench with the profiling profile; returns their folder."""
    sh("cargo", "build", "--profile", "profiling", "--features", "bench", "-q", cwd=ROOT)
    return os.path.join(ROOT, "target/profiling")


def machine():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    return f"{cpu}, {os.cpu_count()} cores, {mem / 1048576:.0f} GiB RAM, Linux {platform.release()}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epoch", default=os.path.join(WORK, "selinux/git/0.git"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--peers", default="listnews,public-inbox,inn,inn-rnews,inn-nodelay")
    ap.add_argument("--baseline", metavar="BIN_DIR",
                    help="also measure the listnews binary in BIN_DIR as `listnews-base` (another build)")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench/results"), help="where results go")
    ap.add_argument("--report-only", action="store_true",
                    help="rewrite results.md and chart.png from results.json, measuring nothing")
    a = ap.parse_args()
    if a.report_only:
        with open(os.path.join(a.out, "results.json")) as f:
            results = json.load(f)
        a.runs = results.pop("_runs", a.runs)
        write(results, results.pop("_raw_bytes"), a)
        return
    os.makedirs(WORK, exist_ok=True)
    ensure_epoch(a.epoch)
    mbox = ensure_mbox(a.epoch)
    bin_dir = bench_dir()
    raw = raw_size(a.epoch)
    servers = [Listnews(bin_dir) if n == "listnews" else Peer(n, bin_dir) for n in a.peers.split(",")]
    if a.baseline:
        servers.append(Listnews(os.path.abspath(a.baseline), name="listnews-base"))
    results = {srv.name: {} for srv in servers}
    messages = None
    # Loading: one server at a time (each alone on the machine then), every server once per
    # round and --runs rounds, so that the imports share the machine's noisy spells as the
    # serving scenarios do (INN's TAKETHIS feed varied from 1,575 to 2,782 messages/s between
    # two runs of the same hour). Import-only peers load first in each round: every INN load
    # starts from an empty INN, and the store that inn and inn-nodelay serve must be the
    # TAKETHIS-fed one. Each server's figures are the medians of its rounds; its store is the
    # last round's.
    order = sorted(servers, key=lambda srv: srv.name not in IMPORT_ONLY)
    loads = {srv.name: [] for srv in servers}
    mbox_loads = {srv.name: [] for srv in servers}
    for run in range(a.runs):
        for srv in order:
            if isinstance(srv, Listnews):
                # The mbox first: the store served afterwards is the epoch's.
                print(f"{srv.name}: loading the mbox ({run + 1} of {a.runs})", file=sys.stderr)
                mbox_loads[srv.name].append(srv.load(mbox)["msgs_per_s"])
            print(f"{srv.name}: loading ({run + 1} of {a.runs})", file=sys.stderr)
            load = srv.load(a.epoch)
            if load:
                loads[srv.name].append(load)
    for srv in order:
        r = results[srv.name]
        if loads[srv.name]:
            rounds = loads[srv.name]
            r["import"] = {"msgs_per_s": statistics.median(x["msgs_per_s"] for x in rounds),
                           "samples": [x["msgs_per_s"] for x in rounds]}
            r["store"] = {"ratio": rounds[-1]["store_bytes"] / raw}
            if "peak_rss_mb" in rounds[0]:
                r["import-rss"] = {"mb": statistics.median(x["peak_rss_mb"] for x in rounds)}
            # The peers have one way in (INN: its TAKETHIS or rnews feed, public-inbox: its
            # epoch), which the mbox row compares listnews's mbox import with.
            mbox_rates = mbox_loads[srv.name] or [x["msgs_per_s"] for x in rounds]
            r["import-mbox"] = {"msgs_per_s": statistics.median(mbox_rates), "samples": mbox_rates}
        if srv.name not in IMPORT_ONLY:
            r["startup"] = {"seconds": statistics.median(startup_seconds(srv, a.runs))}
    servers = [srv for srv in servers if srv.name not in IMPORT_ONLY]
    runs = scenario_args(a.seconds)
    pids = {}
    try:
        for srv in servers:
            pids[srv.name] = srv.start()[1]
        # The mean article size, for the loopback floor.
        probe = bench(bin_dir, PORTS[servers[0].name], ["article-number", "--clients", "1", "--seconds", "1"])
        mean_size = int(probe["mb_per_s"] * 1e6 / max(probe["articles_per_s"], 1))
        # Every server reads the whole group once, unrecorded, so that each is measured with
        # its data in memory rather than whichever happened to be read first.
        for srv in servers:
            for warm in (["xover", "--rounds", "1"], ["hdr", "--rounds", "1"]):
                bench(bin_dir, PORTS[srv.name], warm)
        floor = []
        for run in range(a.runs):
            print(f"run {run + 1} of {a.runs}", file=sys.stderr)
            floor.append(bench(bin_dir, PORTS[servers[0].name], ["echo", "--size", str(mean_size), "--seconds", str(a.seconds)]))
            # Each run starts the round with another server: the first measured right after the
            # echo floor was seen to come out about a fifth lower than in a side-by-side check.
            order = servers[run % len(servers):] + servers[:run % len(servers)]
            for key, args in runs.items():
                for srv in order:
                    print(f"  {srv.name}: {key}", file=sys.stderr)
                    results[srv.name].setdefault(key, {"samples": []})["samples"].append(bench(bin_dir, PORTS[srv.name], args))
        for srv in servers:
            for key in runs:
                field = next(s[2] for s in SCENARIOS if s[0] == key)
                entry = results[srv.name][key]
                entry[field] = statistics.median(s[field] for s in entry["samples"])
        results["_floor"] = {"size": mean_size, "round_trips_per_s": statistics.median(f["round_trips_per_s"] for f in floor),
                             "p50_ms": statistics.median(f["p50_ms"] for f in floor), "samples": floor}
        # 10,000 idle connections: one server at a time, each started afresh (a server that
        # has just served the scenarios holds freed memory its new connections reuse, which
        # hides what they cost: public-inbox's Perl heap once grew by nothing at all). nnrpd
        # forks a process per connection (10,000 would be 10,000 processes): 200 there.
        for srv in servers:
            if srv.name == "inn-nodelay":
                continue
            srv.stop()
            pids[srv.name] = srv.start()[1]
            # One short session first, so code loaded on first use is not counted.
            bench(bin_dir, PORTS[srv.name], ["group", "--count", "100"])
            time.sleep(1)
            conns = "200" if srv.name == "inn" else "10000"
            results[srv.name]["idle"] = bench(bin_dir, PORTS[srv.name], ["idle", "--connections", conns, "--pid", str(pids[srv.name])])
    finally:
        for srv in servers:
            if srv.name in pids:
                srv.stop()
    write(results, raw, a)


def write(results, raw, a):
    out_dir = a.out
    os.makedirs(out_dir, exist_ok=True)
    json.dump({**results, "_raw_bytes": raw, "_runs": a.runs}, open(os.path.join(out_dir, "results.json"), "w"), indent=1)
    floor = results.pop("_floor", None)
    names = list(results)
    peers = [n for n in names if n != "listnews"]
    lines = [f"# listnews against its peers ({time.strftime('%Y-%m-%d', time.gmtime())})", "",
             f"Machine: {machine()}. Archive: the selinux public-inbox epoch ({raw / 1048576:.1f} MiB of raw mail).",
             f"Medians of {a.runs} runs, imports included; within each run the servers are measured (and loaded) in "
             "turn. Client: nntp-bench on the same machine, loopback. Regenerate with `bench/run.py`.", "",
             "| " + " | ".join(["measure", *names, *(f"listnews / {p}" for p in peers)]) + " |",
             "|---" * (1 + len(names) + len(peers)) + "|"]
    for key, label, field, higher_better in SCENARIOS:
        vals = [results[n].get(key, {}).get(field) for n in names]
        cells = [f"{v:,.2f}" if isinstance(v, float) and v < 100 else (f"{v:,.0f}" if v is not None else "–") for v in vals]
        ratios = []
        ln = results.get("listnews", {}).get(key, {}).get(field)
        for p in peers:
            pv = results[p].get(key, {}).get(field)
            if ln and pv:
                ratio = ln / pv if higher_better else pv / ln
                ratios.append(f"×{ratio:,.1f}")
            else:
                ratios.append("–")
        lines.append("| " + " | ".join([label, *cells, *ratios]) + " |")
    if floor:
        lines += ["", f"Loopback floor for one client on this machine, same run: an echo of {floor['size']:,} bytes "
                  f"(the mean article) per request line, {floor['round_trips_per_s']:,.0f} round trips/s "
                  f"(p50 {floor['p50_ms'] * 1000:.0f} µs). No server answers ARTICLE at depth 1 faster than that."]
    lines += ["", "Ratios are listnews's advantage: higher is better for listnews, whichever way the measure runs.",
              "`inn` is innd fed over NNTP by a streaming TAKETHIS feeder (INN at its best); `inn-rnews` is "
              "the same articles fed through `rnews` (import only). "
              "`inn-nodelay` is the same nnrpd and store with TCP_NODELAY set by an LD_PRELOAD shim "
              "(`bench/peers/nodelay.c`): INN without its 40 ms Nagle stall; its import, store and idle "
              "figures are INN's.",
              "", "![chart](chart.png)", ""]
    open(os.path.join(out_dir, "results.md"), "w").write("\n".join(lines))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
        keys = [s for s in SCENARIOS if results.get("listnews", {}).get(s[0], {}).get(s[2])]
        fig, axes = plt.subplots(len(keys), 1, figsize=(8, 1.4 * len(keys) + 1))
        for ax, (key, label, field, higher_better) in zip(axes, keys):
            shown = [n for n in names if results[n].get(key, {}).get(field)]
            vals = [results[n][key][field] for n in shown]
            ax.barh([CHART_NAMES.get(n, n) for n in shown], vals, color=["#2b7bba" if n == "listnews" else "#999999" for n in shown])
            # Log scale (the figures span up to five orders of magnitude), with room on the left
            # so that the smallest bar still shows, and each bar labelled with its figure.
            ax.set_xscale("log")
            ax.set_xlim(min(vals) / 4, max(vals) * 4)
            ax.minorticks_off()
            ax.xaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0,)))
            ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            for y, v in enumerate(vals):
                ax.text(v, y, f" {v:,.2f}" if v < 100 else f" {v:,.0f}", va="center", fontsize=7)
            ax.set_title(label + ("" if higher_better else " — lower is better"), fontsize=9, loc="left")
            ax.tick_params(labelsize=8)
        fig.suptitle(f"listnews vs peers — {machine()}", fontsize=9)
        fig.tight_layout(rect=(0, 0, 1, 0.985))
        fig.savefig(os.path.join(out_dir, "chart.png"), dpi=110)
    except ImportError:
        print("matplotlib missing (pip install matplotlib): no chart", file=sys.stderr)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
