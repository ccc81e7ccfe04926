"""Published ports: ``-p`` parsing (pure) and reserving host ports with bound sockets.

A published port is a DNAT rule (:mod:`runtime.net.nft`), which by itself
does not stop another program from binding the same port, nor tell us that
one already has. So, as conmon does for podman, the container's monitor holds
a bound (never listening) socket on every published host port: binding it is
the in-use check (a clear error at ``run`` time), and holding it keeps the
port ours for the container's life. With ``-p 80`` the kernel picks the free
port when the socket binds to port 0.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from dataclasses import dataclass, replace

from ..errors import Conflict, InvalidArgument
from ..engine.model import PortBinding

PROTOCOLS = ("tcp", "udp")
MAX_PUBLISHED = 32  # the monitor receives the reserving sockets in one SCM_RIGHTS message


def _port(text: str, spec: str, what: str) -> int:
    if "-" in text:
        raise InvalidArgument(f"port {spec}: port ranges are not supported")
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InvalidArgument(f"port {spec}: invalid {what} port {text!r}")
    return int(text)


def parse(spec: str) -> PortBinding:
    """``[IP:][HOSTPORT:]CONTAINERPORT[/PROTO]``, as ``docker run -p`` reads it."""
    rest, _, proto = spec.partition("/")
    proto = proto or "tcp"
    if proto not in PROTOCOLS:
        raise InvalidArgument(f"port {spec}: protocol {proto!r} is not supported (tcp or udp)")
    if rest.startswith("[") or rest.count(":") > 2:
        raise InvalidArgument(f"port {spec}: IPv6 host addresses are not supported")
    parts = rest.split(":")
    host_ip, host_port = "", ""
    if len(parts) == 3:
        host_ip, host_port, cport = parts
    elif len(parts) == 2:
        host_port, cport = parts
    else:
        cport = parts[0]
    if host_ip:
        try:
            addr = ipaddress.ip_address(host_ip)
        except ValueError:
            raise InvalidArgument(f"port {spec}: invalid host address {host_ip!r}") from None
        if addr.version != 4:
            raise InvalidArgument(f"port {spec}: IPv6 host addresses are not supported")
        host_ip = "" if addr.is_unspecified else str(addr)
    return PortBinding(container_port=_port(cport, spec, "container"), protocol=proto, host_ip=host_ip,
                       host_port=_port(host_port, spec, "host") if host_port else 0)


def parse_all(specs: list[str]) -> tuple[PortBinding, ...]:
    out = tuple(parse(s) for s in specs)
    if len(out) > MAX_PUBLISHED:
        raise InvalidArgument(f"-p: at most {MAX_PUBLISHED} published ports per container")
    return out


def describe(p: PortBinding) -> str:
    """``0.0.0.0:8080->80/tcp``, as ``docker ps`` shows it."""
    return f"{p.host_ip or '0.0.0.0'}:{p.host_port}->{p.container_port}/{p.protocol}"


@dataclass
class Reservation:
    """A host port held for a container: the binding with its real host port, and the bound socket."""

    binding: PortBinding
    sock: socket.socket


def reserve(bindings: tuple[PortBinding, ...]) -> list[Reservation]:
    """Bind a socket for every binding; raises Conflict naming the first port in use (and binds nothing)."""
    out: list[Reservation] = []
    try:
        for b in bindings:
            kind = socket.SOCK_STREAM if b.protocol == "tcp" else socket.SOCK_DGRAM
            s = socket.socket(socket.AF_INET, kind | socket.SOCK_CLOEXEC)
            where = f"{b.host_ip or '0.0.0.0'}:{b.host_port or '*'}/{b.protocol}"
            try:
                # No SO_REUSEADDR: a listener or a lingering socket on the port must make this fail.
                s.bind((b.host_ip or "0.0.0.0", b.host_port))
            except OSError as e:
                s.close()
                if e.errno == errno.EADDRINUSE:
                    raise Conflict(f"port {where}: already in use on this host") from None
                if e.errno == errno.EADDRNOTAVAIL:
                    raise InvalidArgument(f"port {where}: {b.host_ip} is not an address of this host") from None
                raise Conflict(f"port {where}: cannot bind ({e.strerror})") from None
            out.append(Reservation(replace(b, host_port=s.getsockname()[1]), s))
    except BaseException:
        release(out)
        raise
    return out


def release(reservations: list[Reservation]) -> None:
    for r in reservations:
        r.sock.close()
