"""Capability names, the default set, and docker's --cap-add/--cap-drop arithmetic."""

from __future__ import annotations

import pytest

from runtime import capabilities
from runtime.capabilities import DEFAULT, NAMES, mask, names_of, normalize, resolve
from runtime.errors import InvalidArgument

PODMAN_DEFAULT = {
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
}


@pytest.fixture
def kernel_knows_41(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend /proc/sys/kernel/cap_last_cap says 40 (CAP_CHECKPOINT_RESTORE), whatever the host runs."""
    monkeypatch.setattr(capabilities, "last_cap", lambda proc="/proc": 40)


def test_default_set_is_podmans_eleven() -> None:
    assert len(DEFAULT) == 11
    assert set(DEFAULT) == PODMAN_DEFAULT
    assert not {"CAP_NET_RAW", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SYS_ADMIN"} & set(DEFAULT)


def test_names_are_in_kernel_order() -> None:
    assert NAMES[0] == "CAP_CHOWN"
    assert NAMES.index("CAP_NET_ADMIN") == 12
    assert NAMES.index("CAP_SYS_ADMIN") == 21
    assert NAMES.index("CAP_CHECKPOINT_RESTORE") == 40
    assert len(set(NAMES)) == len(NAMES)


@pytest.mark.parametrize("raw", ["net_admin", "NET_ADMIN", "CAP_NET_ADMIN", "cap_net_admin", " Net_Admin "])
def test_normalize_spellings(raw: str) -> None:
    assert normalize(raw) == "CAP_NET_ADMIN"


@pytest.mark.parametrize("raw", ["all", "ALL", "All"])
def test_normalize_all(raw: str) -> None:
    assert normalize(raw) == "ALL"


@pytest.mark.parametrize("raw", ["net_admn", "CAP_", "", "CAP_ALL", "SYS_ADMIN2"])
def test_normalize_unknown_names_it(raw: str) -> None:
    with pytest.raises(InvalidArgument, match="unknown capability"):
        normalize(raw)


def test_resolve_without_changes_is_the_default_in_kernel_order() -> None:
    out = resolve()
    assert set(out) == PODMAN_DEFAULT
    assert out == sorted(out, key=NAMES.index)


def test_resolve_add_and_drop() -> None:
    out = resolve(add=["net_admin", "SYS_PTRACE"], drop=["CAP_CHOWN", "kill"])
    assert set(out) == PODMAN_DEFAULT - {"CAP_CHOWN", "CAP_KILL"} | {"CAP_NET_ADMIN", "CAP_SYS_PTRACE"}
    assert out == sorted(out, key=NAMES.index)


def test_resolve_drop_all_then_add() -> None:
    assert resolve(add=["NET_BIND_SERVICE"], drop=["ALL"]) == ["CAP_NET_BIND_SERVICE"]
    assert resolve(drop=["all"]) == []


def test_resolve_add_all(kernel_knows_41: None) -> None:
    assert resolve(add=["ALL"]) == list(NAMES)


def test_resolve_add_all_is_limited_to_what_the_kernel_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(capabilities, "last_cap", lambda proc="/proc": 37)
    assert resolve(add=["ALL"]) == list(NAMES[:38])


def test_resolve_add_all_drop_one(kernel_knows_41: None) -> None:
    out = resolve(add=["ALL"], drop=["NET_ADMIN"])
    assert "CAP_NET_ADMIN" not in out
    assert len(out) == len(NAMES) - 1


def test_resolve_rejects_unknown_names() -> None:
    with pytest.raises(InvalidArgument, match="capability CAP_BOGUS"):
        resolve(add=["CAP_BOGUS"])
    with pytest.raises(InvalidArgument):
        resolve(drop=["bogus"])


def test_mask_and_names_of_round_trip() -> None:
    assert mask(["CAP_CHOWN"]) == 1
    assert mask(["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]) == (1 << 12) | (1 << 21)
    assert mask([]) == 0
    assert mask(["NOT_A_CAP", "CAP_KILL"]) == 1 << 5
    assert names_of(mask(DEFAULT)) == sorted(DEFAULT, key=NAMES.index)
    assert names_of(mask(NAMES)) == list(NAMES)
    assert names_of((1 << 64) - 1) == list(NAMES)


def test_last_cap_reads_the_given_proc(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "sys" / "kernel").mkdir(parents=True)
    (root / "sys" / "kernel" / "cap_last_cap").write_text("40\n")
    assert capabilities.last_cap(str(root)) == 40
    assert capabilities.last_cap(str(root / "missing")) == len(NAMES) - 1
