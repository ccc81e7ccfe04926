"""Registry settings: credentials in docker's ``config.json``, insecure registries in tuidock's ``config.toml``.

Credentials are read from and written to the file docker and podman use,
``$DOCKER_CONFIG/config.json`` or ``~/.docker/config.json``::

    {"auths": {"localhost:5000": {"auth": "<base64 of user:password>"},
               "https://index.docker.io/v1/": {"auth": "..."}}}

Docker Hub's key is ``https://index.docker.io/v1/`` (docker's historical
name); other registries are keyed by ``host[:port]``, and keys written with a
scheme or a path (``https://host:5000/v2/``) match too, as in docker.
Credential helpers (``credsStore``, ``credHelpers``) run external programs
and are not supported: :func:`helper_for` names the helper so an error can
say why no credentials were found.

Which registries may be reached without verified TLS follows docker: every
registry on a loopback address (``localhost``, 127.0.0.0/8, ``::1``) plus
the ``insecure_registries`` list of ``~/.config/tuidock/config.toml``
(``host:port`` names or CIDR ranges, as in docker's ``daemon.json``).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import ipaddress
import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass

from .. import fsutil
from ..errors import InvalidArgument

DOCKER_HUB = "docker.io"
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print a password by accident
        return f"Credentials(username={self.username!r}, password=***)"


@dataclass(frozen=True)
class Settings:
    """tuidock's own registry settings (``config.toml``)."""

    insecure_registries: tuple[str, ...] = ()


def docker_config_path(environ: Mapping[str, str] = os.environ) -> str:
    if environ.get("DOCKER_CONFIG"):
        return os.path.join(environ["DOCKER_CONFIG"], "config.json")
    return os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".docker", "config.json")


def tuidock_config_path(environ: Mapping[str, str] = os.environ) -> str:
    if environ.get("TUIDOCK_CONFIG"):
        return environ["TUIDOCK_CONFIG"]
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".config")
    return os.path.join(base, "tuidock", "config.toml")


def normalise_key(key: str) -> str:
    """``https://host:5000/v2/`` -> ``host:5000``; any of Docker Hub's names -> ``docker.io``."""
    k = key.strip()
    if "://" in k:
        k = k.split("://", 1)[1]
    k = k.split("/", 1)[0].lower()
    return DOCKER_HUB if k in _HUB_ALIASES else k


def auth_key(domain: str) -> str:
    """The key ``docker login`` writes for a registry."""
    return DOCKER_HUB_KEY if normalise_key(domain) == DOCKER_HUB else domain


def _read(path: str) -> dict[str, object]:
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read() or b"{}")
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise InvalidArgument(f"{path}: cannot read docker's config file: {e}") from None
    if not isinstance(data, dict):
        raise InvalidArgument(f"{path}: docker's config file is not a JSON object")
    return data


def _decode(entry: object, path: str, key: str) -> Credentials | None:
    if not isinstance(entry, dict):
        raise InvalidArgument(f"{path}: auths[{key!r}] is not an object")
    if entry.get("auth"):
        try:
            user, sep, password = base64.b64decode(str(entry["auth"]), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidArgument(f"{path}: auths[{key!r}].auth is not base64 of user:password") from None
        if not sep:
            raise InvalidArgument(f"{path}: auths[{key!r}].auth has no ':' between user and password")
        return Credentials(user, password)
    if entry.get("username") and entry.get("password") is not None:
        return Credentials(str(entry["username"]), str(entry["password"]))
    return None


def load_credentials(domain: str, path: str) -> Credentials | None:
    """The credentials ``config.json`` holds for a registry, or None."""
    auths = _read(path).get("auths") or {}
    if not isinstance(auths, dict):
        raise InvalidArgument(f"{path}: auths is not an object")
    want = normalise_key(domain)
    exact = auths.get(auth_key(domain))
    if exact is not None:
        return _decode(exact, path, auth_key(domain))
    for key, entry in auths.items():
        if normalise_key(key) == want:
            return _decode(entry, path, key)
    return None


def helper_for(domain: str, path: str) -> str | None:
    """The credential helper docker would ask for this registry (not supported by tuidock), or None."""
    data = _read(path)
    helpers = data.get("credHelpers")
    if isinstance(helpers, dict):
        for key, name in helpers.items():
            if normalise_key(key) == normalise_key(domain):
                return str(name)
    store = data.get("credsStore")
    return str(store) if store else None


def store_credentials(domain: str, creds: Credentials, path: str) -> None:
    """Write ``auths[key].auth`` for a registry, keeping everything else in the file; mode 0600."""
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with _DirLock(os.path.dirname(path)):
        data = _read(path)
        auths = data.get("auths")
        if not isinstance(auths, dict):
            auths = {}
        for key in [k for k in auths if normalise_key(k) == normalise_key(domain)]:
            del auths[key]
        token = base64.b64encode(f"{creds.username}:{creds.password}".encode()).decode()
        auths[auth_key(domain)] = {"auth": token}
        data["auths"] = auths
        fsutil.atomic_write(path, json.dumps(data, indent="\t").encode() + b"\n", mode=0o600)


def remove_credentials(domain: str, path: str) -> bool:
    """Forget a registry's credentials; False when there were none."""
    if not os.path.exists(path):
        return False
    with _DirLock(os.path.dirname(path)):
        data = _read(path)
        auths = data.get("auths")
        if not isinstance(auths, dict):
            found = []
        else:
            found = [k for k in auths if normalise_key(k) == normalise_key(domain)]
            for key in found:
                del auths[key]
        if found:
            fsutil.atomic_write(path, json.dumps(data, indent="\t").encode() + b"\n", mode=0o600)
    return bool(found)


class _DirLock:
    """An flock on the config file's directory: serialises two logins without leaving a lock file in ~/.docker."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = -1

    def __enter__(self) -> None:
        self.fd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def load_settings(path: str) -> Settings:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return Settings()
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InvalidArgument(f"{path}: cannot read tuidock's config file: {e}") from None
    insecure = data.get("insecure_registries", [])
    if not isinstance(insecure, list) or not all(isinstance(x, str) for x in insecure):
        raise InvalidArgument(f"{path}: insecure_registries must be a list of strings (\"host:port\" or a CIDR)")
    return Settings(insecure_registries=tuple(insecure))


def split_host(domain: str) -> tuple[str, int | None]:
    """``[::1]:5000`` -> (``::1``, 5000); ``localhost`` -> (``localhost``, None)."""
    if domain.startswith("["):
        host, _, rest = domain[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    host, sep, port = domain.rpartition(":")
    if sep and port.isdigit() and ":" not in host:
        return host, int(port)
    return domain, None


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_insecure(domain: str, settings: Settings, addresses: tuple[str, ...] = ()) -> bool:
    """May this registry be reached without verified TLS?

    ``addresses`` are the registry's resolved IP addresses, when known: docker
    treats a name that resolves to a loopback address as local too, and checks
    CIDR entries against the addresses.
    """
    host, _ = split_host(domain)
    if is_loopback(host) or any(is_loopback(a) for a in addresses):
        return True
    for entry in settings.insecure_registries:
        e = entry.strip()
        if "://" in e:
            e = e.split("://", 1)[1].rstrip("/")
        if "/" in e:
            try:
                net = ipaddress.ip_network(e, strict=False)
            except ValueError:
                continue
            for a in (host, *addresses):
                try:
                    if ipaddress.ip_address(a) in net:
                        return True
                except ValueError:
                    continue
        elif e.lower() == domain.lower():
            return True
    return False
