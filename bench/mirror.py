#!/usr/bin/env python3
"""listnews serving a generated lore mirror of 300 lists from one [[mirror]] entry.

    bench/mirror.py [--lists 300] [--per-list 20,200] [--runs 20]

For each size in --per-list (messages per list; 5% of messages are sent to two lists), builds a
grokmirror tree of --lists public-inbox inboxes with `git fast-import` (every tenth list has
two epochs; a manifest.js.gz), imports it with `listnews import --config` (no sources: every
list into its group), starts `listnews serve` and measures, --runs times each, the latency of
LIST ACTIVE, LIST NEWSGROUPS, NEWGROUPS and NEWNEWS (all groups, and one), then start-up (5
starts), the server's CPU while idle for 30 s with the default watch_interval_secs (every list
looked at every 10 s), and how long a new list takes to be served. Two sizes show whether
start-up and the listings grow with the number of articles. Writes bench/results/mirror.md
and mirror.json.
"""
import argparse, gzip, json, os, random, shutil, socket, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the harness next door: Listnews, sh, machine)

WORK = os.path.join(run.WORK, "mirror")
PORT = 11139


def list_name(i):
    return f"list{i:03d}"


def message(rng, i, n, lists):  # cross-posts only when first == 0 (the whole mirror)
    """Message n of list i; some go to a second list too (To/Cc name both)."""
    name = list_name(i)
    other = list_name(rng.randrange(lists)) if lists > 1 and rng.random() < 0.05 else None
    cc = f"Cc: {other}@vger.kernel.org\n" if other and other != name else ""
    body = "".join(f"line {k} of a patch review, with some words to make it mail-sized\n" for k in range(25))
    head = (f"From: Dev {n % 97} <dev{n % 97}@example.org>\nTo: {name}@vger.kernel.org\n{cc}"
            f"Subject: [PATCH {n}] {name}: change number {n}\nDate: Tue, 2 Jan 2024 10:{n % 60:02d}:00 +0000\n"
            f"Message-ID: <{name}.{n}@bench.example>\n")
    return head, body, (other if cc else None)


def build(root, lists, per_list, seed=1, first=0):
    """The mirror tree: lists (numbered from `first`) x per_list messages; a cross-post's copy
    lands in both inboxes."""
    rng = random.Random(seed)
    copies = {i: [] for i in range(first, first + lists)}
    for i in range(first, first + lists):
        for n in range(per_list):
            head, body, other = message(rng, i, n, lists)
            copies[i].append(head + f"List-Id: <{list_name(i)}.vger.kernel.org>\n\n" + body)
            if other:
                j = int(other[4:])
                copies[j].append(head + f"List-Id: <{other}.vger.kernel.org>\n\n" + body)
    manifest = {}
    for i in copies:
        msgs = copies[i]
        epochs = [msgs[: len(msgs) // 2], msgs[len(msgs) // 2:]] if i % 10 == 0 else [msgs]
        for e, chunk in enumerate(epochs):
            repo = os.path.join(root, list_name(i), "git", f"{e}.git")
            subprocess.run(["git", "init", "-q", "--bare", "-b", "master", repo], check=True)
            stream = []
            for m in chunk:
                data = m.encode()
                # Each commit continues the branch (fast-import's default): a linear history.
                stream.append(b"commit refs/heads/master\ncommitter t <t@example.org> 1704189600 +0000\ndata 3\nmsg\n")
                stream.append(b"deleteall\nM 100644 inline m\ndata %d\n" % len(data) + data + b"\n")
            subprocess.run(["git", "-C", repo, "fast-import", "--quiet"], input=b"".join(stream), check=True)
            manifest[f"/{list_name(i)}/git/{e}.git"] = {"description": f"List {i}", "reference": None}
    with gzip.open(os.path.join(root, "manifest.js.gz"), "wt") as f:
        json.dump(manifest, f)
    return sum(len(c) for c in copies.values())


class Nntp:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")
        self.f.readline()

    def timed(self, command):
        """Seconds for the whole answer to `command`, and its line count."""
        t = time.perf_counter()
        self.s.sendall(command.encode() + b"\r\n")
        status = self.f.readline()
        lines = 0
        if status[:3] in (b"215", b"230", b"231"):
            while self.f.readline() not in (b".\r\n", b""):
                lines += 1
        elif not status.startswith(b"2"):
            raise RuntimeError(f"{command}: {status!r}")
        return time.perf_counter() - t, lines


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(bin_dir, lists, per_list, runs):
    work = os.path.join(WORK, f"{per_list}")
    shutil.rmtree(work, ignore_errors=True)
    root = os.path.join(work, "lore")
    os.makedirs(root)
    print(f"building {lists} lists x {per_list} messages", file=sys.stderr)
    copies = build(root, lists, per_list)
    srv = run.Listnews(bin_dir, work, PORT)
    with open(srv.cfg, "w") as f:
        f.write(f'[server]\nlisten = ["127.0.0.1:{PORT}"]\nhostname = "bench.example"\ndata_dir = "data"\n\n'
                f'[[mirror]]\npath = "lore"\n')
    t = time.perf_counter()
    out = run.sh(srv.bin, "import", "--config", srv.cfg)
    import_secs = time.perf_counter() - t
    stored = int(out.split("messages/s): ")[1].split()[0])
    result = {"lists": lists, "per_list": per_list, "copies": copies, "stored": stored,
              "import_seconds": import_secs, "import_msgs_per_s": copies / import_secs}
    srv.start()
    srv.stop()
    result["startup_samples"] = run.startup_seconds(srv, 5)
    result["startup"] = statistics.median(result["startup_samples"])
    _, pid = srv.start()
    try:
        c = Nntp(PORT)
        commands = {"LIST ACTIVE": "LIST ACTIVE", "LIST NEWSGROUPS": "LIST NEWSGROUPS",
                    "NEWGROUPS": "NEWGROUPS 19700101 000000 GMT",
                    "NEWNEWS * (all)": "NEWNEWS * 19700101 000000 GMT",
                    "NEWNEWS one group": f"NEWNEWS org.kernel.vger.{list_name(7)} 19700101 000000 GMT"}
        for label, command in commands.items():
            c.timed(command)
            samples = [c.timed(command) for _ in range(runs)]
            result[label] = {"ms": statistics.median(s[0] for s in samples) * 1000, "lines": samples[0][1]}
        # Idle: every list's epochs looked at every watch_interval_secs (10 s by default).
        before, t = cpu_seconds(pid), time.perf_counter()
        time.sleep(30)
        result["idle_cpu_percent"] = (cpu_seconds(pid) - before) / (time.perf_counter() - t) * 100
        # A list appears in the mirror.
        staging = os.path.join(work, "new")
        os.makedirs(staging)
        build(staging, 1, 10, seed=2, first=lists)
        t = time.perf_counter()
        os.rename(os.path.join(staging, list_name(lists)), os.path.join(root, list_name(lists)))
        result["new_list_seconds"] = None
        while time.perf_counter() - t < 60:
            c.s.sendall(f"GROUP org.kernel.vger.{list_name(lists)}\r\n".encode())
            if c.f.readline().startswith(b"211 10 "):
                result["new_list_seconds"] = time.perf_counter() - t
                break
            time.sleep(0.1)
    finally:
        srv.stop()
    return result


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lists", type=int, default=300)
    ap.add_argument("--per-list", default="20,200")
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    run.sh("cargo", "build", "--profile", "profiling", "--features", "bench", "-q", cwd=run.ROOT)
    bin_dir = os.path.join(run.ROOT, "target/profiling")
    results = [measure(bin_dir, a.lists, int(n), a.runs) for n in a.per_list.split(",")]
    out_dir = os.path.join(run.ROOT, "bench/results")
    os.makedirs(out_dir, exist_ok=True)
    json.dump(results, open(os.path.join(out_dir, "mirror.json"), "w"), indent=1)
    labels = ["LIST ACTIVE", "LIST NEWSGROUPS", "NEWGROUPS", "NEWNEWS * (all)", "NEWNEWS one group"]
    head = "| measure | " + " | ".join(f"{r['per_list']}/list ({r['stored']:,} articles)" for r in results) + " |"
    rows = [head, "|---|" + "---|" * len(results),
            "| import (messages/s) | " + " | ".join(f"{r['import_msgs_per_s']:,.0f}" for r in results) + " |",
            "| start-up (s, median of 5) | " + " | ".join(f"{r['startup']:.3f}" for r in results) + " |"]
    for label in labels:
        rows.append(f"| {label} (ms; lines) | " + " | ".join(f"{r[label]['ms']:.2f}; {r[label]['lines']:,}" for r in results) + " |")
    rows.append("| idle CPU, 300 lists followed every 10 s (%) | " + " | ".join(f"{r['idle_cpu_percent']:.2f}" for r in results) + " |")
    rows.append("| a new list served after (s) | " + " | ".join(f"{r['new_list_seconds']:.1f}" if r['new_list_seconds'] else "–" for r in results) + " |")
    text = [f"# A {a.lists}-list lore mirror from one [[mirror]] entry ({time.strftime('%Y-%m-%d', time.gmtime())})", "",
            f"Machine: {run.machine()}. Generated by `bench/mirror.py` (medians of {a.runs} runs on one connection).", ""] + rows + [""]
    open(os.path.join(out_dir, "mirror.md"), "w").write("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
