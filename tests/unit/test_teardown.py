"""After PID 1 exits: each clean-up step's failure is reported, and the restart decision still happens."""

from __future__ import annotations

import builtins
import errno
from typing import Any

import pytest

from runtime import container, state
from runtime.net import rtnl


class FailingHooks:
    def __init__(self) -> None:
        self.asked: list[int] = []

    def poststop(self, request: dict[str, Any]) -> None:
        raise OSError(errno.EINVAL, "Invalid argument")

    def should_restart(self, request: dict[str, Any], st: state.State) -> bool:
        self.asked.append(st.restart_count)
        return True


def test_a_failed_network_clean_up_does_not_cancel_the_restart(tmp_path, monkeypatch):
    state.save(str(tmp_path), state.State(id="c1", bundle=str(tmp_path), status=state.Status.STOPPED, exit_code=1))
    hooks = FailingHooks()
    monkeypatch.setattr(container, "load_hooks", lambda request: hooks)
    report, fds = container.teardown({"state_dir": str(tmp_path)}, "")
    assert report["restart"] is True and hooks.asked == [0]
    assert fds == [] and len(report["errors"]) == 1 and "Invalid argument" in report["errors"][0]


@pytest.mark.parametrize("code", [errno.EINVAL, errno.ENODEV])
def test_a_link_being_unregistered_counts_as_gone(tmp_path, monkeypatch, code):
    # While its namespace is torn down the kernel still lists the veth in
    # sysfs, and reading its attributes fails: the link is going, not there.
    (tmp_path / "veth0").mkdir()
    (tmp_path / "veth0" / "ifindex").write_text("7\n")
    assert rtnl.index_of("veth0", sysfs=str(tmp_path)) == 7
    real_open = builtins.open

    def dying(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith("veth0/ifindex"):
            raise OSError(code, "gone")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", dying)
    assert rtnl.index_of("veth0", sysfs=str(tmp_path)) is None


def test_other_sysfs_errors_are_not_hidden(tmp_path, monkeypatch):
    real_open = builtins.open

    def denied(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).endswith("veth0/ifindex"):
            raise PermissionError(errno.EACCES, "denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denied)
    with pytest.raises(PermissionError):
        rtnl.index_of("veth0", sysfs=str(tmp_path))
