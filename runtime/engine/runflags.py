"""``docker run`` flags: their table, and turning parsed values into :class:`RunOptions`.

The table is plain data so the CLI can import it without the engine; the
conversion runs where the container is created (in the fork server's worker),
so it happens once, in one place, for the CLI and the TUI's run dialog alike.
Values that depend on the caller (``--env-file`` contents, ``-e KEY`` taking
the caller's value, relative paths) are resolved by the caller first.

Each row: (names, dest, kind, help). ``kind`` is bool, str, int, float or list.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .model import RunOptions

FLAGS: list[tuple[str, str, str, str]] = [
    ("-d, --detach", "detach", "bool", "Run the container in the background and print its ID"),
    ("-i, --interactive", "interactive", "bool", "Keep STDIN open even if not attached"),
    ("-t, --tty", "tty", "bool", "Allocate a pseudo-TTY"),
    ("--rm", "rm", "bool", "Automatically remove the container when it exits"),
    ("--name", "name", "str", "Assign a name to the container"),
    ("-e, --env", "env", "list", "Set environment variables"),
    ("--env-file", "env_file", "list", "Read in a file of environment variables"),
    ("-w, --workdir", "workdir", "str", "Working directory inside the container"),
    ("-h, --hostname", "hostname", "str", "Container host name"),
    ("--domainname", "domainname", "str", "Container NIS domain name"),
    ("--entrypoint", "entrypoint", "str", "Overwrite the default ENTRYPOINT of the image"),
    ("-u, --user", "user", "str", "Username or UID (format: <name|uid>[:<group|gid>])"),
    ("--init", "init", "bool", "Run an init inside the container that forwards signals and reaps processes"),
    ("--read-only", "read_only", "bool", "Mount the container's root filesystem as read only"),
    ("--cap-add", "cap_add", "list", "Add Linux capabilities"),
    ("--cap-drop", "cap_drop", "list", "Drop Linux capabilities"),
    ("--stop-signal", "stop_signal", "str", "Signal to stop the container"),
    ("--stop-timeout", "stop_timeout", "int", "Timeout (in seconds) to stop a container"),
    ("--restart", "restart", "str", "Restart policy to apply when a container exits (no, on-failure[:N], always)"),
    ("-l, --label", "label", "list", "Set meta data on a container"),
    ("--detach-keys", "detach_keys", "str", "Override the key sequence for detaching a container"),
    ("--sig-proxy", "sig_proxy", "bool", "Proxy received signals to the process (default true)"),
]
# Flags about the terminal session, not the container: the client keeps them.
CLIENT_ONLY = {"detach", "detach_keys", "sig_proxy", "env_file"}
DEFAULTS: dict[str, Any] = {"sig_proxy": True, "restart": "no"}

# Feature areas add their flags in runtime/engine/flags/<area>.py: a module
# with FLAGS (rows as above), DEFAULTS, CLIENT_PATHS (dests whose values are
# host paths the client makes absolute) and apply(values, host) -> host,
# which validates its values and fills in its HostConfig fields. The modules
# stay plain data at import time: the thin CLI imports them for the table.
SECTIONS = ("resources", "volumes", "network")


def _sections() -> list[Any]:
    import importlib

    return [importlib.import_module(f"{__package__}.flags.{name}") for name in SECTIONS]


def all_flags() -> list[tuple[str, str, str, str]]:
    rows = list(FLAGS)
    for sec in _sections():
        rows += sec.FLAGS
    return rows


def all_defaults() -> dict[str, Any]:
    out = dict(DEFAULTS)
    for sec in _sections():
        out.update(sec.DEFAULTS)
    return out


def default_values() -> dict[str, Any]:
    defaults = all_defaults()
    out: dict[str, Any] = {}
    for _, dest, kind, _ in all_flags():
        out[dest] = defaults.get(dest, {"bool": False, "list": []}.get(kind))
    return out


def parse_labels(items: list[str]) -> dict[str, str]:
    from ..errors import InvalidArgument

    labels = {}
    for item in items:
        k, _, v = item.partition("=")
        if not k:
            raise InvalidArgument(f"invalid label: {item!r}")
        labels[k] = v
    return labels


def to_options(values: dict[str, Any], operands: list[str]) -> RunOptions:
    """Validate parsed flags and build the options (raises InvalidArgument naming the flag)."""
    from .. import capabilities, signals
    from ..errors import InvalidArgument
    from .model import HostConfig, RestartPolicy, RunOptions

    vals = {**default_values(), **values}
    if not operands:
        raise InvalidArgument('"run" requires at least 1 argument (the image)')
    image, command = operands[0], tuple(operands[1:])
    entrypoint = None
    if vals["entrypoint"] is not None:
        # One argument, as in docker: a path with spaces stays whole.
        entrypoint = (vals["entrypoint"],) if vals["entrypoint"] else ()
    host = HostConfig(
        auto_remove=bool(vals["rm"]),
        restart=RestartPolicy.parse(vals["restart"] or "no"),
        init=bool(vals["init"]),
        read_only=bool(vals["read_only"]),
        cap_add=tuple(capabilities.normalize(c) for c in vals["cap_add"]),
        cap_drop=tuple(capabilities.normalize(c) for c in vals["cap_drop"]),
    )
    if host.auto_remove and host.restart.name != "no":
        raise InvalidArgument("conflicting options: --restart and --rm")
    for sec in _sections():
        host = sec.apply(vals, host)
    if vals["stop_signal"]:
        signals.parse(vals["stop_signal"])
    if vals["stop_timeout"] is not None and vals["stop_timeout"] < -1:
        raise InvalidArgument(f"invalid --stop-timeout {vals['stop_timeout']}")
    return RunOptions(
        image=image,
        command=command,
        name=vals["name"],
        entrypoint=entrypoint,
        env=tuple(vals["env"]),
        workdir=vals["workdir"],
        hostname=vals["hostname"],
        domainname=vals["domainname"],
        user=vals["user"],
        tty=bool(vals["tty"]),
        interactive=bool(vals["interactive"]),
        labels=parse_labels(vals["label"]),
        stop_signal=vals["stop_signal"],
        stop_timeout=vals["stop_timeout"],
        host=host,
    )
