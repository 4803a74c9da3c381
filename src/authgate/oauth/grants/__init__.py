"""The token endpoint's grants (RFC 6749 §4, §6; RFC 8628 §3.4), one module each.

:mod:`authgate.oauth.grant_rules` holds the sans-I/O decisions every grant shares
(client registered for the grant, scope syntax and ceiling, required parameters; also
re-exported here); :mod:`.base` what a handler
is and gets; :mod:`.registry` the handlers by ``grant_type``. Each grant is its own
module: :mod:`.authorization_code`, :mod:`.client_credentials`, :mod:`.refresh_token`,
:mod:`.device_code`.
"""

from authgate.oauth.grant_rules import (
    REFUSED_GRANTS,
    check_grant_allowed,
    parse_scope,
    required,
    resolve_scopes,
)
from authgate.oauth.grants.base import GrantContext, GrantHandler, TokenRequest
from authgate.oauth.grants.registry import (
    IMPLEMENTED_GRANTS,
    GrantRegistry,
    default_grants,
    select_grant,
)

__all__ = [
    "IMPLEMENTED_GRANTS",
    "REFUSED_GRANTS",
    "GrantContext",
    "GrantHandler",
    "GrantRegistry",
    "TokenRequest",
    "check_grant_allowed",
    "default_grants",
    "parse_scope",
    "required",
    "resolve_scopes",
    "select_grant",
]
