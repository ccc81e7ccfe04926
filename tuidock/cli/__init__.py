"""The ``tuidock`` command: the TUI without arguments, docker's verbs with them.

Only the chosen verb's module is imported (never Textual), because the CLI's
start-up time is part of every ``tuidock run``.
"""

from __future__ import annotations

import os
import sys

from .. import __version__

# verb -> module under tuidock.cli.commands (aliases map to the same module)
VERBS = {
    "run": "run", "create": "create", "start": "start", "stop": "stop", "restart": "restart", "kill": "kill",
    "pause": "pause", "unpause": "unpause", "wait": "wait", "rm": "rm", "rename": "rename", "ps": "ps",
    "logs": "logs", "top": "top", "diff": "diff", "inspect": "inspect", "system": "system", "info": "info",
    "port": "port",
    "exec": "exec", "attach": "attach",
    "pull": "pull", "push": "push", "login": "login", "logout": "logout",
    "stats": "stats", "update": "update",
    "images": "images", "history": "history", "tag": "tag", "rmi": "rmi", "save": "save", "load": "load",
    "import": "importimage", "build": "build", "commit": "commit",
}
# `tuidock container VERB` and `tuidock image VERB` reach the same modules.
GROUPS = {
    "container": {"ls": "ps", "list": "ps", "ps": "ps", "prune": "prune", **{v: v for v in (
        "run", "create", "start", "stop", "restart", "kill", "pause", "unpause", "wait", "rm", "rename", "logs",
        "top", "diff", "inspect", "exec", "attach", "stats", "update")}, "commit": "commit", "port": "port"},
    "image": {"pull": "pull", "push": "push",
              "ls": "images", "list": "images", "inspect": "image.inspect", "history": "history", "tag": "tag",
              "rm": "rmi", "remove": "rmi", "prune": "image.prune", "save": "save", "load": "load",
              "import": "importimage", "build": "build"},
    # a group's own verbs live in a package of the same name (tuidock/cli/commands/volume/)
    "volume": {"create": "volume.create", "ls": "volume.ls", "list": "volume.ls", "inspect": "volume.inspect",
               "rm": "volume.rm", "remove": "volume.rm", "prune": "volume.prune"},
    "network": {"create": "network.create", "ls": "network.ls", "list": "network.ls", "inspect": "network.inspect",
                "rm": "network.rm", "remove": "network.rm", "prune": "network.prune"},
}

GLOBAL_HELP = f"""Usage:  tuidock [OPTIONS] [COMMAND]

A terminal UI for Linux containers, with its own runtime (tuidock {__version__}).
Without a command, the terminal UI starts.

Options:
  --root DIR      state root (default $TUIDOCK_ROOT or /var/lib/tuidock)
  --debug         show tracebacks for internal errors
  -v, --version   print the version

Commands:
  run        Create and run a new container from an image
  create     Create a new container
  start      Start one or more stopped containers
  stop       Stop one or more running containers
  restart    Restart one or more containers
  kill       Kill one or more running containers
  pause      Pause all processes within one or more containers
  unpause    Unpause all processes within one or more containers
  wait       Block until containers stop, then print their exit codes
  rm         Remove one or more containers
  rename     Rename a container
  exec       Execute a command in a running container
  attach     Attach to a running container's main process
  ps         List containers
  logs       Fetch the logs of a container
  top        Display the running processes of a container
  stats      Display a live stream of container(s) resource usage statistics
  update     Update configuration (limits, restart policy) of one or more containers
  diff       Inspect changes to files or directories on a container's filesystem
  inspect    Return low-level information on containers or images
  images     List images
  history    Show the history of an image
  tag        Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
  rmi        Remove one or more images
  build      Build an image from a Dockerfile
  commit     Create a new image from a container's changes
  save       Save one or more images to a tar archive (streamed to STDOUT by default)
  load       Load an image from a tar archive or STDIN
  import     Import the contents from a tarball to create a filesystem image
  info       Display system-wide information
  port       List port mappings or a specific mapping for the container
  pull       Download an image from a registry
  push       Upload an image to a registry
  login      Log in to a registry
  logout     Log out from a registry

Management commands:
  container  Manage containers (ls, prune, and the verbs above)
  image      Manage images (ls, inspect, history, tag, rm, prune, build, save, load, import, pull, push)
  network    Manage networks (create, inspect, ls, prune, rm)
  system     Manage tuidock (info, df, prune)
  volume     Manage volumes (create, inspect, ls, prune, rm)

Run 'tuidock COMMAND --help' for more information on a command.
"""


def eprint(msg: str) -> None:
    sys.stderr.write(f"tuidock: {msg}\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> None:
    code = run_cli(sys.argv[1:] if argv is None else argv)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    # Skip the interpreter's teardown: nothing is left to clean up, and on a
    # slow machine it costs several milliseconds of every container start.
    os._exit(code)


def run_cli(argv: list[str]) -> int:
    debug = False
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        a = argv[i]
        if a == "--root" and i + 1 < len(argv):
            os.environ["TUIDOCK_ROOT"] = argv[i + 1]
            i += 2
            continue
        if a.startswith("--root="):
            os.environ["TUIDOCK_ROOT"] = a.split("=", 1)[1]
        elif a == "--debug":
            debug = True
        elif a in ("-v", "--version"):
            print(f"tuidock version {__version__}")
            return 0
        elif a in ("-h", "--help"):
            sys.stdout.write(GLOBAL_HELP)
            return 0
        else:
            eprint(f"unknown flag: {a}\nSee 'tuidock --help'.")
            return 125
        i += 1
    rest = argv[i:]
    if not rest:
        from ..app import main as tui_main

        return tui_main()
    verb, args = rest[0], rest[1:]
    grouped = verb in GROUPS
    if verb == "help":
        sys.stdout.write(GLOBAL_HELP)
        return 0
    if verb in GROUPS:
        if not args or args[0] in ("-h", "--help"):
            sys.stdout.write(f"Usage:  tuidock {verb} COMMAND\n\nCommands: {', '.join(sorted(GROUPS[verb]))}\n")
            return 0 if args else 125
        sub = GROUPS[verb].get(args[0])
        if sub is None:
            eprint(f"'{verb} {args[0]}' is not a tuidock command.\nSee 'tuidock {verb} --help'.")
            return 125
        verb, args = sub, args[1:]
    module_name = VERBS.get(verb) or ("prune" if verb == "prune" else None) or (verb if grouped and "." in verb else None)
    if module_name is None:
        eprint(f"'{verb}' is not a tuidock command.\nSee 'tuidock --help'.")
        return 125
    from runtime.errors import TuidockError

    from .options import HelpRequested, UsageError, parse

    __import__(f"tuidock.cli.commands.{module_name}")
    mod = sys.modules[f"tuidock.cli.commands.{module_name}"]
    cmd = mod.COMMAND
    try:
        values, operands = parse(cmd, args)
    except HelpRequested:
        sys.stdout.write(cmd.format_help())
        return 0
    except UsageError as e:
        eprint(f"{e}\nSee 'tuidock {cmd.name} --help'.")
        return 125
    try:
        return int(mod.execute(values, operands) or 0)
    except TuidockError as e:
        eprint(str(e))
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:
        if debug:
            raise
        eprint(f"internal error: {e.__class__.__name__}: {e} (run with --debug for the traceback)")
        return 125
