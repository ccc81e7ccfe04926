"""tuidock's netfilter rules: one nftables table per bridge, driven through libnftables.

Why libnftables, and not pyroute2's nftables module or iptables: the rules
need NAT from maps keyed by concatenations (``ip daddr . meta l4proto . th
dport`` → ``address . port``), ``fib daddr type local`` and ``ct status
dnat``; pyroute2 0.9's nftables module offers only a handful of expression
builders (``masq``, ``verdict``, ``ipv4addr``) and would have us hand-assemble
the rest as raw expression lists. libnftables is the library behind the
``nft`` command (the same parser, the same errors, a whole script applied as
one atomic netlink transaction), called in-process through ctypes: about
1 ms per transaction here, where spawning ``nft`` costs 3.5 ms. iptables
would need a rule per port and deletion by exact rule match; with maps a
published port is one element, added and deleted exactly.

Each network's rules live in the table ``ip tuidock_<bridge>``:

- ``prerouting`` and ``output`` (nat): traffic to a local address and a
  published port is DNAT'ed to the container, from other hosts and from
  this one (127.0.0.1 included);
- ``postrouting`` (nat): the subnet's outbound traffic is masqueraded;
  connections DNAT'ed from 127.0.0.1 are masqueraded to the bridge address
  (a container cannot answer 127.0.0.1: that is its own loopback; the
  bridge has ``route_localnet`` so the kernel routes them at all);
  hairpin connections (a container to a published port on the same bridge)
  are masqueraded so replies come back the same way;
- ``guard`` (filter, raw priority): packets arriving on the bridge for
  127.0.0.0/8 are dropped. ``route_localnet`` would otherwise let a container
  reach the host's loopback-only services (the kube-proxy CVE-2020-8558).

Removing a network deletes its table; removing a container deletes its map
elements. Nothing else on the host is touched.
"""

from __future__ import annotations

import ctypes
import json

from ..errors import NotFound, RuntimeFailure

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

LIBRARY = "libnftables.so.1"
OUTPUT_JSON = 1 << 4  # NFT_CTX_OUTPUT_JSON
TABLE_PREFIX = "tuidock_"

_lib: Any = None


def load() -> Any:
    """The library, loaded once per process (the fork server loads it before forking)."""
    global _lib
    if _lib is None:
        try:
            lib = ctypes.CDLL(LIBRARY, use_errno=True)
        except OSError:
            raise NotFound(f"{LIBRARY}: not installed (apt-get install nftables)") from None
        lib.nft_ctx_new.restype = ctypes.c_void_p
        lib.nft_ctx_new.argtypes = [ctypes.c_uint32]
        lib.nft_ctx_free.argtypes = [ctypes.c_void_p]
        for f in (lib.nft_ctx_buffer_output, lib.nft_ctx_buffer_error):
            f.argtypes = [ctypes.c_void_p]
        for f in (lib.nft_ctx_get_output_buffer, lib.nft_ctx_get_error_buffer):
            f.argtypes = [ctypes.c_void_p]
            f.restype = ctypes.c_char_p
        lib.nft_ctx_output_set_flags.argtypes = [ctypes.c_void_p, ctypes.c_uint]
        lib.nft_run_cmd_from_buffer.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
        lib.nft_run_cmd_from_buffer.restype = ctypes.c_int
        _lib = lib
    return _lib


def run(script: str, json_output: bool = False) -> str:
    """Apply an nft script as one transaction; its output. Errors name the first failing line."""
    lib = load()
    ctx = lib.nft_ctx_new(0)
    if not ctx:
        raise RuntimeFailure("nftables: cannot create a context")
    try:
        lib.nft_ctx_buffer_output(ctx)
        lib.nft_ctx_buffer_error(ctx)
        if json_output:
            lib.nft_ctx_output_set_flags(ctx, OUTPUT_JSON)
        rc = lib.nft_run_cmd_from_buffer(ctx, script.encode())
        out = (lib.nft_ctx_get_output_buffer(ctx) or b"").decode()
        err = (lib.nft_ctx_get_error_buffer(ctx) or b"").decode()
    finally:
        lib.nft_ctx_free(ctx)
    if rc != 0:
        raise RuntimeFailure(f"nftables: {_first_error(err)}")
    return out


def _first_error(err: str) -> str:
    """``Error: Could not process rule: File exists`` and the offending command, on one line."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if not lines:
        return "failed"
    msg = lines[0].removeprefix("Error: ").rstrip(".")
    cmd = next((ln.strip() for ln in lines[1:] if not set(ln.strip()) <= {"^", "~"}), "")
    msg = msg[:1].lower() + msg[1:]
    return f"{msg} (in: {cmd})" if cmd else msg


def table_name(bridge: str) -> str:
    return TABLE_PREFIX + bridge


def setup_script(bridge: str, subnet: str) -> str:
    """Create the network's table if missing and (re)write its rules, keeping the map elements.

    ``add`` of an existing table, map or chain is a no-op, and the chains are
    flushed and refilled in the same transaction: so this is idempotent,
    repairs a table someone flushed, and never drops a published port.
    """
    t = f"ip {table_name(bridge)}"
    local = "fib daddr type local"
    dnat = (f"{local} dnat ip to ip daddr . meta l4proto . th dport map @ports\n"
            f"{local} dnat ip to meta l4proto . th dport map @ports_any")
    rules = {
        "prerouting": dnat,
        "output": dnat,
        "postrouting": (f'ip saddr {subnet} oifname != "{bridge}" masquerade\n'
                        f'ip saddr 127.0.0.0/8 oifname "{bridge}" masquerade\n'
                        f'ip saddr {subnet} oifname "{bridge}" ct status dnat masquerade'),
        "guard": f'iifname "{bridge}" ip daddr 127.0.0.0/8 drop',
    }
    hooks = {
        "prerouting": "type nat hook prerouting priority dstnat",
        "output": "type nat hook output priority -100",
        "postrouting": "type nat hook postrouting priority srcnat",
        "guard": "type filter hook prerouting priority raw",
    }
    lines = [
        f"add table {t}",
        f"add map {t} ports {{ type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service; }}",
        f"add map {t} ports_any {{ type inet_proto . inet_service : ipv4_addr . inet_service; }}",
    ]
    for chain, hook in hooks.items():
        lines.append(f"add chain {t} {chain} {{ {hook}; policy accept; }}")
        lines.append(f"flush chain {t} {chain}")
        lines += [f"add rule {t} {chain} {r}" for r in rules[chain].splitlines()]
    return "\n".join(lines) + "\n"


def intact(bridge: str, subnet: str) -> bool:
    """Whether the network's table is there with its rules (one chain listed: about 0.5 ms).

    The postrouting chain is the one a reboot, ``nft flush ruleset`` or a
    firewall reload would have emptied or removed along with the rest.
    """
    try:
        data = json.loads(run(f"list chain ip {table_name(bridge)} postrouting", json_output=True) or "{}")
    except RuntimeFailure:
        return False
    rules = sum(1 for o in data.get("nftables", []) if "rule" in o)
    return rules == setup_script(bridge, subnet).count(f"add rule ip {table_name(bridge)} postrouting ")


def element(host_ip: str, protocol: str, host_port: int, ip: str, container_port: int) -> tuple[str, str, str]:
    """(map, key, value) of one published port: keyed by address only when the port is bound to one."""
    if host_ip:
        return "ports", f"{host_ip} . {protocol} . {host_port}", f"{ip} . {container_port}"
    return "ports_any", f"{protocol} . {host_port}", f"{ip} . {container_port}"


def add_elements_script(bridge: str, elements: list[tuple[str, str, str]]) -> str:
    t = f"ip {table_name(bridge)}"
    return "".join(f"add element {t} {m} {{ {k} : {v} }}\n" for m, k, v in elements)


def delete_elements(bridge: str, elements: list[tuple[str, str, str]]) -> None:
    """Delete published ports, tolerating ones already gone (after a crash, or a flushed table)."""
    if not elements:
        return
    t = f"ip {table_name(bridge)}"
    script = "".join(f"delete element {t} {m} {{ {k} }}\n" for m, k, _ in elements)
    try:
        run(script)
        return
    except RuntimeFailure:
        pass
    # One transaction fails whole if one element is missing: retry one by one.
    for m, k, _ in elements:
        try:
            run(f"delete element {t} {m} {{ {k} }}\n")
        except RuntimeFailure:
            pass


def delete_table(bridge: str) -> None:
    """Delete the network's table; no error if it is not there (``add`` then ``delete``, one transaction)."""
    t = f"ip {table_name(bridge)}"
    run(f"add table {t}\ndelete table {t}\n")


def tables() -> list[str]:
    """The names of tuidock's tables (family ip) on this host."""
    data = json.loads(run("list tables ip", json_output=True) or "{}")
    return [o["table"]["name"] for o in data.get("nftables", []) if "table" in o
            and o["table"]["name"].startswith(TABLE_PREFIX)]


def elements(bridge: str) -> list[tuple[str, str, str]]:
    """The published ports in a network's table as (map, key, value), for clean-up and tests."""
    data = json.loads(run(f"list table ip {table_name(bridge)}", json_output=True) or "{}")
    out = []
    for o in data.get("nftables", []):
        m = o.get("map")
        if not m:
            continue
        for key, value in (m.get("elem") or []):
            out.append((m["name"], _concat(key), _concat(value)))
    return out


def _concat(v: Any) -> str:
    if isinstance(v, dict) and "concat" in v:
        return " . ".join(str(x) for x in v["concat"])
    return str(v)
