#!/usr/bin/env python3
"""How long a new replica takes to catch up with its upstream on the selinux epoch.

    bench/catchup.py [--epoch DIR] [--runs 3]

Imports the epoch into an upstream listnews, starts it, then starts a replica (`pull`,
`replica = true`, watch_interval_secs = 0.5) on an empty store and times how long until its
GROUP answer equals the upstream's, --runs times (a fresh replica store each time). Prints
the medians and the pull rate.
"""
import argparse, os, socket, statistics, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402

WORK = os.path.join(run.WORK, "catchup")
UP, REP = 11149, 11150


def group(port):
    with socket.create_connection(("127.0.0.1", port)) as s:
        f = s.makefile("rb")
        f.readline()
        s.sendall(f"GROUP {run.GROUP}\r\n".encode())
        return f.readline().decode().strip()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epoch", default=os.path.join(run.WORK, "selinux/git/0.git"))
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    run.sh("cargo", "build", "--profile", "profiling", "--features", "bench", "-q", cwd=run.ROOT)
    bin_dir = os.path.join(run.ROOT, "target/profiling")
    up = run.Listnews(bin_dir, os.path.join(WORK, "upstream"), UP, name="upstream")
    up.load(a.epoch)
    up.start()
    try:
        want = group(UP)
        times = []
        for r in range(a.runs):
            rep = run.Listnews(bin_dir, os.path.join(WORK, "replica"), REP, name="replica")
            rep.reset(f'[server]\nlisten = ["127.0.0.1:{REP}"]\nhostname = "replica.example"\ndata_dir = "data"\n'
                      f'watch_interval_secs = 0.5\n\n[[group]]\nname = "{run.GROUP}"\n'
                      f'pull = "nntp://127.0.0.1:{UP}/{run.GROUP}"\nreplica = true\n')
            t = time.perf_counter()
            rep.start()
            while group(REP) != want:
                time.sleep(0.05)
            times.append(time.perf_counter() - t)
            rep.stop()
            print(f"run {r + 1}: {times[-1]:.1f} s", file=sys.stderr)
        n = int(want.split()[1])
        med = statistics.median(times)
        print(f"replica catch-up on {run.GROUP} ({n:,} articles): median {med:.1f} s of {a.runs} "
              f"({n / med:,.0f} articles/s); machine: {run.machine()}")
    finally:
        up.stop()


if __name__ == "__main__":
    main()
