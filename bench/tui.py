"""The terminal UI's own cost, measured from outside in a real terminal: idle CPU and memory, key-to-screen latency.

Called by ``bench/run.py --only tui`` (and by the full run). The installed
``tuidock`` runs in a tmux window of a fixed size, on a state root, cgroup
parent, bridge and subnet of its own, with 0, 10 and 50 running ``busybox
sleep`` containers (on the default bridge network, as a user starts them).

- Idle CPU: after the app has shown every container and settled, its
  utime + stime (``/proc/<pid>/stat``: all of its threads, no children) over
  a fixed window, as a percentage of one core; its RSS at the end.
- Latency: keys go in with ``tmux send-keys`` and ``tmux capture-pane -p`` is
  polled (every 5 ms, at most 5 s) until the screen shows the key's effect,
  as a person watching the terminal would see it. tmux is part of the path:
  the app's output has been parsed by the terminal before it counts.

Everything made is removed afterwards, pass or fail: the containers
(``tuidock rm -f``), images, networks and the default network's bridge
(``tuidock system prune -a -f``), the fork servers, the cgroup parent's
directories, the tmux server and the temporary state root.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

BIN = Path(sys.executable).parent
TUIDOCK = str(BIN / "tuidock")
WIDTH, HEIGHT = 160, 45
ROW = re.compile(r"^\W*(bench-[\w-]+)\s+busybox", re.M)  # a table row: its name, then the image column
SUMMARY = re.compile(r" (\d+)(?: of (\d+))? containers, (\d+) running · sorted by ([a-z %]+?)( \(reversed\))? · ")
FILTER_BAR = "filter /"
POLL = 0.005
TIMEOUT = 5.0


def _free_subnet() -> str:
    """A random /24 of 10.192.0.0/10 that no route here overlaps (sessions run side by side)."""
    from ipaddress import IPv4Network

    from runtime.net.bridge import host_routes
    from runtime.net.ipam import random_free_subnet

    return str(random_free_subnet(IPv4Network("10.192.0.0/10"), 24, [net for net, _ in host_routes()]))


def own_network() -> dict[str, str]:
    """A bridge name and a free subnet of the benchmark's own (TUIDOCK_BRIDGE, TUIDOCK_SUBNET)."""
    return {"TUIDOCK_BRIDGE": f"tdb{secrets.token_hex(4)}", "TUIDOCK_SUBNET": _free_subnet()}


def cpu_ticks(pid: int) -> int:
    """utime + stime of every thread of ``pid``, in clock ticks (children's time is not in these two fields)."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name is in parentheses and may hold spaces: split after its closing one.
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # fields 14 and 15 of proc(5), counted from field 3


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"bench: process {pid} has no VmRSS")


def pct(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q * len(s) + 0.5) - 1))]


class Term:
    """A tmux server of our own (its own socket) whose one window runs the app at a fixed size."""

    def __init__(self, env: dict[str, str], argv: list[str]) -> None:
        self.socket = f"tuidock-bench-{secrets.token_hex(4)}"
        exports = " ".join(f"{k}={v}" for k, v in env.items() if k.startswith("TUIDOCK_"))
        # exec env ...: the window's process is the app itself, so #{pane_pid} is the app's pid.
        cmd = f"exec env TERM=xterm-256color {exports} {' '.join(argv)}"
        self.tmux("new-session", "-d", "-s", "b", "-x", str(WIDTH), "-y", str(HEIGHT), cmd)
        self.pid = int(self.tmux("display-message", "-p", "-t", "b", "#{pane_pid}").strip())

    def tmux(self, *args: str) -> str:
        r = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def keys(self, *keys: str, literal: bool = False) -> None:
        self.tmux("send-keys", "-t", "b", *(["-l"] if literal else []), *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "b")

    def until(self, done: Callable[[str], bool], timeout: float = TIMEOUT, poll: float = POLL) -> float:
        """Seconds until ``done(screen)``, polling the pane; raises after ``timeout``."""
        t0 = time.perf_counter()
        while True:
            text = self.screen()
            if done(text):
                return time.perf_counter() - t0
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"bench: the screen never showed what was waited for:\n{text}")
            time.sleep(poll)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def rows(text: str) -> list[str]:
    return ROW.findall(text)


def summary(text: str) -> tuple[int, int, int, str, bool] | None:
    """(shown, total, running, sort column, reversed) from the line under the table."""
    m = SUMMARY.search(text)
    if m is None:
        return None
    shown, of, running, col, rev = m.groups()
    return int(shown), int(of or shown), int(running), col, bool(rev)


class TuiBench:
    def __init__(self, settle: float = 5.0, window: float = 30.0, trials: int = 10) -> None:
        self.settle, self.window, self.trials = settle, window, trials
        self.tmp = Path(tempfile.mkdtemp(prefix="tuidock-bench-tui-", dir="/dev/shm"))
        self.root = self.tmp / "root"
        self.parent = f"/tuidock-bench-tui-{secrets.token_hex(4)}"
        self.env = {**os.environ, "TUIDOCK_ROOT": str(self.root), "TUIDOCK_CGROUP_PARENT": self.parent,
                    **own_network()}
        from runtime.engine.networking import Networks

        # Record the default network now, so every engine on this root uses this bridge and subnet.
        Networks(str(self.root), self.env).default()
        self.running = 0
        self.term: Term | None = None
        self.idle_rows: list[tuple[int, float, float, int, int]] = []  # n, cpu %, ticks, RSS kB, threads
        self.latency_rows: list[tuple[str, list[float]]] = []
        self.load = ""

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([TUIDOCK, *args], env=self.env, check=check, text=True, capture_output=True)

    def start_containers(self, n: int) -> None:
        for i in range(self.running, n):
            self.cli("run", "-d", "--name", f"bench-{i:02d}", "busybox", "sleep", "100000")
        self.running = max(self.running, n)

    # ---- the app ------------------------------------------------------------------

    def app_start(self) -> Term:
        self.term = Term(self.env, [TUIDOCK, "--root", str(self.root)])
        n = self.running
        self.term.until(lambda s: (summary(s) or (-1, 0, -1))[1:3] == (n, n) and (n == 0 or bool(rows(s))),
                        timeout=30)
        return self.term

    def app_stop(self) -> None:
        if self.term is not None:
            try:
                self.term.keys("q")
                deadline = time.monotonic() + 5
                while os.path.exists(f"/proc/{self.term.pid}") and time.monotonic() < deadline:
                    time.sleep(0.05)
            finally:
                self.term.close()
                self.term = None

    # ---- measurements ---------------------------------------------------------------

    def idle(self, counts: tuple[int, ...] = (0, 10, 50)) -> None:
        for n in counts:
            self.start_containers(n)
            term = self.app_start()
            try:
                time.sleep(self.settle)
                pid = term.pid
                t0, c0 = time.monotonic(), cpu_ticks(pid)
                time.sleep(self.window)
                t1, c1 = time.monotonic(), cpu_ticks(pid)
                hz = os.sysconf("SC_CLK_TCK")
                threads = len(os.listdir(f"/proc/{pid}/task"))
                self.idle_rows.append((n, 100.0 * (c1 - c0) / hz / (t1 - t0), (c1 - c0) / hz, rss_kib(pid), threads))
                shown = summary(term.screen())
                assert shown is not None and shown[0] == n, f"bench: the app shows {shown}, wanted {n} containers"
            finally:
                if n != counts[-1]:
                    self.app_stop()

    def latency(self) -> None:
        """With the app still up on the last (largest) count: filter, sort, and the CLI's changes."""
        term = self.term
        assert term is not None
        n = self.running
        names = [f"bench-{i:02d}" for i in range(n)]

        # `/` opens the filter bar; then a whole name, typed at once: the table narrows to that one row.
        # (The name waits for the bar so that the two are timed apart; keys sent in the same burst as `/`
        # go to the filter as well, tests/tui/test_keys.py.)
        bar, filt = [], []
        for k in range(self.trials):
            name = names[(k * 7 + 3) % n]
            time.sleep(0.3 + 0.05 * k % 0.4)  # off the sampler's beat
            t0 = time.perf_counter()
            term.keys("/")
            term.until(lambda s: FILTER_BAR in s)
            bar.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            term.keys(name, literal=True)
            term.until(lambda s, name=name: rows(s) == [name])
            filt.append(time.perf_counter() - t0)
            term.keys("Escape")  # clears the filter and hides its bar
            term.until(lambda s: len(rows(s)) > 1 and (summary(s) or (0, 1))[0] == (summary(s) or (0, 1))[1])
        self.latency_rows.append((f"`/`, until the filter bar shows ({n} containers)", bar))
        self.latency_rows.append((f"a container's name typed into the filter, until the table shows only its row "
                                  f"({n} containers)", filt))

        # `o`: the next sort column; the summary line names it in the same update as the rows' new order.
        from tuidock.tui import view

        order = [c.lower() for c in view.COLUMNS]
        srt = []
        changed = 0
        for k in range(2 * len(order)):
            before = summary(term.screen())
            assert before is not None
            want = order[(order.index(before[3]) + 1) % len(order)]
            rows_before = rows(term.screen())
            time.sleep(0.3 + 0.05 * k % 0.4)
            t0 = time.perf_counter()
            term.keys("o")
            term.until(lambda s, want=want: (summary(s) or (0, 0, 0, ""))[3] == want)
            srt.append(time.perf_counter() - t0)
            changed += rows(term.screen()) != rows_before
        self.latency_rows.append((f"`o` (sort by the next column), until the summary names it "
                                  f"({n} containers; the visible order changed in {changed} of {len(srt)})", srt))

        # A container started in another terminal: from `tuidock run -d` returning to its row on the screen
        # (sorted by status, newest first, so a new container is at the top), then `rm -f` to its row going.
        # ctrl+home: the cursor, and so the view, to the top row, where a new container comes.
        assert (summary(term.screen()) or (0, 0, 0, ""))[3] == "status"
        appear, gone = [], []
        for k in range(self.trials):
            name = f"bench-new-{k}"
            term.keys("C-Home")
            term.until(lambda s: rows(s)[:1] == [names[-1]])
            time.sleep(0.3 + 0.05 * k % 0.4)
            self.cli("run", "-d", "--name", name, "busybox", "sleep", "100000")
            t0 = time.perf_counter()
            term.until(lambda s, name=name: name in rows(s))
            appear.append(time.perf_counter() - t0)
            time.sleep(0.3)
            self.cli("rm", "-f", name)
            t0 = time.perf_counter()
            term.until(lambda s, name=name: name not in rows(s))
            gone.append(time.perf_counter() - t0)
        self.latency_rows.append((f"a container started by `tuidock run -d` in another terminal: from the command "
                                  f"returning to its row on the screen ({n} others running)", appear))
        self.latency_rows.append(("the same container removed by `tuidock rm -f`: from the command returning to "
                                  "its row gone", gone))

    def run(self) -> None:
        try:
            self.idle()
            self.latency()
            self.load = Path("/proc/loadavg").read_text().split()[0]
        finally:
            self.cleanup()

    # ---- clean-up -----------------------------------------------------------------------

    def cleanup(self) -> None:
        self.app_stop()
        ids = self.cli("ps", "-aq", check=False).stdout.split()
        if ids:
            self.cli("rm", "-f", *ids, check=False)
        self.cli("system", "prune", "-a", "-f", check=False)
        from runtime import cgroups, launch

        launch.stop_servers(str(self.root / "run"))
        lay = cgroups.layout()
        dirs = {mp + self.parent for mp in (lay.v1 or {}).values()} | ({lay.unified + self.parent}
                                                                         if lay.unified else set())
        for d in dirs:
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
        left = [d for d in dirs if os.path.isdir(d)]
        if left:
            print(f"bench: cgroup directories left behind: {left}", file=sys.stderr)
        if os.path.exists(f"/sys/class/net/{self.env['TUIDOCK_BRIDGE']}"):
            print(f"bench: bridge {self.env['TUIDOCK_BRIDGE']} left behind", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- the tables ---------------------------------------------------------------------

    def table(self) -> str:
        head = ("| running containers | app CPU while idle (% of one core) | CPU time in "
                f"{self.window:.0f} s | RSS | threads |\n|---|---|---|---|---|\n")
        body = "".join(f"| {n} | {p:.1f}% | {s:.2f} s | {r / 1024:.0f} MB | {t} |\n"
                       for n, p, s, r, t in self.idle_rows)
        lat = "\n| key or event, until the screen shows it | median | p90 | runs |\n|---|---|---|---|\n"
        lat += "".join(f"| {what} | {statistics.median(v) * 1000:.0f} ms | {pct(v, 0.9) * 1000:.0f} ms | {len(v)} |\n"
                       for what, v in self.latency_rows)
        machine = f"{os.cpu_count()} CPUs, kernel {os.uname().release}, load average {self.load}"
        return head + body + lat + (
            f"\n_Measured {time.strftime('%Y-%m-%d')} on {machine}, in tmux {WIDTH}x{HEIGHT}, "
            f"with `bench/run.py --only tui`._\n")


def measure() -> str:
    b = TuiBench()
    b.run()
    return b.table()
