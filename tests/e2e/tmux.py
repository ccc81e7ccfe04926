"""Driving a real terminal: a tmux server of the test's own, keys in, screen out."""

from __future__ import annotations

import re
import secrets
import subprocess
import time


class Tmux:
    """One tmux server (its own socket) with one window running an interactive shell."""

    def __init__(self, env: dict[str, str], width: int = 100, height: int = 30) -> None:
        self.socket = f"tuidock-test-{secrets.token_hex(4)}"
        self.session = "t"
        self.env = env
        import sys
        from pathlib import Path

        # The installed tuidock first on PATH, as after ./setup.sh with the venv activated.
        path = f"{Path(sys.executable).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        shell_env = " ".join(f"{k}={v}" for k, v in env.items() if k.startswith("TUIDOCK_")) + f" PATH={path}"
        self._tmux("new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height),
                   f"env -i HOME=/root TERM=xterm-256color {shell_env} PS1='host$ ' sh")
        self.wait_last_line(r"^host\$\s*$")

    def _tmux(self, *args: str) -> str:
        r = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)}: {r.stderr.strip()}")
        return r.stdout

    def type(self, text: str, enter: bool = True) -> None:
        self._tmux("send-keys", "-t", self.session, "-l", text)
        if enter:
            self._tmux("send-keys", "-t", self.session, "Enter")

    def keys(self, *keys: str) -> None:
        """tmux key names: C-p, C-q, Enter, ..."""
        self._tmux("send-keys", "-t", self.session, *keys)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.session)

    def wait_for(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            m = re.search(pattern, text)
            if m:
                return m
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} did not appear on the screen:\n{text}")
            time.sleep(0.05)

    def wait_last_line(self, pattern: str, timeout: float = 10.0) -> str:
        """Wait until the last non-empty line of the screen matches (a prompt waiting for input)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = [ln for ln in self.screen().splitlines() if ln.strip()]
            if lines and re.search(pattern, lines[-1]):
                return lines[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"the last line never matched {pattern!r}:\n{self.screen()}")
            time.sleep(0.05)

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.screen()))

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-t", self.session, "-x", str(width), "-y", str(height))

    def clear(self) -> None:
        self.type("clear")
        time.sleep(0.2)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)
