"""Fetching an asset from the provider: streamed, measured, and safe against server-side request forgery.

An asset URL comes from a callback body, which is attacker-controlled wherever the body is not proven
authentic, and every redirect is chosen by whoever answers. So each hop's host is resolved here and
refused (`asset_forbidden_address`) when any of its addresses is loopback, private, link-local,
reserved, multicast or otherwise not public, unless it is the source's own API host (configured by the
operator) or `allow_private_networks` is set. The request then goes to the address that was checked
(the host kept in `Host` and in TLS's server name), so a DNS answer that changes between the check and
the connection (DNS rebinding) cannot send it elsewhere. Redirects are followed by hand, a few at most,
http(s) only; the caller's credentials go to the API host alone and never after a redirect leaves it.

The body streams through: bytes are counted (against `max_bytes` and `Content-Length`) and hashed on
the way, and nothing holds more than one chunk.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from receiver.foundation.errors import VideohooksError

MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Worth trying again later: the object may not be there yet, or the server is in trouble.
RETRYABLE_STATUSES = frozenset({404, 408, 425, 429})
CHUNK_BYTES = 1024 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AssetError(VideohooksError):
    """A copy that failed, with its contract code (`asset_errors[].code`) and whether a retry can help."""

    def __init__(self, code: str, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Origin:
    """A URL's scheme, host and port: what credentials and trust are bound to."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: httpx.URL) -> Origin:
        return cls(url.scheme, url.host.lower(), url.port or (443 if url.scheme == "https" else 80))


@dataclass(frozen=True, slots=True)
class Trust:
    """What a download of one source's asset may reach: its API origin gets the credentials, and may
    be on a private network (the operator configured it); other hosts must be public, unless allowed."""

    api_base_url: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict)
    allow_private_networks: bool = False

    @property
    def api_origin(self) -> Origin | None:
        return Origin.of(httpx.URL(self.api_base_url)) if self.api_base_url else None


@dataclass(slots=True)
class Tally:
    """Filled in while the body streams: what the stored copy's fields will say."""

    content_type: str | None = None
    bytes: int = 0
    sha256: str = ""


def _public(address: Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


async def _resolve(host: str, port: int) -> list[Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise AssetError("asset_unavailable", f"cannot resolve {host}: {exc}", retryable=True) from None
    return [ipaddress.ip_address(info[4][0]) for info in infos]


class Downloader:
    """Opens asset URLs on a shared client, which must not follow redirects or read proxies from the
    environment (a proxy would connect to the host by name, not to the address checked here)."""

    def __init__(self, client: httpx.AsyncClient, max_bytes: int) -> None:
        self._client = client
        self._max_bytes = max_bytes

    @asynccontextmanager
    async def open(self, url: str, trust: Trust) -> AsyncIterator[tuple[AsyncIterator[bytes], Tally]]:
        """The body as chunks, and the tally they fill in: complete (and checked) once they are exhausted."""
        response = await self._follow(url, trust)
        try:
            tally = Tally(content_type=response.headers.get("content-type"))
            length = self._declared_length(response)
            yield self._measured(response, tally, length), tally
        finally:
            await response.aclose()

    async def _follow(self, url: str, trust: Trust) -> httpx.Response:
        api_origin = trust.api_origin
        credentials: Mapping[str, str] = trust.credentials
        current = self._http_url(url)
        for _ in range(MAX_REDIRECTS + 1):
            origin = Origin.of(current)
            if origin != api_origin:
                credentials = {}  # and they stay dropped: a redirect chain never earns them back
            addresses = await self._checked_addresses(
                origin, trusted=origin == api_origin or trust.allow_private_networks
            )
            response = await self._send(current, addresses, credentials)
            if response.status_code in REDIRECTS and "location" in response.headers:
                await response.aclose()
                current = self._http_url(str(current.join(response.headers["location"])), redirect=True)
                continue
            if response.status_code != 200:
                await response.aclose()
                raise self._status_error(response)
            return response
        raise AssetError(
            "asset_unavailable", f"more than {MAX_REDIRECTS} redirects from {url}", retryable=False
        )

    @staticmethod
    def _http_url(url: str, *, redirect: bool = False) -> httpx.URL:
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise AssetError("asset_unavailable", f"not a URL: {exc}", retryable=False) from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            code = "asset_forbidden_redirect" if redirect else "asset_unsupported_url"
            what = "a redirect to" if redirect else "the asset URL"
            raise AssetError(code, f"{what} {parsed.scheme}:// is not http(s)", retryable=False)
        return parsed

    @staticmethod
    async def _checked_addresses(origin: Origin, *, trusted: bool) -> list[Address]:
        addresses = await _resolve(origin.host, origin.port)
        if not addresses:
            raise AssetError("asset_unavailable", f"{origin.host} has no address", retryable=True)
        refused = [str(address) for address in addresses if not _public(address)]
        if refused and not trusted:
            raise AssetError(
                "asset_forbidden_address",
                f"{origin.host} resolves to a non-public address ({', '.join(refused)}): not fetched",
                retryable=False,
            )
        return addresses

    async def _send(
        self, url: httpx.URL, addresses: list[Address], credentials: Mapping[str, str]
    ) -> httpx.Response:
        """GET `url` from the first of its checked addresses that takes the connection."""
        headers = {**credentials, "host": url.netloc.decode("ascii"), "accept-encoding": "identity"}
        extensions = {"sni_hostname": url.host} if url.scheme == "https" else {}
        failure: httpx.TransportError | None = None
        for address in addresses:
            request = self._client.build_request(
                "GET", url.copy_with(host=str(address)), headers=headers, extensions=extensions
            )
            try:
                return await self._client.send(request, stream=True)
            except httpx.ConnectError as exc:
                failure = exc
            except httpx.TransportError as exc:
                failure = exc
                break
        raise AssetError(
            "asset_unavailable", f"{url.host}: {failure.__class__.__name__}: {failure}", retryable=True
        )

    @staticmethod
    def _status_error(response: httpx.Response) -> AssetError:
        status = response.status_code
        retry_after = response.headers.get("retry-after", "")
        return AssetError(
            "asset_unavailable",
            f"{response.request.headers.get('host')} answered {status}",
            retryable=status in RETRYABLE_STATUSES or status >= 500,
            retry_after=float(retry_after) if retry_after.isdigit() else None,
        )

    def _declared_length(self, response: httpx.Response) -> int | None:
        """`Content-Length` when it counts the bytes as stored (no content encoding); refused when too big."""
        raw = response.headers.get("content-length")
        if (
            raw is None
            or not raw.isdigit()
            or response.headers.get("content-encoding", "identity") != "identity"
        ):
            return None
        length = int(raw)
        if length > self._max_bytes:
            raise AssetError(
                "asset_too_large", f"{length} bytes, above max_bytes = {self._max_bytes}", retryable=False
            )
        return length

    async def _measured(
        self, response: httpx.Response, tally: Tally, length: int | None
    ) -> AsyncIterator[bytes]:
        digest = hashlib.sha256()
        try:
            async for chunk in response.aiter_bytes(CHUNK_BYTES):
                tally.bytes += len(chunk)
                if tally.bytes > self._max_bytes:
                    raise AssetError(
                        "asset_too_large", f"more than max_bytes = {self._max_bytes} bytes", retryable=False
                    )
                digest.update(chunk)
                yield chunk
        except httpx.TransportError as exc:
            raise AssetError(
                "asset_unavailable",
                f"cut off after {tally.bytes} bytes: {exc.__class__.__name__}",
                retryable=True,
            ) from None
        if length is not None and tally.bytes != length:
            raise AssetError(
                "asset_unavailable",
                f"{tally.bytes} bytes received, Content-Length said {length}",
                retryable=True,
            )
        tally.sha256 = digest.hexdigest()
