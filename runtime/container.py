"""Creating and tearing down a container: the heavy steps, run in short-lived workers of its monitor.

A monitor lives as long as its container and is forked from the fork
server, sharing that interpreter's pages. Every page it touches becomes its
own, so it touches as few as it can: creating the container runs through a
lot of code (the engine's bookkeeping, the spec, the mount plan, cgroups, the
fork dance, networking) and so runs in a worker the monitor forks for the
purpose, whose pages vanish when it exits. Teardown and ``--rm`` run in the
monitor itself, at the end of its life.

:func:`create` builds the container and hands the monitor what it needs to
keep: the pid of PID 1 (re-parented to the monitor, a child subreaper) and
the descriptors of its terminal or pipes. :func:`teardown` records what only
the cgroup knows (OOM kills) and removes the cgroup and the network.
"""

from __future__ import annotations

import os
import time
import traceback
from typing import Any

from . import cgroups, init, procfs, rootfs, state
from .cgroups.resources import DEFAULT_DEVICE_RULES
from .errors import RuntimeFailure
from .oci import spec as ocispec
from .state import Status

ALWAYS_ALLOWED = tuple(r for r in DEFAULT_DEVICE_RULES if r.allow)


def load_hooks(request: dict[str, Any]) -> Any:
    if request.get("hooks") == "engine":
        from .engine.hooks import EngineHooks

        return EngineHooks(request)
    return NoHooks()


class NoHooks:
    """The plain OCI runtime: nothing around the container."""

    def prestart(self, request: dict[str, Any], pid: int) -> list[int]:
        """After PID 1 exists, before it executes; returns descriptors the monitor keeps for the container's life."""
        return []

    def poststop(self, request: dict[str, Any]) -> None:
        pass

    def should_restart(self, request: dict[str, Any], st: state.State) -> bool:
        return False

    def finalize(self, request: dict[str, Any], st: state.State) -> None:
        pass


def create(request: dict[str, Any], restarts: int = 0) -> tuple[dict[str, Any], list[int]]:
    """In a worker: make the container, start it if asked; returns (report, descriptors for the monitor)."""
    notice = None
    if request.get("engine"):
        from .engine import worker

        request, _lock_fd, notice = worker.prepare(request)  # the lock is released when this worker exits
    try:
        return _create(request, restarts, notice)
    except BaseException as e:
        # The monitor needs to know which container failed, to record it and clean up.
        e.prepared_request = request  # type: ignore[attr-defined]
        raise


def _create(request: dict[str, Any], restarts: int, notice: str | None) -> tuple[dict[str, Any], list[int]]:
    monitor_pid = os.getppid()
    state_dir = request["state_dir"]
    spec = ocispec.load(os.path.join(request["bundle"], "config.json"))
    size = request.get("console_size")
    if size and spec.process.terminal:
        spec = spec.with_process(console_size=(int(size[0]), int(size[1])))
    lay = cgroups.layout()
    cg_path = spec.cgroups_path or request.get("default_cgroup", "")
    plan = rootfs.plan(spec, request["bundle"], lay, cg_path, host_kcore=os.path.exists("/proc/kcore"))
    cgroup = None
    if cg_path:
        cgroup = cgroups.open_cgroup(cg_path, lay)
        cgroup.create()
        res = cgroups.Resources.from_oci(spec.resources)
        if res.devices is not None:
            # The nodes every container gets stay usable whatever the spec
            # denies (runc's AllowedDevices).
            import dataclasses

            res = dataclasses.replace(res, devices=res.devices + ALWAYS_ALLOWED)
        cgroup.apply(res)
    want_stdin = bool(request.get("stdin"))
    stdio = init.Stdio(spec.process.terminal)
    keep: list[int] = []  # our ends, in the order the report names them
    names: list[str] = []
    if not spec.process.terminal:
        out_r, out_w = os.pipe2(os.O_CLOEXEC)
        err_r, err_w = os.pipe2(os.O_CLOEXEC)
        stdio.stdout, stdio.stderr = out_w, err_w
        keep += [out_r, err_r]
        names += ["stdout", "stderr"]
        if want_stdin:
            in_r, in_w = os.pipe2(os.O_CLOEXEC)
            stdio.stdin = in_r
            keep.append(in_w)
            names.append("stdin")
    hooks = load_hooks(request)
    try:
        sp = init.spawn(spec, plan, cgroup, stdio)
    except BaseException:
        if cgroup is not None:
            cgroup.destroy()
        raise
    try:
        if sp.console is not None:
            keep.append(sp.console)
            names.append("console")
        if os.getppid() != monitor_pid:
            # The monitor died while we worked: PID 1 would have no parent to record it.
            raise RuntimeFailure("the container's monitor went away during creation")
        for fd in hooks.prestart(request, sp.pid):
            keep.append(fd)
            names.append("hold")
        created = {"pid": sp.pid, "pid_start": procfs.start_time(sp.pid), "cgroup": cg_path,
                   "terminal": spec.process.terminal, "rootfs_steps": tuple(plan.describe()),
                   "exit_code": None, "exit_signal": None, "oom_killed": False, "error": "", "finished_ns": 0,
                   "restart_count": restarts, "stop_requested": False,
                   "monitor_pid": monitor_pid, "monitor_start": procfs.start_time(monitor_pid)}
        started = bool(request.get("start"))
        if started:
            init.start(sp)
            state.update(state_dir, status=Status.RUNNING, started_ns=time.time_ns(), **created)
        else:
            state.update(state_dir, status=Status.CREATED, **created)
            keep += [sp.start_w, sp.exec_r]
            names += ["start", "exec"]
    except BaseException:
        _kill(sp.pid)
        if cgroup is not None:
            cgroup.destroy()
        hooks.poststop(request)
        raise
    report = {"request": request, "pid": sp.pid, "started": started, "fds": names,
              "terminal": spec.process.terminal, "cgroup": cg_path, **({"notice": notice} if notice else {})}
    return report, keep


def _kill(pid: int) -> None:
    import signal

    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def teardown(request: dict[str, Any], cg_path: str) -> tuple[dict[str, Any], list[int]]:
    """After PID 1 exited: OOM kills, remove the cgroup, undo the network, decide on a restart.

    A step that fails is reported in ``errors`` and does not stop the ones
    after it: a network clean-up that went wrong must not cancel a restart.
    """
    oom = False
    errors: list[str] = []
    if cg_path:
        cg = cgroups.open_cgroup(cg_path)
        if cg.exists():
            oom = cg.oom_kill_count() > 0
            try:
                cg.destroy()
            except RuntimeFailure as e:
                errors.append(str(e))
    hooks = load_hooks(request)
    try:
        hooks.poststop(request)
    except Exception:
        errors.append(traceback.format_exc())
    st = state.update(request["state_dir"], oom_killed=oom)
    return {"oom": oom, "restart": bool(hooks.should_restart(request, st)), "errors": errors}, []


def finalize(request: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """In a worker, when the monitor is done for good: the engine's ``--rm``."""
    st = state.load(request["state_dir"])
    if st is not None:
        load_hooks(request).finalize(request, st)
    return {}, []
