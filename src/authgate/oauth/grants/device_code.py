"""The device authorization grant at the token endpoint (RFC 8628 §3.4, §3.5).

Polling answers ``authorization_pending``, ``slow_down``, ``access_denied`` or
``expired_token`` until the user has approved (:class:`~authgate.oauth.device.DeviceService`);
then the user-delegated token response.
"""

from __future__ import annotations

from typing import Any

from authgate.oauth.grant_rules import required
from authgate.oauth.grants.base import GrantContext, TokenRequest
from authgate.oauth.grants.user_tokens import issue_user_tokens
from authgate.oauth.registration import DEVICE_CODE_GRANT

__all__ = ["DeviceCodeGrant"]


class DeviceCodeGrant:
    """``grant_type=urn:ietf:params:oauth:grant-type:device_code``."""

    grant_type = DEVICE_CODE_GRANT

    async def token(self, ctx: GrantContext, request: TokenRequest) -> dict[str, Any]:
        code = required(request.form, "device_code")
        grant = await ctx.device.redeem(code, request.client.client_id)
        return await issue_user_tokens(ctx, request, grant, self.grant_type)
