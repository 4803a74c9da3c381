"""The grant handlers ``/oauth/token`` serves, keyed by ``grant_type``.

Adding a grant is one handler module and one line in :func:`default_grants` (or, for an
application, a registry built with ``default_grants(MyGrant())`` given to
:class:`~authgate.oauth.server.OAuthServer`); the server's dispatch and the metadata's
``grant_types_supported`` (RFC 8414 §2) read the registry. ``password`` and
``implicit`` can never be registered (RFC 9700 §2.4, §2.1.2).
"""

from __future__ import annotations

from collections.abc import Iterable

from authgate.errors import InvalidRequest
from authgate.oauth.errors import UnsupportedGrantType
from authgate.oauth.grant_rules import REFUSED_GRANTS
from authgate.oauth.grants.authorization_code import AuthorizationCodeGrant
from authgate.oauth.grants.base import GrantHandler
from authgate.oauth.grants.client_credentials import ClientCredentialsGrant
from authgate.oauth.grants.device_code import DeviceCodeGrant
from authgate.oauth.grants.refresh_token import RefreshTokenGrant
from authgate.registry import Registry

__all__ = ["IMPLEMENTED_GRANTS", "GrantRegistry", "default_grants", "select_grant"]


class GrantRegistry(Registry[GrantHandler]):
    """Grant handlers by ``grant_type``, in registration order.

    Args:
        handlers: the handlers to register at once.
    """

    def __init__(self, handlers: Iterable[GrantHandler] = ()) -> None:
        super().__init__("grant", ((h.grant_type, h) for h in handlers))

    def register(self, name: str, entry: GrantHandler) -> None:
        """Add ``entry`` for ``grant_type`` ``name``.

        Raises:
            ValueError: already registered, a refused grant, or not ``entry``'s type.
            RuntimeError: the registry is frozen.
        """
        if name in REFUSED_GRANTS:
            raise ValueError(f"grant {name!r} is refused on purpose (RFC 9700 §2.4, §2.1.2)")
        if name != entry.grant_type:
            raise ValueError(f"grant {name!r} registered with a {entry.grant_type!r} handler")
        super().register(name, entry)

    def add(self, handler: GrantHandler) -> None:
        """Register ``handler`` for its ``grant_type``."""
        self.register(handler.grant_type, handler)

    @property
    def grant_types(self) -> tuple[str, ...]:
        """The grant types served, in registration order (``grant_types_supported``)."""
        return self.names()

    def select(self, grant_type: str | None) -> GrantHandler:
        """The handler of ``grant_type``.

        Raises:
            InvalidRequest: no ``grant_type``.
            UnsupportedGrantType: password, implicit, not implemented, or unknown.
        """
        if grant_type is None:
            raise InvalidRequest("grant_type is required.")
        handler = self.get(grant_type)
        if handler is None:
            raise UnsupportedGrantType(reason=f"grant_type {grant_type[:60]!r}")
        return handler


def default_grants(*extra: GrantHandler) -> GrantRegistry:
    """authgate's grants, then ``extra``; frozen.

    Raises:
        ValueError: an ``extra`` grant type is already registered, or refused.
    """
    registry = GrantRegistry(
        (
            AuthorizationCodeGrant(),
            ClientCredentialsGrant(),
            RefreshTokenGrant(),
            DeviceCodeGrant(),
            *extra,
        )
    )
    return registry.freeze()


_DEFAULT = default_grants()
#: The grant types of :func:`default_grants`.
IMPLEMENTED_GRANTS: tuple[str, ...] = _DEFAULT.grant_types


def select_grant(grant_type: str | None, grants: GrantRegistry | None = None) -> GrantHandler:
    """The handler of ``grant_type`` in ``grants`` (default: :func:`default_grants`).

    Raises:
        InvalidRequest: no ``grant_type``.
        UnsupportedGrantType: password, implicit, not implemented, or unknown.
    """
    return (_DEFAULT if grants is None else grants).select(grant_type)
