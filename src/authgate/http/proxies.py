"""Trusted client addresses: ``X-Forwarded-For`` is believed only from configured proxies."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from authgate.http.headers import Headers

__all__ = ["TrustedProxies"]


class TrustedProxies:
    def __init__(self, networks: Sequence[str] = ()) -> None:
        self._nets: tuple[IPv4Network | IPv6Network, ...] = tuple(
            ip_network(n, strict=False) for n in networks
        )
        self._is_trusted = lru_cache(maxsize=4096)(self._check)

    def _check(self, addr: str) -> bool:
        try:
            ip = ip_address(addr)
        except ValueError:
            return False
        return any(ip in n for n in self._nets)

    @property
    def enabled(self) -> bool:
        return bool(self._nets)

    def is_trusted(self, addr: str | None) -> bool:
        return bool(self._nets) and addr is not None and self._is_trusted(addr)

    def client_ip(self, peer: str | None, headers: Headers) -> str | None:
        """The client's address: the peer, or from X-Forwarded-For when the peer is trusted.

        Walks X-Forwarded-For from the right, skipping trusted proxies; the first
        untrusted hop is the client. Anything an untrusted peer sends is ignored.
        """
        if not self._nets or not self.is_trusted(peer):
            return peer
        hops = [h.strip() for v in headers.get_all("x-forwarded-for") for h in v.split(",")]
        for hop in reversed(hops):
            if not hop:
                continue
            if not self._is_valid(hop):
                return peer
            if not self.is_trusted(hop):
                return hop
        return peer

    @staticmethod
    def _is_valid(addr: str) -> bool:
        try:
            ip_address(addr)
        except ValueError:
            return False
        return True
