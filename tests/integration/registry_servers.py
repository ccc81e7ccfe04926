"""Registries for the tests: Debian's ``docker-registry`` on 127.0.0.1, a JWT token server, TLS material.

Each server is started by a test fixture on a free loopback port with its
files in the test's temporary directory, and stopped by its own pid.
:func:`pushed_image` is such a fixture for the TUI tests: a registry holding
one image made on busybox, absent from the store, ready to be pulled.
``docker-registry`` (distribution 2.8) checks a bearer token's signature with
the certificate in the JWS header's ``x5c`` chain, which must lead to a
certificate of its ``auth.token.rootcertbundle``; the token server here signs
RS256 with a self-signed certificate it puts in that bundle.
"""

from __future__ import annotations

import base64
import datetime
import http.server
import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class KeyPair:
    """An RSA key and a self-signed certificate for 127.0.0.1 (TLS and token signing)."""

    key_pem: bytes
    cert_pem: bytes
    cert_der: bytes
    key: Any

    @classmethod
    def make(cls, name: str = "127.0.0.1") -> KeyPair:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))]), False)
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
                .sign(key, hashes.SHA256()))
        return cls(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                     serialization.NoEncryption()),
                   cert.public_bytes(serialization.Encoding.PEM), cert.public_bytes(serialization.Encoding.DER), key)

    def sign_jwt(self, claims: dict[str, Any]) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        header = {"typ": "JWT", "alg": "RS256", "x5c": [base64.b64encode(self.cert_der).decode()]}
        signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
        sig = self.key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{b64url(sig)}"


def htpasswd_line(user: str, password: str) -> str:
    import bcrypt

    return f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=5)).decode()}\n"


@dataclass
class TokenServer:
    """A token endpoint as the distribution spec describes: GET ?service=&scope=&account= with optional Basic auth.

    ``users`` may log in; ``anonymous_pull`` lets anyone pull; a user may pull
    and push. Every request is recorded (``requests``) so tests can check what
    the client asked for.
    """

    keys: KeyPair
    users: dict[str, str]
    service: str = "tuidock-test-registry"
    issuer: str = "tuidock-test-issuer"
    anonymous_pull: bool = False
    requests: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0
    _server: http.server.ThreadingHTTPServer | None = None

    @property
    def realm(self) -> str:
        return f"http://127.0.0.1:{self.port}/token"

    def grant(self, user: str | None, scope: str) -> dict[str, Any] | None:
        kind, _, rest = scope.partition(":")
        name, _, actions = rest.rpartition(":")
        if kind != "repository" or not name:
            return None
        allowed = {"pull", "push"} if user else ({"pull"} if self.anonymous_pull else set())
        granted = [a for a in actions.split(",") if a in allowed]
        return {"type": "repository", "name": name, "actions": granted}

    def start(self) -> None:
        server_self = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                q = urllib.parse.parse_qs(url.query)
                user = None
                auth = self.headers.get("Authorization", "")
                record = {"path": url.path, "query": q, "auth": auth.split(" ")[0] if auth else ""}
                server_self.requests.append(record)
                if auth.startswith("Basic "):
                    u, _, p = base64.b64decode(auth[6:]).decode().partition(":")
                    if server_self.users.get(u) != p:
                        self.send_response(401)
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    user = u
                if url.path != "/token" or q.get("service", [""])[0] != server_self.service:
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                now = int(time.time())
                access = [g for s in q.get("scope", []) for g in [server_self.grant(user, s)] if g]
                claims = {"iss": server_self.issuer, "sub": user or "", "aud": server_self.service,
                          "exp": now + 300, "nbf": now - 10, "iat": now, "jti": secrets.token_hex(8),
                          "access": access}
                body = json.dumps({"token": server_self.keys.sign_jwt(claims), "expires_in": 300}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="token server", daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class RegistryServer:
    """``docker-registry serve CONFIG.yml`` on 127.0.0.1:PORT, storage in ``base``."""

    def __init__(self, base: Path, *, htpasswd: str | None = None, token: TokenServer | None = None,
                 tls: KeyPair | None = None) -> None:
        self.base = base
        self.port = free_port()
        self.storage = base / "storage"
        self.proc: subprocess.Popen[bytes] | None = None
        lines = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true",
                 "storage:", "  filesystem:", f"    rootdirectory: {self.storage}",
                 "  delete:", "    enabled: true",
                 "http:", f"  addr: 127.0.0.1:{self.port}", "  secret: tuidock-test-secret"]
        if tls is not None:
            (base / "tls.crt").write_bytes(tls.cert_pem)
            (base / "tls.key").write_bytes(tls.key_pem)
            lines += ["  tls:", f"    certificate: {base / 'tls.crt'}", f"    key: {base / 'tls.key'}"]
        if htpasswd is not None:
            (base / "htpasswd").write_text(htpasswd)
            lines += ["auth:", "  htpasswd:", "    realm: tuidock-test", f"    path: {base / 'htpasswd'}"]
        if token is not None:
            (base / "token-ca.crt").write_bytes(token.keys.cert_pem)
            lines += ["auth:", "  token:", f"    realm: {token.realm}", f"    service: {token.service}",
                      f"    issuer: {token.issuer}", f"    rootcertbundle: {base / 'token-ca.crt'}"]
        self.config = base / "config.yml"
        self.config.write_text("\n".join(lines) + "\n")
        self.scheme = "https" if tls else "http"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log = open(self.base / "registry.log", "wb")
        self.proc = subprocess.Popen(["docker-registry", "serve", str(self.config)], stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited {self.proc.returncode}: "
                                   f"{(self.base / 'registry.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("docker-registry did not listen within 15 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()

    def blob_file(self, digest: str) -> Path:
        """Where the filesystem driver keeps a blob's bytes."""
        hexpart = digest.split(":", 1)[1]
        return self.storage / "docker/registry/v2/blobs/sha256" / hexpart[:2] / hexpart / "data"


@dataclass(frozen=True)
class PushedImage:
    """An image in a local registry and not in the store: busybox's layer plus one of 400 kB of random bytes."""

    registry: RegistryServer
    ref: str  # 127.0.0.1:PORT/tdui/pulled:1
    repository: str  # as `images` lists it: 127.0.0.1:PORT/tdui/pulled
    instruction: str  # the RUN that made the second layer


@pytest.fixture
def pushed_image(env: Any, tmp_path: Path) -> Iterator[PushedImage]:
    """Debian's docker-registry on 127.0.0.1 with one image pushed by ``tuidock push`` and then removed
    from the store (busybox stays, so a pull finds one layer there and fetches the other); afterwards the
    image is removed from the store and the registry stopped, pass or fail. Mark the test
    ``requires("registry")``."""
    (tmp_path / "reg").mkdir()
    registry = RegistryServer(tmp_path / "reg")
    registry.start()
    repository = f"{registry.host}/tdui/pulled"
    ref = f"{repository}:1"
    instruction = "head -c 400000 /dev/urandom > /random"
    ctx = tmp_path / "pushed-ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM busybox\nRUN {instruction}\n")
    try:
        env.cli("build", "-t", ref, str(ctx), check=True, timeout=120)
        env.cli("push", ref, check=True)
        env.cli("rmi", ref, check=True)
        assert ref not in env.cli("images", "--format", "{{.Repository}}:{{.Tag}}", check=True).stdout.split()
        yield PushedImage(registry, ref, repository, instruction)
    finally:
        env.cli("rmi", "-f", ref)
        registry.stop()
