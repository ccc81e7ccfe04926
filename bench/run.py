#!/usr/bin/env python3
"""Speed and memory of tuidock beside podman and runc, as ratios, on the same busybox root.

Run as root after ``./setup.sh --test`` (which installs podman, runc and
hyperfine from Debian):

    .venv/bin/python bench/run.py                 # prints the table
    .venv/bin/python bench/run.py --update-readme # and writes it into README.md
    .venv/bin/python bench/run.py --only sample-cost [--update-readme]  # the stats sample cost alone
    .venv/bin/python bench/run.py --only tui [--update-readme]          # the terminal UI's own cost (bench/tui.py)

Everything runs in a state root and cgroup parent of its own, and is removed
afterwards. podman gets the very same busybox layer (imported from tuidock's
store), runc a bundle made by ``runc spec`` over it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TUIDOCK = str(BIN / "tuidock")
PODMAN_IMAGE = "localhost/tuidock-bench-busybox:latest"
RESULTS = REPO / "bench" / "results"


def sh(*args: str, env: dict[str, str] | None = None, check: bool = True, quiet: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), env=env, check=check, text=True,
                          capture_output=quiet)


def hyperfine(commands: dict[str, str], runs: int, env: dict[str, str], prepare: str | None = None) -> dict[str, float]:
    """Mean seconds per command, measured by hyperfine (warm-up runs first)."""
    out = Path(tempfile.mktemp(suffix=".json"))
    args = ["hyperfine", "-N", "--warmup", "3", "--runs", str(runs), "--export-json", str(out)]
    if prepare:
        args += ["--prepare", prepare]
        args.remove("-N")
    for name, cmd in commands.items():
        args += ["-n", name, cmd]
    subprocess.run(args, env=env, check=True, capture_output=True)
    data = json.loads(out.read_text())
    out.unlink()
    return {r["command"]: r["mean"] for r in data["results"]}


def smaps(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in kB from /proc/<pid>/smaps_rollup."""
    rss = pss = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Rss:"):
                rss = int(line.split()[1])
            elif line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


def pids_named(comm: str, cmdline_has: str = "") -> list[int]:
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if Path(f"/proc/{p}/comm").read_text().strip() != comm:
                    continue
                if cmdline_has and cmdline_has.encode() not in Path(f"/proc/{p}/cmdline").read_bytes():
                    continue
                out.append(int(p))
            except OSError:
                pass
    return out


class Bench:
    def __init__(self, runs: int, containers: int) -> None:
        self.runs = runs
        self.n = containers
        self.tmp = Path(tempfile.mkdtemp(prefix="tuidock-bench-"))
        self.root = self.tmp / "root"
        from tui import own_network  # bench/tui.py, beside this script

        # Its own root, cgroup parent, bridge and subnet: nothing of the user's tuidock is touched.
        self.env = {**os.environ, "TUIDOCK_ROOT": str(self.root), "TUIDOCK_CGROUP_PARENT": "/tuidock-bench",
                    **own_network()}
        from runtime.engine.networking import Networks

        # Record the default network now, so every engine on this root uses this bridge and subnet.
        Networks(str(self.root), self.env).default()
        self.rows: list[tuple[str, str, str, str]] = []
        self.stats_rows: list[tuple[int, float, float]] = []

    # ---- set-up ----------------------------------------------------------------

    def setup(self) -> None:
        for tool in ("podman", "runc", "hyperfine"):
            if not shutil.which(tool):
                sys.exit(f"bench: {tool} is not installed (./setup.sh --test)")
        sh(TUIDOCK, "run", "--rm", "--network", "none", "busybox", "true", env=self.env)
        from runtime.images.store import ImageStore

        store = ImageStore(str(self.root))
        layer = store.layer_path(store.get("busybox").diff_ids[0])
        tar = self.tmp / "busybox.tar"
        sh("tar", "-C", layer, "-cf", str(tar), ".")
        sh("podman", "rmi", "-f", PODMAN_IMAGE, check=False)
        sh("podman", "import", "--change", "CMD sh", str(tar), PODMAN_IMAGE)
        self.bundle = self.tmp / "bundle"
        (self.bundle / "rootfs").mkdir(parents=True)
        sh("tar", "-C", str(self.bundle / "rootfs"), "-xf", str(tar))
        sh("runc", "spec", "--bundle", str(self.bundle))
        cfg = json.loads((self.bundle / "config.json").read_text())
        cfg["process"]["terminal"] = False
        cfg["process"]["args"] = ["true"]
        (self.bundle / "config.json").write_text(json.dumps(cfg))

    def cleanup(self) -> None:
        sh(TUIDOCK, "rm", "-f", *self.tuidock_ids(), env=self.env, check=False)
        sh(TUIDOCK, "system", "prune", "-a", "-f", env=self.env, check=False)  # its bridge and rules too
        if shutil.which("podman"):
            # Only the containers of the bench's own image: the machine's other podman containers are not ours.
            ours = sh("podman", "ps", "-aq", "--filter", f"ancestor={PODMAN_IMAGE}", check=False).stdout.split()
            if ours:
                sh("podman", "rm", "-f", *ours, check=False)
            sh("podman", "rmi", "-f", PODMAN_IMAGE, check=False)
        from runtime import launch

        launch.stop_servers(str(self.root / "run"))
        time.sleep(0.2)
        for d in Path("/sys/fs/cgroup").rglob("tuidock-bench"):
            try:
                d.rmdir()
            except OSError:
                pass
        shutil.rmtree(self.tmp, ignore_errors=True)

    def tuidock_ids(self) -> list[str]:
        return sh(TUIDOCK, "ps", "-aq", env=self.env).stdout.split()

    # ---- measurements ------------------------------------------------------------

    def run_true(self) -> None:
        res = hyperfine({
            "tuidock": f"{TUIDOCK} run --rm --network none busybox true",
            "podman": f"podman run --rm --network none {PODMAN_IMAGE} true",
            "runc": f"runc --root {self.tmp}/runc-state run --bundle {self.bundle} bench-runc",
        }, self.runs, self.env)
        self.rows.append(("`run --rm --network none busybox true`", f"{res['tuidock'] * 1000:.0f} ms",
                          f"podman {res['podman'] * 1000:.0f} ms, runc {res['runc'] * 1000:.0f} ms",
                          f"{res['tuidock'] / res['podman']:.2f}× podman, {res['tuidock'] / res['runc']:.1f}× runc"))

    def run_true_bridge(self) -> None:
        """``run --rm`` on the default bridge network: a veth pair, an address, nftables, and the teardown.

        Against tuidock's own ``--network none`` only: podman's bridge would put
        interfaces and rules on this host that the bench does not own.
        """
        res = hyperfine({"bridge": f"{TUIDOCK} run --rm busybox true",
                         "none": f"{TUIDOCK} run --rm --network none busybox true"}, self.runs, self.env)
        self.rows.append(("`run --rm busybox true` (default bridge network)", f"{res['bridge'] * 1000:.0f} ms",
                          f"tuidock `--network none` {res['none'] * 1000:.0f} ms",
                          f"+{(res['bridge'] - res['none']) * 1000:.0f} ms for the network"))

    def detached(self) -> None:
        def timed(cmd: list[str], env: dict[str, str]) -> float:
            t = time.perf_counter()
            for _ in range(self.n):
                sh(*cmd, env=env)
            return (time.perf_counter() - t) / self.n

        ours = timed([TUIDOCK, "run", "-d", "--network", "none", "busybox", "sleep", "100000"], self.env)
        theirs = timed(["podman", "run", "-d", "--network", "none", PODMAN_IMAGE, "sleep", "100000"], dict(os.environ))
        self.rows.append((f"{self.n} detached starts, one after another (per start)", f"{ours * 1000:.0f} ms",
                          f"podman {theirs * 1000:.0f} ms", f"{ours / theirs:.2f}× podman"))

    def exec_true(self) -> None:
        """``exec CONTAINER true`` into an idle container of each."""
        sh(TUIDOCK, "run", "-d", "--network", "none", "--name", "bench-exec", "busybox", "sleep", "100000",
           env=self.env)
        sh("podman", "run", "-d", "--network", "none", "--name", "bench-exec", PODMAN_IMAGE, "sleep", "100000")
        try:
            res = hyperfine({"tuidock": f"{TUIDOCK} exec bench-exec true",
                             "podman": "podman exec bench-exec true"}, self.runs, self.env)
        finally:
            sh(TUIDOCK, "rm", "-f", "bench-exec", env=self.env, check=False)
            sh("podman", "rm", "-f", "bench-exec", check=False)
        self.rows.append(("`exec CONTAINER true`", f"{res['tuidock'] * 1000:.0f} ms",
                          f"podman {res['podman'] * 1000:.0f} ms", f"{res['tuidock'] / res['podman']:.2f}× podman"))

    def memory(self) -> None:
        """What stays running per idle container: monitors (+ the fork server's share) vs conmon."""
        time.sleep(1)
        mons = pids_named("tuidock-monitor", str(self.root))
        # The network server too, if it runs (it exits a minute after its last request).
        servers = pids_named("tuidock-forksrv", str(self.root)) + pids_named("tuidock-netsrv", str(self.root))
        ours = [smaps(p) for p in mons + servers]
        n = len(mons)
        rss = sum(r for r, _ in ours) / n
        pss = sum(p for _, p in ours) / n
        conmons = [smaps(p) for p in pids_named("conmon")]
        c_rss = sum(r for r, _ in conmons) / len(conmons)
        c_pss = sum(p for _, p in conmons) / len(conmons)
        self.rows.append((f"memory per idle container ({n} running; monitor + fork server share)",
                          f"PSS {pss / 1024:.2f} MB, RSS {rss / 1024:.2f} MB",
                          f"conmon PSS {c_pss / 1024:.2f} MB, RSS {c_rss / 1024:.2f} MB",
                          f"{pss / c_pss:.1f}× conmon PSS"))

    def sample_cost(self, counts: tuple[int, ...] = (1, 10, 50, 200), samples: int = 30) -> None:
        """What one stats sample costs (Engine.stats: every running container's cgroup files, one batch).

        Two figures per size: the whole call (listing the containers from
        their records and state, then sampling) and the sampling alone (the
        TUI already holds the list). Each is the median of ``samples`` calls
        after a warm-up call.
        """
        from runtime.engine.engine import Engine

        eng = Engine(str(self.root), self.env["TUIDOCK_CGROUP_PARENT"])
        if self.tuidock_ids():
            sh(TUIDOCK, "rm", "-f", *self.tuidock_ids(), env=self.env)
        running = 0
        for n in counts:
            for _ in range(n - running):
                sh(TUIDOCK, "run", "-d", "--network", "none", "busybox", "sleep", "100000", env=self.env)
            running = max(running, n)
            infos = eng.containers(all=False)
            assert len(infos) == n, f"{len(infos)} running, wanted {n}"

            def median_ms(call: Callable[[], object]) -> float:
                call()
                times = []
                for _ in range(samples):
                    t = time.perf_counter()
                    call()
                    times.append(time.perf_counter() - t)
                return statistics.median(times) * 1000

            whole = median_ms(lambda: eng.stats())
            batch = median_ms(lambda: eng.stats(infos=infos))
            time.sleep(0.1)  # a few clock ticks, so CPU % has an interval
            got = eng.stats(infos=infos)
            assert len(got) == n and all(s.cpu.percent is not None for s in got)
            self.stats_rows.append((n, whole, batch))

    def stats_table(self) -> str:
        head = ("| running containers | `Engine.stats()` (list + sample) | per container | "
                "sample only (list given) | per container |\n|---|---|---|---|---|\n")
        body = "".join(f"| {n} | {w:.2f} ms | {w / n * 1000:.0f} µs | {b:.2f} ms | {b / n * 1000:.0f} µs |\n"
                       for n, w, b in self.stats_rows)
        machine = f"{os.cpu_count()} CPUs, kernel {os.uname().release}, cgroup v{_cgroup_version()}"
        return head + body + (f"\n_Median of 30 samples, measured {time.strftime('%Y-%m-%d')} on {machine}, "
                              "with `bench/run.py --only sample-cost`._\n")

    def table(self) -> str:
        head = "| measurement | tuidock | peers | ratio |\n|---|---|---|---|\n"
        body = "".join(f"| {a} | {b} | {c} | {d} |\n" for a, b, c, d in self.rows)
        machine = f"{os.cpu_count()} CPUs, kernel {os.uname().release}"
        return head + body + f"\n_Measured {time.strftime('%Y-%m-%d')} on {machine}, with `bench/run.py`._\n"


def _cgroup_version() -> int:
    from runtime import cgroups

    return cgroups.layout().version


def update_readme(table: str, marker: str = "bench") -> None:
    readme = REPO / "README.md"
    text = readme.read_text()
    start, end = f"<!-- {marker}:start -->\n", f"<!-- {marker}:end -->"
    if start not in text or end not in text:
        sys.exit("bench: README.md has no bench markers")
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    readme.write_text(before + start + table + end + after)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="hyperfine runs per command")
    ap.add_argument("--containers", type=int, default=50, help="detached containers to start")
    ap.add_argument("--update-readme", action="store_true")
    ap.add_argument("--only", choices=["sample-cost", "tui"],
                    help="run only this measurement (and update only its table)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: run as root")
    if args.only in (None, "tui"):
        if not shutil.which("tmux"):
            sys.exit("bench: tmux is not installed (./setup.sh --test)")
        import tui

        tui_table = tui.measure()
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "tui.md").write_text(tui_table)
        print(tui_table)
        if args.update_readme:
            update_readme(tui_table, "bench-tui")
        if args.only == "tui":
            return
    b = Bench(args.runs, args.containers)
    try:
        if args.only is None:
            b.setup()
            b.run_true()
            b.exec_true()
            b.detached()
            b.memory()
            b.run_true_bridge()  # after the memory: its network server would still be up, for a minute
        b.sample_cost()
    finally:
        b.cleanup()
    RESULTS.mkdir(exist_ok=True)
    stats_table = b.stats_table()
    (RESULTS / "sample-cost.md").write_text(stats_table)
    print(stats_table)
    if args.only is None:
        table = b.table()
        (RESULTS / "latest.md").write_text(table)
        print(table)
    if args.update_readme:
        update_readme(stats_table, "bench-stats")
        if args.only is None:
            update_readme(table)


if __name__ == "__main__":
    main()
