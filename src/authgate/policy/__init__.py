"""Authorization policy as code: routes → who may call them, decided after authentication.

A policy file (TOML or YAML, see docs/policy.md) maps method + path patterns to allowed
schemes, scopes, roles, anonymous access, client-IP networks and rate limits. Paths are
normalised (RFC 3986 §5.2.4) before matching; the most specific route wins; no match
falls back to the policy's default (deny unless configured otherwise).
"""

from authgate.policy.cases import Case, CaseResult, CaseSuite, load_cases, run_cases
from authgate.policy.evaluate import Decision, decide
from authgate.policy.loader import PolicyError, load_policy, parse_policy
from authgate.policy.middleware import DECISION_SCOPE_KEY, PolicyMiddleware
from authgate.policy.model import Policy, RateLimit, Route
from authgate.policy.paths import normalize_path

__all__ = [
    "DECISION_SCOPE_KEY",
    "Case",
    "CaseResult",
    "CaseSuite",
    "Decision",
    "Policy",
    "PolicyError",
    "PolicyMiddleware",
    "RateLimit",
    "Route",
    "decide",
    "load_cases",
    "load_policy",
    "normalize_path",
    "parse_policy",
    "run_cases",
]
