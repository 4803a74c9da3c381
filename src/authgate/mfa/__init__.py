"""Multi-factor authentication: TOTP (RFC 6238 / RFC 4226), recovery codes, throttling."""

from authgate.mfa.recovery import RecoveryCodes
from authgate.mfa.service import EnrolmentStarted, MfaService
from authgate.mfa.throttle import LoginThrottle, ThrottlePolicy
from authgate.mfa.throttle_store import MemoryThrottleStore
from authgate.mfa.totp import TotpParams

__all__ = [
    "EnrolmentStarted",
    "LoginThrottle",
    "MemoryThrottleStore",
    "MfaService",
    "RecoveryCodes",
    "ThrottlePolicy",
    "TotpParams",
]
