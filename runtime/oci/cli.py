"""``tuidock-runtime``: runc's verbs on OCI bundles, executed by tuidock's own runtime.

    tuidock-runtime [--root DIR] create [--pid-file F] --bundle DIR ID
    tuidock-runtime [--root DIR] start ID
    tuidock-runtime [--root DIR] state ID
    tuidock-runtime [--root DIR] kill ID [SIGNAL]
    tuidock-runtime [--root DIR] delete [--force] ID
    tuidock-runtime [--root DIR] run [--bundle DIR] [--detach] [--pid-file F] ID
    tuidock-runtime [--root DIR] list

State lives in ``--root`` (default /run/tuidock-runtime), one directory per
container, as runc keeps it in /run/runc. A bundle without
``linux.cgroupsPath`` gets the cgroup ``/tuidock-runtime/<id>``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from .. import attach, fsutil, signals
from ..errors import Conflict, NotFound, TuidockError
from . import runtime

DEFAULT_ROOT = "/run/tuidock-runtime"


def _state_dir(root: str, cid: str) -> str:
    runtime.check_id(cid)
    return os.path.join(root, cid)


def _existing(root: str, cid: str) -> str:
    d = _state_dir(root, cid)
    if not os.path.isdir(d):
        raise NotFound(f"container {cid}: does not exist")
    return d


def _create(args: argparse.Namespace, start: bool) -> int:
    root = args.root
    d = _state_dir(root, args.id)
    os.makedirs(root, mode=0o700, exist_ok=True)
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        raise Conflict(f"container {args.id}: already exists") from None
    bundle = os.path.abspath(args.bundle)
    foreground = start and not args.detach
    interactive = foreground
    try:
        conn, reply = runtime.create(
            d, bundle, args.id, os.path.join(root, "run"), start=start,
            attach={"stdin": interactive} if foreground else None, stdin=interactive,
            console_size=attach.terminal_size(0) if foreground else None,
            extra={"default_cgroup": f"/tuidock-runtime/{args.id}"},
        )
    except BaseException:
        fsutil.remove_tree(d)
        raise
    pid = reply.get("started") or reply.get("created")
    if args.pid_file:
        fsutil.atomic_write(os.path.abspath(args.pid_file), str(pid).encode())
    if not foreground:
        conn.close()
        return 0
    st = runtime.load(d)
    try:
        result = attach.relay(conn, stdin=True, tty_mode=st.terminal)
    finally:
        conn.close()
    # runc run removes the container when it exits in the foreground.
    runtime.delete(d, force=True)
    return result.exit_code if result.exit_code is not None else 0


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="tuidock-runtime", description="run OCI bundles with tuidock's runtime")
    p.add_argument("--root", default=os.environ.get("TUIDOCK_RUNTIME_ROOT", DEFAULT_ROOT))
    sub = p.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("create")
    c.add_argument("--bundle", "-b", default=".")
    c.add_argument("--pid-file")
    c.add_argument("id")
    r = sub.add_parser("run")
    r.add_argument("--bundle", "-b", default=".")
    r.add_argument("--pid-file")
    r.add_argument("--detach", "-d", action="store_true")
    r.add_argument("id")
    for name in ("start", "state"):
        sub.add_parser(name).add_argument("id")
    k = sub.add_parser("kill")
    k.add_argument("id")
    k.add_argument("signal", nargs="?", default="SIGTERM")
    dl = sub.add_parser("delete")
    dl.add_argument("--force", "-f", action="store_true")
    dl.add_argument("id")
    sub.add_parser("list")
    args = p.parse_args(argv)
    try:
        code = _dispatch(args)
    except TuidockError as e:
        print(f"tuidock-runtime: {e}", file=sys.stderr)
        code = e.exit_code
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.exit(code)


def _dispatch(args: argparse.Namespace) -> int:
    if args.cmd == "create":
        args.detach = True
        return _create(args, start=False)
    if args.cmd == "run":
        return _create(args, start=True)
    if args.cmd == "list":
        print(f"{'ID':<20} {'PID':<8} {'STATUS':<10} BUNDLE")
        for name in sorted(os.listdir(args.root)) if os.path.isdir(args.root) else []:
            d = os.path.join(args.root, name)
            if name == "run" or not os.path.isfile(os.path.join(d, "state.json")):
                continue
            o = runtime.load(d).to_oci()
            print(f"{name:<20} {o['pid']:<8} {o['status']:<10} {o['bundle']}")
        return 0
    d = _existing(args.root, args.id)
    if args.cmd == "start":
        runtime.start(d)
    elif args.cmd == "state":
        print(json.dumps(runtime.load(d, args.id).to_oci(), indent=2))
    elif args.cmd == "kill":
        runtime.kill(d, signals.parse(args.signal))
    elif args.cmd == "delete":
        runtime.delete(d, force=args.force)
    return 0


if __name__ == "__main__":
    main()
