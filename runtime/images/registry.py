"""A client for the OCI distribution API (``/v2/``): manifests and blobs, auth, TLS policy.

The standard library only (``http.client`` and ``ssl``). What it does, as the
distribution spec and docker's client describe it:

- ``GET /v2/`` first: 200 means no auth, 401 carries the ``WWW-Authenticate``
  challenge(s) every later request answers. ``Basic`` sends the credentials;
  ``Bearer`` asks the challenge's ``realm`` for a token for the request's
  ``scope`` (``repository:library/busybox:pull``) and ``service``, with the
  credentials as Basic auth or anonymously, and caches it per scope. A 401
  that names a wider scope (``error="insufficient_scope"``) gets one new
  token and one retry, never more.
- Transport: HTTPS verified against the system's CAs plus docker's
  per-registry ``certs.d/HOST:PORT/*.crt`` (and ``*.cert``/``*.key`` client
  certificates). A registry marked insecure (:mod:`.regconfig`) is tried over
  HTTPS without verification, then over plain HTTP, as docker does.
- Every loop is bounded: at most :data:`MAX_HOPS` redirects and one auth
  retry per request; name resolution, connecting and the TLS handshake are
  bounded by ``Timeouts.connect``, every socket read or write by
  ``Timeouts.read``, and a request without a blob body by
  ``Timeouts.request`` as a whole. Response bodies other than blobs are read
  with a size cap.
- Nothing is trusted: a manifest's bytes must hash to the digest asked for
  (and to ``Docker-Content-Digest`` when the registry sends it); a blob is
  streamed to the caller's file while hashed, must have exactly the size of
  its descriptor, and must hash to its digest, else :class:`DigestMismatch`.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import http.client
import json
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlencode, urljoin, urlsplit

from ..errors import InvalidArgument, NotFound, TuidockError
from . import regconfig
from .regconfig import Credentials, Settings
from .regwire import (Cancel, Cancelled, Challenge, Conn, DigestMismatch, Progress, RegistryError, Slice, Timeouts,
                      Unauthorized, Unreachable, check_digest, describe, error_text, parse_challenges, resolve,
                      sha256_digest)

__all__ = ["Registry", "RegistryError", "Unauthorized", "DigestMismatch", "Unreachable", "Timeouts", "Challenge",
           "Cancel", "Cancelled",
           "Manifest", "parse_challenges", "error_text", "MANIFEST_TYPES", "CHUNK_SIZE", "MAX_HOPS"]

MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+prettyjws"
MANIFEST_TYPES = (MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST)

DOCKER_HUB_API = "registry-1.docker.io"
CERTS_DIRS = ("/etc/docker/certs.d", "/etc/containers/certs.d")
MAX_HOPS = 5  # redirects followed by one request
MAX_MANIFEST = 4 << 20  # distribution's own limit on a manifest
MAX_SMALL_BODY = 1 << 20  # tokens, errors, ping bodies
CHUNK_SIZE = 16 << 20  # uploads above this go in PATCH chunks of this size
USER_AGENT = "tuidock"



@dataclass(frozen=True)
class Manifest:
    """A manifest as fetched: its exact bytes (digests are of these), media type and digest."""

    data: bytes
    media_type: str
    digest: str


class Registry:
    """One registry (``localhost:5000``, ``docker.io``), with the auth state of this session."""

    def __init__(self, domain: str, *, credentials: Credentials | None = None, settings: Settings = Settings(),
                 tls_verify: bool | None = None, timeouts: Timeouts = Timeouts(),
                 certs_dirs: tuple[str, ...] = CERTS_DIRS, helper: str | None = None,
                 cancel: Cancel | None = None) -> None:
        self.domain = domain
        self.cancel = cancel  # checked before every request; its set() shuts down the open sockets
        self.api_host = DOCKER_HUB_API if domain == regconfig.DOCKER_HUB else domain
        self.credentials = credentials
        self.settings = settings
        self.tls_verify = tls_verify
        self.timeouts = timeouts
        self.certs_dirs = certs_dirs
        self.helper = helper  # a credential helper docker would ask; named in errors, never run
        self.base: str | None = None  # "https://host:port", decided by ping()
        self.verify = True
        self._challenge: Challenge | None = None
        self._tokens: dict[str, str] = {}
        self._addrs: dict[tuple[str, int], list[tuple[Any, ...]]] = {}
        self._contexts: dict[tuple[str, int, bool], ssl.SSLContext] = {}

    @classmethod
    def from_config(cls, domain: str, *, tls_verify: bool | None = None, environ: Mapping[str, str] = os.environ,
                    timeouts: Timeouts = Timeouts(), credentials: Credentials | None = None,
                    cancel: Cancel | None = None) -> Registry:
        """With the credentials of docker's config.json and the settings of tuidock's config.toml."""
        cfg = regconfig.docker_config_path(environ)
        creds = credentials if credentials is not None else regconfig.load_credentials(domain, cfg)
        helper = regconfig.helper_for(domain, cfg) if creds is None else None
        settings = regconfig.load_settings(regconfig.tuidock_config_path(environ))
        return cls(domain, credentials=creds, settings=settings, tls_verify=tls_verify, timeouts=timeouts,
                   helper=helper, cancel=cancel)

    def _what(self) -> str:
        return f"registry {self.domain}"

    # ---- transport -------------------------------------------------------------------

    def _addresses(self, host: str, port: int) -> list[tuple[Any, ...]]:
        key = (host, port)
        if key not in self._addrs:
            self._addrs[key] = resolve(host, port, self.timeouts.connect, self.cancel)
        return self._addrs[key]

    def _may_skip_verify(self, netloc: str, host: str, port: int) -> bool:
        """Is ``netloc`` (``host[:port]`` as written) an insecure registry, or did the user say --tls-verify?"""
        if self.tls_verify is not None:
            return not self.tls_verify
        addrs = tuple(str(a[4][0]) for a in self._addresses(host, port))
        return regconfig.is_insecure(netloc, self.settings, addrs)

    def _context(self, host: str, port: int, verify: bool) -> ssl.SSLContext:
        key = (host, port, verify)
        ctx = self._contexts.get(key)
        if ctx is None:
            ctx = ssl.create_default_context()
            if not verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            names = [f"{host}:{port}"] + ([host] if port == 443 else [])
            for d in self.certs_dirs:
                for name in names:
                    for ca in sorted(glob.glob(os.path.join(d, name, "*.crt"))):
                        if verify:
                            ctx.load_verify_locations(cafile=ca)
                    for cert in sorted(glob.glob(os.path.join(d, name, "*.cert"))):
                        key_file = cert[:-5] + ".key"
                        if os.path.exists(key_file):
                            ctx.load_cert_chain(cert, key_file)
            self._contexts[key] = ctx
        return ctx

    def _connection(self, url: str) -> tuple[Conn, str]:
        u = urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise RegistryError(f"{self._what()}: refusing URL {url!r}")
        port = u.port or (443 if u.scheme == "https" else 80)
        host = u.hostname
        if u.scheme == "http" and not self._may_skip_verify(u.netloc, host, port):
            raise RegistryError(f"{self._what()}: refusing plain HTTP to {u.netloc}, which is not an insecure registry")
        ctx = None
        if u.scheme == "https":
            verify = self.verify if self._same_origin(url) else not self._may_skip_verify(u.netloc, host, port)
            ctx = self._context(host, port, verify)
        conn = Conn(u.scheme, host, port, self._addresses(host, port), self.timeouts, ctx, self.cancel)
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        return conn, path

    def _same_origin(self, url: str) -> bool:
        if self.base is None:
            return False
        a, b = urlsplit(url), urlsplit(self.base)
        return (a.scheme, a.hostname, a.port or (443 if a.scheme == "https" else 80)) == (
            b.scheme, b.hostname, b.port or (443 if b.scheme == "https" else 80))

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: bytes | IO[bytes] | None,
              deadline: float | None, authorization: Callable[[str], str | None]) -> tuple[http.client.HTTPResponse, Conn, str]:
        """One request, following redirects (at most :data:`MAX_HOPS`). Returns the response, its connection, the final URL."""
        start = body.tell() if body is not None and not isinstance(body, bytes) else 0
        for _ in range(MAX_HOPS + 1):
            if self.cancel is not None:
                self.cancel.check(f"{self._what()}: {method} {urlsplit(url).path}")
            if deadline is not None and time.monotonic() > deadline:
                raise RegistryError(f"{self._what()}: {method} {urlsplit(url).path}: timed out")
            conn, path = self._connection(url)
            hdrs = {"User-Agent": USER_AGENT, **headers}
            auth = authorization(url)
            if auth:
                hdrs["Authorization"] = auth
            if body is not None and not isinstance(body, bytes):
                body.seek(start)
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                self._check_cancel(f"{self._what()}: {method} {urlsplit(url).path}")
                reason = describe(e)
                raise Unreachable(f"{self._what()}: {method} {urlsplit(url).netloc}{urlsplit(url).path}: {reason}",
                                  reason) from None
            except BaseException:  # a request body's progress callback raised (a cancel): no socket left open
                conn.close()
                raise
            if resp.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD") and resp.getheader("Location"):
                url = urljoin(url, resp.getheader("Location", ""))
                conn.close()
                continue
            return resp, conn, url
        raise RegistryError(f"{self._what()}: {method} {urlsplit(url).path}: more than {MAX_HOPS} redirects")

    def _read(self, resp: http.client.HTTPResponse, conn: Conn, cap: int, deadline: float | None, what: str) -> bytes:
        """A whole small body, at most ``cap`` bytes, within the deadline."""
        length = resp.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > cap:
            raise RegistryError(f"{what}: response of {length} bytes is larger than the limit of {cap}")
        chunks, total = [], 0
        try:
            while True:
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise TimeoutError()
                    if conn.sock is not None:
                        conn.sock.settimeout(min(left, self.timeouts.read))
                chunk = resp.read1(min(1 << 16, cap + 1 - total))  # read1: one recv, so the deadline is checked often
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
                if total > cap:
                    raise RegistryError(f"{what}: response larger than the limit of {cap} bytes")
        except (OSError, http.client.HTTPException) as e:
            self._check_cancel(what)
            raise RegistryError(f"{what}: {describe(e)}") from None
        self._check_cancel(what)  # set() shut the socket down: what was read may be cut short
        return b"".join(chunks)

    # ---- the endpoint and authentication ------------------------------------------------

    def ping(self) -> None:
        """``GET /v2/``: choose HTTPS or (for an insecure registry) plain HTTP, and learn the challenge."""
        host, port = regconfig.split_host(self.api_host)
        try:
            insecure = self._may_skip_verify(self.api_host, host, port or 443)
        except RegistryError as e:  # the name does not resolve
            raise RegistryError(f"{self._what()}: cannot reach the registry: {str(e)}") from None
        self.verify = not insecure
        failures: list[str] = []
        for scheme in ("https", "http") if insecure else ("https",):
            base = f"{scheme}://{self.api_host}"
            deadline = time.monotonic() + self.timeouts.request
            try:
                resp, conn, _ = self._send("GET", base + "/v2/", {}, None, deadline, lambda url: None)
            except Unreachable as e:
                failures.append(e.reason)
                continue
            try:
                body = self._read(resp, conn, MAX_SMALL_BODY, deadline, self._what())
            finally:
                conn.close()
            if resp.status in (200, 401):
                self.base = base
                if resp.status == 401:
                    self._challenge = self._pick(resp.getheader("WWW-Authenticate", ""))
                return
            if resp.status == 404:
                raise RegistryError(f"{self._what()}: {base}/v2/ answered 404: not a registry (no distribution API)")
            raise RegistryError(f"{self._what()}: {base}/v2/ answered {resp.status} {resp.reason}: {error_text(body)}")
        reasons = list(dict.fromkeys(failures))
        if len(reasons) == 2:
            raise RegistryError(f"{self._what()}: cannot reach the registry: https: {reasons[0]}; http: {reasons[1]}")
        raise RegistryError(f"{self._what()}: cannot reach the registry: {reasons[0] if reasons else 'no endpoint'}")

    def _pick(self, header: str) -> Challenge | None:
        challenges = parse_challenges(header)
        for scheme in ("bearer", "basic"):
            for c in challenges:
                if c.scheme == scheme:
                    return c
        if challenges:
            raise RegistryError(f"{self._what()}: unsupported authentication scheme {challenges[0].scheme!r}")
        return None

    def _ensure(self) -> str:
        if self.base is None:
            self.ping()
        assert self.base is not None
        return self.base

    def _basic(self) -> str:
        assert self.credentials is not None
        raw = f"{self.credentials.username}:{self.credentials.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    def _authorization(self, scope: str) -> Callable[[str], str | None]:
        def header(url: str) -> str | None:
            ch = self._challenge
            if ch is None or not self._same_origin(url):
                return None  # never hand a registry's credentials to a redirect's other host
            if ch.scheme == "basic":
                return self._basic() if self.credentials else None
            if scope not in self._tokens:
                self._tokens[scope] = self._fetch_token(ch, scope.split(" ") if scope else [])
            return f"Bearer {self._tokens[scope]}"
        return header

    def _fetch_token(self, ch: Challenge, scopes: list[str]) -> str:
        realm = ch.params.get("realm")
        if not realm:
            raise RegistryError(f"{self._what()}: bearer challenge without a realm")
        query = []
        if ch.params.get("service"):
            query.append(("service", ch.params["service"]))
        query += [("scope", s) for s in scopes if s]
        if self.credentials:
            query.append(("account", self.credentials.username))
        url = realm + (("&" if "?" in realm else "?") + urlencode(query) if query else "")
        origin = urlsplit(realm)

        def header(u: str) -> str | None:
            same = urlsplit(u)
            return self._basic() if self.credentials and (same.scheme, same.netloc) == (origin.scheme, origin.netloc) else None

        deadline = time.monotonic() + self.timeouts.request
        resp, conn, _ = self._send("GET", url, {"Accept": "application/json"}, None, deadline, header)
        try:
            body = self._read(resp, conn, MAX_SMALL_BODY, deadline, f"{self._what()}: token from {origin.netloc}")
        finally:
            conn.close()
        if resp.status in (401, 403):
            raise self._unauthorized()
        if resp.status != 200:
            raise RegistryError(f"{self._what()}: token server {origin.netloc} answered {resp.status} {resp.reason}: "
                                f"{error_text(body)}")
        try:
            data = json.loads(body)
            token = data.get("token") or data.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"{self._what()}: token server {origin.netloc} sent no token")
        return token

    def _unauthorized(self, denied: bool = False) -> Unauthorized:
        """Refused: wrong credentials, none, or (``denied``) a valid login without access to this repository."""
        if self.credentials is not None:
            if denied:
                return Unauthorized(f"{self._what()}: denied: requested access to the resource is denied "
                                    f"for {self.credentials.username}")
            return Unauthorized(f"{self._what()}: unauthorized: incorrect username or password")
        hint = (f" (credential helper {self.helper!r} in docker's config.json is not supported:"
                f" use tuidock login {self.domain})") if self.helper else f" (tuidock login {self.domain})"
        return Unauthorized(f"{self._what()}: unauthorized: authentication required{hint}")

    def request(self, method: str, path: str, *, scope: str, headers: Mapping[str, str] | None = None,
                body: bytes | IO[bytes] | None = None, timed: bool = True) -> tuple[http.client.HTTPResponse, Conn]:
        """A request to the registry with authentication; the caller reads the response and closes the connection.

        ``path`` is relative to the registry (``/v2/...``) or an absolute URL
        (an upload's ``Location``). ``timed`` bounds the whole exchange by
        ``Timeouts.request`` (off for blob bodies, bounded per socket operation).
        """
        base = self._ensure()
        url = urljoin(base + "/", path)
        deadline = time.monotonic() + self.timeouts.request if timed else None
        retried = False
        while True:
            before = self._challenge
            resp, conn, _ = self._send(method, url, headers or {}, body, deadline, self._authorization(scope))
            if resp.status != 401:
                return resp, conn
            conn.close()
            ch = self._pick(resp.getheader("WWW-Authenticate", ""))
            if retried or ch is None:
                raise self._unauthorized(denied=before is not None and before.scheme == "bearer")
            retried = True
            self._challenge = ch
            if ch.scheme == "bearer":
                # A token for this scope was refused, or the registry wants more
                # (error="insufficient_scope"): one new token covering both.
                wider = ch.params.get("scope", "")
                self._tokens[scope] = self._fetch_token(ch, sorted(set(scope.split()) | set(wider.split())))
            elif self.credentials is None or (before is not None and before.scheme == "basic"):
                raise self._unauthorized()

    def _check_cancel(self, what: str) -> None:
        if self.cancel is not None:
            self.cancel.check(what)

    def _fail(self, resp: http.client.HTTPResponse, conn: Conn, what: str) -> TuidockError:
        try:
            body = self._read(resp, conn, MAX_SMALL_BODY, time.monotonic() + self.timeouts.read, what)
        except RegistryError:
            body = b""
        finally:
            conn.close()
        text = error_text(body) or resp.reason.lower()
        if resp.status == 404:
            return NotFound(f"{what}: {text or 'not found'}")
        if resp.status == 403:
            return Unauthorized(f"{what}: denied: {text}")
        return RegistryError(f"{what}: {resp.status} {resp.reason}: {text}")

    def check_login(self) -> None:
        """What ``docker login`` checks: the registry accepts these credentials."""
        if self.credentials is None:
            raise InvalidArgument(f"{self._what()}: no credentials to check")
        self._ensure()
        ch = self._challenge
        if ch is None:
            return  # the registry needs no login; docker reports success too
        if ch.scheme == "bearer":
            self._fetch_token(ch, [])
            return
        resp, conn = self.request("GET", "/v2/", scope="")
        conn.close()
        if resp.status != 200:
            raise RegistryError(f"{self._what()}: /v2/ answered {resp.status} {resp.reason}")

    # ---- manifests --------------------------------------------------------------------

    def get_manifest(self, repo: str, reference: str, accept: tuple[str, ...] = MANIFEST_TYPES) -> Manifest:
        what = f"{self.domain}/{repo}{'@' if ':' in reference else ':'}{reference}"
        if ":" in reference:
            check_digest(reference)
        resp, conn = self.request("GET", f"/v2/{repo}/manifests/{reference}", scope=f"repository:{repo}:pull",
                                  headers={"Accept": ", ".join(accept)})
        if resp.status != 200:
            raise self._fail(resp, conn, f"manifest {what}")
        try:
            data = self._read(resp, conn, MAX_MANIFEST, time.monotonic() + self.timeouts.request, f"manifest {what}")
        finally:
            conn.close()
        digest = sha256_digest(data)
        if ":" in reference and digest != reference:
            raise DigestMismatch(f"manifest {what}: content has digest {digest}")
        claimed = resp.getheader("Docker-Content-Digest")
        if claimed and claimed.startswith("sha256:") and claimed != digest:
            raise DigestMismatch(f"manifest {what}: registry says {claimed} but the content has digest {digest}")
        media = (resp.getheader("Content-Type") or "").split(";")[0].strip()
        return Manifest(data, media, digest)

    def put_manifest(self, repo: str, reference: str, data: bytes, media_type: str) -> str:
        what = f"manifest {self.domain}/{repo}:{reference}"
        resp, conn = self.request("PUT", f"/v2/{repo}/manifests/{reference}", scope=f"repository:{repo}:pull,push",
                                  headers={"Content-Type": media_type}, body=data)
        if resp.status not in (200, 201):
            raise self._fail(resp, conn, what)
        conn.close()
        digest = sha256_digest(data)
        claimed = resp.getheader("Docker-Content-Digest")
        if claimed and claimed.startswith("sha256:") and claimed != digest:
            raise DigestMismatch(f"{what}: registry stored {claimed}, expected {digest}")
        return digest

    # ---- blobs ---------------------------------------------------------------------

    def blob_size(self, repo: str, digest: str) -> int | None:
        """``HEAD`` a blob: its size, or None when the repository does not have it."""
        check_digest(digest)
        resp, conn = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull")
        conn.close()
        if resp.status == 404:
            return None
        if resp.status != 200:
            raise RegistryError(f"blob {digest[:19]} in {self.domain}/{repo}: {resp.status} {resp.reason}")
        length = resp.getheader("Content-Length") or ""
        return int(length) if length.isdigit() else -1

    def download_blob(self, repo: str, digest: str, size: int, dest: IO[bytes],
                      progress: Progress | None = None) -> None:
        """Stream a blob into ``dest`` while hashing it; it must be ``size`` bytes with digest ``digest``."""
        check_digest(digest)
        what = f"blob {digest[:19]} of {self.domain}/{repo}"
        resp, conn = self.request("GET", f"/v2/{repo}/blobs/{digest}", scope=f"repository:{repo}:pull", timed=False)
        try:
            if resp.status != 200:
                raise self._fail(resp, conn, what)
            length = resp.getheader("Content-Length")
            if length is not None and length.isdigit() and int(length) != size:
                raise DigestMismatch(f"{what}: registry sends {length} bytes, the manifest says {size}")
            h = hashlib.sha256()
            got = 0
            while True:
                try:
                    chunk = resp.read1(min(1 << 16, size + 1 - got))
                except (OSError, http.client.HTTPException) as e:
                    self._check_cancel(what)
                    raise RegistryError(f"{what}: {describe(e)} after {got} of {size} bytes") from None
                self._check_cancel(what)  # set() shut the socket down: this chunk may be its end of file
                if not chunk:
                    break
                got += len(chunk)
                if got > size:
                    raise DigestMismatch(f"{what}: more than the {size} bytes the manifest says")
                h.update(chunk)
                dest.write(chunk)
                if progress is not None:
                    progress(got)
            if got != size:
                raise RegistryError(f"{what}: truncated: {got} of {size} bytes")
            actual = "sha256:" + h.hexdigest()
            if actual != digest:
                raise DigestMismatch(f"{what}: content has digest {actual}")
        finally:
            conn.close()

    def upload_blob(self, repo: str, digest: str, size: int, src: IO[bytes], progress: Progress | None = None,
                    mount_from: tuple[str, ...] = (), chunk_size: int = CHUNK_SIZE) -> str | None:
        """Upload a blob (monolithic up to ``chunk_size``, else in PATCH chunks).

        Tries a cross-repository mount from each repository in ``mount_from``
        first; returns the repository it was mounted from, or None when uploaded.
        """
        check_digest(digest)
        what = f"blob {digest[:19]} to {self.domain}/{repo}"
        scope = " ".join([f"repository:{repo}:pull,push"] + [f"repository:{r}:pull" for r in mount_from])
        location = None
        for source in mount_from:
            resp, conn = self.request("POST", f"/v2/{repo}/blobs/uploads/?{urlencode({'mount': digest, 'from': source})}",
                                      scope=scope, headers={"Content-Length": "0"}, body=b"")
            if resp.status == 201:
                conn.close()
                return source
            if resp.status != 202:
                raise self._fail(resp, conn, what)
            location = resp.getheader("Location")
            conn.close()
            break  # a 202 opened an upload session: use it
        if location is None:
            resp, conn = self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope,
                                      headers={"Content-Length": "0"}, body=b"")
            if resp.status != 202:
                raise self._fail(resp, conn, what)
            location = resp.getheader("Location")
            conn.close()
        if not location:
            raise RegistryError(f"{what}: the registry opened an upload without a Location")
        location = urljoin(self._ensure() + "/", location)
        sent = 0
        if size > chunk_size:
            while sent < size:
                n = min(chunk_size, size - sent)
                part = Slice(src, sent, n, progress)
                resp, conn = self.request("PATCH", location, scope=scope, timed=False, body=part,  # type: ignore[arg-type]
                                          headers={"Content-Type": "application/octet-stream",
                                                   "Content-Range": f"{sent}-{sent + n - 1}",
                                                   "Content-Length": str(n)})
                if resp.status != 202:
                    raise self._fail(resp, conn, what)
                location = urljoin(location, resp.getheader("Location") or location)
                conn.close()
                sent += n
            body: Any = b""
            length = 0
        else:
            body, length = Slice(src, 0, size, progress), size
        sep = "&" if "?" in location else "?"
        resp, conn = self.request("PUT", f"{location}{sep}{urlencode({'digest': digest})}", scope=scope, timed=False,
                                  body=body, headers={"Content-Type": "application/octet-stream",
                                                      "Content-Length": str(length)})
        if resp.status != 201:
            raise self._fail(resp, conn, what)
        conn.close()
        claimed = resp.getheader("Docker-Content-Digest")
        if claimed and claimed != digest:
            raise DigestMismatch(f"{what}: registry stored {claimed}")
        return None
