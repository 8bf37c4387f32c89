#!/usr/bin/env python3
"""listnews at scale: gen_corpus.py at 1,000,000 messages (8 lists), listnews alone.

    bench/scale.py [--messages 1000000] [--runs 5] [--import-runs 5] [--seconds 10]

Generates the corpus once (seeded, so it is the same every time; ../shared/corpus/gen_corpus.py,
about 2 minutes and 5.9 GB at 1M), imports it --import-runs times into a fresh store (rate and
peak RSS), then starts listnews on the last one and measures, --runs times each: start-up,
XOVER and HDR of the largest group, ARTICLE by number and by message-id at 1 and 64 clients,
GROUP latency.
Writes bench/results/scale.md and scale.json.

The peers are not run at this size: their harness scripts load a public-inbox epoch, and at
the import rates measured on the selinux epoch (about 1,400-1,500 messages/s) each would
need some 12 minutes per import of the converted corpus, before any serving run.
"""
import argparse, json, os, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the harness next door: Listnews, bench, scenario_args, sh, du, machine)

WORK = os.path.join(run.WORK, "scale")
PORT = 11129
LISTS = 8


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--import-runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    mbox = os.path.join(WORK, f"corpus-{a.messages}.mbox")
    if not os.path.exists(mbox):
        print(f"generating {a.messages:,} messages", file=sys.stderr)
        gen = os.path.join(run.ROOT, "../shared/corpus/gen_corpus.py")
        run.sh("python3", gen, "--messages", str(a.messages), "--lists", str(LISTS), "--seed", "1", "--out", mbox + ".part")
        os.rename(mbox + ".part", mbox)
    raw = os.path.getsize(mbox)
    run.sh("cargo", "build", "--profile", "profiling", "--features", "bench", "-q", cwd=run.ROOT)
    bin_dir = os.path.join(run.ROOT, "target/profiling")
    srv = run.Listnews(bin_dir, WORK, PORT)
    with open(srv.cfg, "w") as f:
        f.write(f'[server]\nlisten = ["127.0.0.1:{PORT}"]\nhostname = "bench.example"\ndata_dir = "data"\n'
                "max_connections = 100000\nmax_connections_per_ip = 100000\n")
        for i in range(LISTS):
            f.write(f'\n[[group]]\nname = "test.list-{i}"\nlist_id = "list-{i}.lists.example.org"\n')
    data = os.path.join(WORK, "data")
    rates, peaks, stored = [], [], 0
    for i in range(a.import_runs):
        print(f"import {i + 1} of {a.import_runs}", file=sys.stderr)
        subprocess.run(["rm", "-rf", data], check=True)
        t = time.perf_counter()
        out, peak = run.sh_peak(srv.bin, "import", "--config", srv.cfg, mbox)
        secs = time.perf_counter() - t
        rates.append(int(out.split("read ")[1].split()[0]) / secs)
        peaks.append(peak)
        stored = int(out.split("messages/s): ")[1].split()[0])
    store_bytes = run.du(data)
    results = {"messages": a.messages, "stored": stored, "raw_bytes": raw, "store_bytes": store_bytes,
               "import": {"msgs_per_s": statistics.median(rates), "samples": rates},
               "import-rss": {"mb": statistics.median(peaks), "samples": peaks}}

    # The first start after an import is reported apart (sled's snapshot is written when a
    # store is opened; `listnews import` reopens it once at its end for that).
    first, _ = srv.start()
    srv.stop()
    starts = run.startup_seconds(srv, a.runs)
    results["startup"] = {"seconds": statistics.median(starts), "first_after_import": first, "samples": starts}
    group = "test.list-0"  # the largest: gen_corpus gives list-0 about 35% of the traffic
    runs = run.scenario_args(a.seconds)
    srv.start()
    try:
        for r in range(a.runs):
            print(f"run {r + 1} of {a.runs}", file=sys.stderr)
            for key, args in runs.items():
                results.setdefault(key, {"samples": []})["samples"].append(run.bench(bin_dir, PORT, args, group))
    finally:
        srv.stop()
    for key in runs:
        field = next(s[2] for s in run.SCENARIOS if s[0] == key)
        results[key][field] = statistics.median(s[field] for s in results[key]["samples"])
    write(results, a, group)


def write(results, a, group):
    out_dir = os.path.join(run.ROOT, "bench/results")
    os.makedirs(out_dir, exist_ok=True)
    json.dump(results, open(os.path.join(out_dir, "scale.json"), "w"), indent=1)
    lines_per_group = results["xover"]["samples"][0].get("lines", 0)
    rows = [
        ("import (messages/s)", f"{results['import']['msgs_per_s']:,.0f}"),
        ("import peak RSS (MB)", f"{results['import-rss']['mb']:,.0f}" if "import-rss" in results else "–"),
        ("store size / raw mail", f"{results['store_bytes'] / results['raw_bytes']:.2f} "
                                  f"({results['store_bytes'] / 2**30:.2f} GiB / {results['raw_bytes'] / 2**30:.2f} GiB)"),
        ("start-up on the imported store (s)", f"{results['startup']['seconds']:.2f} "
                                               f"(first start after the import: {results['startup']['first_after_import']:.2f})"),
    ]
    for key, label, field, _ in run.SCENARIOS:
        if key in results and field in results[key] and key not in ("import", "import-rss", "store", "startup"):
            v = results[key][field]
            rows.append((label.replace("whole group", f"of {group}"), f"{v:,.2f}" if v < 100 else f"{v:,.0f}"))
    text = [f"# listnews at {results['messages']:,} messages ({time.strftime('%Y-%m-%d', time.gmtime())})", "",
            f"Machine: {run.machine()}. Corpus: `gen_corpus.py --messages {results['messages']} --lists {LISTS} "
            f"--seed 1` ({results['raw_bytes'] / 2**30:.2f} GiB mboxrd), {results['stored']:,} articles stored; "
            f"{group} holds {lines_per_group:,} of them.",
            f"Medians of {a.import_runs} imports and {a.runs} runs of the rest. listnews alone: see `bench/scale.py` "
            "for why the peers are not run at this size. Regenerate with `bench/scale.py`.", "",
            "| measure | listnews |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows] + [""]
    open(os.path.join(out_dir, "scale.md"), "w").write("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    main()
