"""Docker's spellings of sizes (-m 512m), CPU amounts (--cpus 1.5) and CPU lists (--cpuset-cpus 0-2,4)."""

from __future__ import annotations

import pytest

from runtime import units
from runtime.errors import InvalidArgument


@pytest.mark.parametrize("text, expect", [
    ("0", 0),
    ("100", 100),
    ("1k", 1024),
    ("1K", 1024),
    ("1kb", 1024),
    ("1KiB", 1024),
    ("1 k", 1024),
    ("512m", 512 << 20),
    ("512MB", 512 << 20),
    ("1.5g", 3 << 29),
    ("1.5k", 1536),
    ("1.0001k", 1024),  # go-units truncates the product
    ("2t", 2 << 40),
    ("1p", 1 << 50),
    ("7b", 7),
])
def test_ram_in_bytes(text: str, expect: int) -> None:
    assert units.ram_in_bytes(text) == expect


@pytest.mark.parametrize("text", ["", "m", "-1", "12x", "1.2.3m", "1e3", "1 2", " 1m", "1mm", "1gig"])
def test_ram_in_bytes_refuses(text: str) -> None:
    with pytest.raises(InvalidArgument, match=f"invalid size: '{text}'"):
        units.ram_in_bytes(text)


def test_swap_takes_minus_one_for_unlimited() -> None:
    assert units.swap_in_bytes("-1") == -1
    assert units.swap_in_bytes("1g") == 1 << 30
    with pytest.raises(InvalidArgument):
        units.swap_in_bytes("-2")


@pytest.mark.parametrize("text, expect", [
    ("0.5", 500_000_000),
    ("1", 1_000_000_000),
    ("1.5", 1_500_000_000),
    ("0.000000001", 1),
    ("0.1", 100_000_000),  # exact: no binary floating point on the way
    ("3/2", 1_500_000_000),
    ("0", 0),
])
def test_nano_cpus(text: str, expect: int) -> None:
    assert units.nano_cpus(text) == expect


def test_nano_cpus_refuses_too_much_precision_and_junk() -> None:
    with pytest.raises(InvalidArgument, match="value is too precise"):
        units.nano_cpus("0.0000000001")
    with pytest.raises(InvalidArgument, match="failed to parse half as a rational number"):
        units.nano_cpus("half")


@pytest.mark.parametrize("text, expect", [
    ("0", {0}),
    ("0-3", {0, 1, 2, 3}),
    ("0,2", {0, 2}),
    ("0-1,4-5,7", {0, 1, 4, 5, 7}),
    ("1\n", {1}),
])
def test_parse_list(text: str, expect: set[int]) -> None:
    assert units.parse_list(text) == expect


@pytest.mark.parametrize("text", ["", "a", "1-", "-1", "3-1", "1,,2", "1 2"])
def test_parse_list_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        units.parse_list(text)
