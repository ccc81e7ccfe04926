"""The Textual application: screens, the sampler and watcher threads, engine calls in workers."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen

from runtime.engine.engine import Engine
from runtime.errors import TuidockError

from .. import config
from .backend import Backend, Snapshot
from .screens.listing import ScreenCommands

# The app's actions that users may rebind in config.toml ([keys] action = "key").
REBINDABLE = ("details", "new", "start", "stop", "restart", "pause", "delete", "exec", "attach", "logs", "filter",
              "sort", "help", "quit")


class SnapshotReady(Message):
    """The sampler has a new view of every container."""

    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap


class TuidockApp(App[int]):
    """tuidock's terminal UI."""

    TITLE = "tuidock"
    # "Show images/volumes/networks" in the command palette on every screen.
    COMMANDS = App.COMMANDS | {ScreenCommands}
    CSS_PATH = "tuidock.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("question_mark", "help", "Help", key_display="?", id="help"),
        Binding("1", "switch_screen('containers')", "Containers", show=False, id="screen_containers"),
        Binding("2", "switch_screen('images')", "Images", show=False, id="screen_images"),
        Binding("3", "switch_screen('volumes')", "Volumes", show=False, id="screen_volumes"),
        Binding("4", "switch_screen('networks')", "Networks", show=False, id="screen_networks"),
    ]

    def __init__(self, engine: Engine | None = None, settings: dict[str, Any] | None = None,
                 sample: bool = True) -> None:
        self.settings = settings if settings is not None else config.load()
        super().__init__()
        self.engine = engine or Engine()
        self.backend = Backend(self.engine, float(self.settings["refresh_interval"]))
        self.snapshot: Snapshot | None = None
        self.detach_keys = str(self.settings["detach_keys"])
        self._sample = sample  # tests with fixed content turn the threads off
        self._stop = threading.Event()
        self._theme_problem = ""
        theme = str(self.settings["theme"])
        if theme in self.available_themes:
            self.theme = theme
        else:
            self._theme_problem = (f"config: no theme {theme!r}; themes: {', '.join(sorted(self.available_themes))}")
        self.set_keymap({f"{name}": key for name, key in dict(self.settings["keys"]).items()})

    # ---- start and stop -------------------------------------------------------

    def on_mount(self) -> None:
        from .screens.containers import ContainersScreen

        self.push_screen(ContainersScreen())
        if self._theme_problem:
            self.notify(self._theme_problem, severity="warning", timeout=10)
        if self._sample:
            self.run_worker(self._sampler, thread=True, group="sampler", name="sampler")
            self.run_worker(self._watcher, thread=True, group="watcher", name="watcher")

    def _sampler(self) -> None:
        def deliver(snap: Snapshot) -> None:
            # post_message is thread-safe and never blocks, so sampling goes on while the app is suspended.
            self.post_message(SnapshotReady(snap))

        self.backend.sample_forever(self._stop, deliver)

    def _watcher(self) -> None:
        self.backend.watch_forever(self._stop)

    async def action_quit(self) -> None:
        self._stop.set()
        self.backend.wake()
        self.exit(0)

    def on_unmount(self) -> None:
        self._stop.set()
        self.backend.wake()

    # ---- snapshots ------------------------------------------------------------

    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        snap = message.snap
        if self.snapshot is not None and snap.seq <= self.snapshot.seq:
            return  # a stale one, queued while the app was suspended
        self.deliver(snap)

    def deliver(self, snap: Snapshot) -> None:
        """Show ``snap`` on every screen that shows containers (tests call this with fixed content)."""
        self.snapshot = snap
        if snap.error:
            self.notify(snap.error, title="engine", severity="error")
        for screen in self.screen_stack:
            show = getattr(screen, "show_snapshot", None)
            if show is not None:
                show(snap)

    # ---- engine calls ---------------------------------------------------------

    def engine_call(self, what: str, fn: Callable[[], Any], done: Callable[[Any], None] | None = None) -> None:
        """Run an engine call in a worker thread; errors become a notification, never a traceback."""

        def work() -> None:
            try:
                result = fn()
            except TuidockError as e:
                self.call_from_thread(self.notify, str(e), title=what, severity="error")
            except Exception as e:  # an engine bug must not take the UI down; say what happened
                self.call_from_thread(self.notify, f"{e.__class__.__name__}: {e}", title=f"{what}: internal error",
                                      severity="error")
            else:
                if done is not None:
                    self.call_from_thread(done, result)
            finally:
                self.backend.wake()

        self.run_worker(work, thread=True, group="actions", name=what)

    # ---- handing the terminal over ---------------------------------------------

    def cli_argv(self, *args: str) -> list[str]:
        """The installed CLI, on this app's state root."""
        return [sys.executable, "-m", "tuidock", "--root", self.engine.root, *args]

    def run_in_terminal(self, argv: list[str], banner: str) -> int:
        """Suspend the UI, give the real terminal to ``argv`` (exec, attach, run -it), and come back.

        The sampler keeps recording while the app is suspended; the screen is
        redrawn at the terminal's current size when the command ends.
        """
        env = dict(os.environ, TUIDOCK_CGROUP_PARENT=self.engine.cgroup_parent)
        with self.suspend():
            sys.stdout.write(f"\x1b[2J\x1b[H\x1b[1mtuidock\x1b[0m {banner}\r\n")
            sys.stdout.flush()
            code = subprocess.run(argv, env=env, check=False).returncode
        self.refresh(layout=True)
        self.backend.wake()
        return code

    def handoff(self, verb: str, cid: str, name: str, extra: Iterable[str] = ()) -> None:
        """``e`` and ``a``: exec a shell in, or attach to, a container in the real terminal."""
        keys = self.detach_keys
        hint = f"(detach: {keys}; exit to come back)"
        if verb == "exec":
            argv = self.cli_argv("exec", "-it", "--detach-keys", keys, cid, *extra)
            banner = f"exec {shlex.join(list(extra))} in {name} {hint}"
        else:
            argv = self.cli_argv("attach", "--detach-keys", keys, cid)
            banner = f"attached to {name} {hint}"
        code = self.run_in_terminal(argv, banner)
        if code not in (0, 130):
            self.notify(f"{verb} {name} ended with exit code {code}", title=verb,
                        severity="warning" if code < 125 else "error")

    # ---- everywhere -----------------------------------------------------------

    async def action_switch_screen(self, screen: str) -> None:
        """``1``..``4``: the containers, images, volumes or networks screen (closing any detail screen on top)."""
        from textual.screen import ModalScreen

        from .screens.containers import ContainersScreen
        from .screens.images import ImagesScreen
        from .screens.networks import NetworksScreen
        from .screens.volumes import VolumesScreen

        if isinstance(self.screen, ModalScreen):
            return  # a dialog is answered first
        kinds: dict[str, type[Screen[Any]]] = {"images": ImagesScreen, "volumes": VolumesScreen,
                                               "networks": NetworksScreen}
        if screen != "containers" and isinstance(self.screen, kinds[screen]):
            return
        # The containers screen stays at the bottom (it is fed every snapshot); the others go on top of it.
        base = next((i for i, s in enumerate(self.screen_stack) if isinstance(s, ContainersScreen)), None)
        if base is not None:
            while len(self.screen_stack) > base + 1:
                self.pop_screen()
        if screen != "containers":
            self.push_screen(kinds[screen]())

    def action_help(self) -> None:
        from .screens.dialogs import HelpScreen

        self.push_screen(HelpScreen(self.screen))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        # Every binding of the screen in front is a command too.
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if binding.description and binding.show and active.enabled:
                def run(action: str = binding.action, node: Any = active.node) -> None:
                    self.call_later(self.run_action, action, node)

                yield SystemCommand(binding.description, f"{binding.description} (key: {key})", run)


def main(root: str | None = None) -> int:
    """``tuidock`` without a verb."""
    engine = Engine(root)
    notice = engine.setup()
    if notice:
        sys.stderr.write(f"tuidock: {notice}\n")
    app = TuidockApp(engine)
    return app.run() or 0
