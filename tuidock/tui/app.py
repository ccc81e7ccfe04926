"""The Textual application: screens, the sampler and watcher threads, engine calls in workers."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.message_pump import MessagePump
from textual.screen import Screen

from runtime.engine.engine import Engine
from runtime.errors import TuidockError

from .. import config
from .backend import Backend, Snapshot
from .screens.listing import ScreenCommands

HOLD_SECONDS = 2.0  # a key not seen handled after this (its widget went away) lets the next one go

# The app's actions that users may rebind in config.toml ([keys] action = "key").
REBINDABLE = ("details", "new", "start", "stop", "restart", "pause", "delete", "exec", "attach", "logs", "filter",
              "sort", "help", "quit")


class _Travelling(events.Key):
    """A typed key that remembers where it was last sent, as it bubbles up the widget tree."""

    __slots__ = ("at", "timed")

    def __init__(self, key: events.Key, at: MessagePump) -> None:
        super().__init__(key.key, key.character)
        self.time = key.time
        self.at = at
        self.timed = False  # keys wait behind it, and a timer lets them go if it is never seen handled

    def _bubble_to(self, widget: MessagePump) -> None:
        self.at = widget
        super()._bubble_to(widget)


_Travelling.handler_name = events.Key.handler_name  # handled as the Key it is, by on_key / key_ methods


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
        self._waiting: deque[events.Key] = deque()  # typed keys not handed on yet
        self._travelling: _Travelling | None = None  # the key handed on and not handled yet
        self._gave_up: Screen[Any] | None = None
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

    # ---- keys, one at a time -------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._waiting.append(event)
            await self._take_keys()
            return
        await super().on_event(event)

    async def _take_keys(self) -> None:
        """Hand on the typed keys in order, each only once the one before has been handled.

        Textual hands every key to the widget focused when the app takes it,
        while a binding that is not a priority one runs only when its key has
        come back up the widget tree to the app. Keys typed fast (or by a
        terminal that delivers them in one read) were all handed out before the
        first one's binding ran: ``n`` and a name, typed at once, sent the name
        to the containers table; a backspace before ``tab`` erased a character
        of the next field. So a key is followed through the tree, and the next
        one waits until it has been handled, and until a screen it opened is up.
        """
        while self._waiting:
            if self._travelling is not None:
                if not self._travelling.timed:
                    self._travelling.timed = True
                    self.set_timer(HOLD_SECONDS, partial(self._landed, self._travelling))
                return
            stack = self.screen_stack
            if not stack:
                return
            screen = stack[-1]
            if not screen._is_mounted and screen is not self._gave_up:  # set once its Mount is handled
                # Compose and Mount come first on a screen's task, before anything it was sent: this runs when
                # it is up, with its AUTO_FOCUS widget focused.
                screen.call_later(self.call_next, self._take_keys)
                self.set_timer(HOLD_SECONDS, partial(self._give_up_on, screen))
                return
            key = self._waiting.popleft()
            target = self.focused or screen  # where Textual sends a key no priority binding takes
            travelling = self._travelling = _Travelling(key, target)
            await super().on_event(travelling)
            if not travelling.is_forwarded:
                self._travelling = None  # a priority binding took it, here and now
            elif target.check_consume_key(key.key, key.character):
                # Text for the focused box (a printable key to an Input): no binding can take it (Textual drops
                # those keys from the bindings of the box's ancestors), so the next key may follow at once.
                self._travelling = None
            else:  # sent to the target just now, with no turn of the loop since
                target.call_later(self._follow, travelling, target)

    def _follow(self, key: _Travelling, node: MessagePump) -> None:
        """Runs on ``node``'s task once ``node`` has handled ``key``: it stopped there, or went on to ``key.at``."""
        if self._travelling is not key:
            return
        if key.at is node:
            self._landed(key)
        elif key.at is not self:  # the app's on_key lands it
            if not key.at.call_later(self._follow, key, key.at):
                self._landed(key)  # that widget is closing: the key will not be handled

    def on_key(self, event: events.Key) -> None:
        # Runs before App._on_key (the subclass's handler first); the next key is taken by call_next, once this
        # message is handled, so after this key's binding has run.
        self._landed(event)

    def _landed(self, key: events.Key) -> None:
        if self._travelling is key:
            self._travelling = None
            self.call_next(self._take_keys)

    def _give_up_on(self, screen: Screen[Any]) -> None:
        """A screen not up after :data:`HOLD_SECONDS` (closed before it was): its keys go on as they are."""
        if not screen._is_mounted and self.screen_stack and self.screen_stack[-1] is screen:
            self._gave_up = screen
            self.call_next(self._take_keys)

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
