"""Table-driven policy tests: a file of requests and the decision each one must get.

Used by ``authgate policy test FILE CASES`` so policies are unit-tested like code. A case
names a request (method, raw path as a client would send it — RFC 3986 §3.3
percent-encoding included —, caller, client IP) and what must happen: ``allow``, or a
status (400/401/403), optionally the error code and the route that decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from authgate.identity import Identity
from authgate.policy.evaluate import Decision, decide
from authgate.policy.loader import load_document, load_model
from authgate.policy.model import Policy

__all__ = ["Case", "CaseIdentity", "CaseResult", "CaseSuite", "load_cases", "run_case", "run_cases"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)


class CaseIdentity(_Model):
    """The caller of a case (an authenticated identity)."""

    subject: str = "test-user"
    """The principal's name."""
    scheme: str = "apikey"
    """The scheme it authenticated with (``Identity.scheme``)."""
    scopes: tuple[str, ...] = ()
    """Scopes granted to the request."""
    roles: tuple[str, ...] = ()
    """Roles of the principal."""

    def to_identity(self) -> Identity:
        """The :class:`~authgate.identity.Identity` this stands for."""
        return Identity(
            subject=self.subject,
            principal_id=f"test:{self.subject}",
            scheme=self.scheme,
            scopes=self.scopes,
            roles=self.roles,
        )


class Case(_Model):
    """One request and the decision it must get."""

    name: str | None = None
    """What the case checks; defaults to ``"METHOD path"``."""
    method: str = "GET"
    """The request method."""
    path: str
    """The raw request path, percent-encoded as sent on the wire."""
    identity: CaseIdentity | Literal["none"] | None = None
    """The caller, or ``"none"``/absent for a request without credentials."""
    client_ip: str | None = None
    """The trusted client IP, or absent when unknown."""
    expect: Literal["allow", "deny", 400, 401, 403]
    """``allow``, ``deny`` (any refusal) or the refusal's status."""
    error: str | None = None
    """The expected error code (``forbidden``, ``insufficient_scope``, ...), when refused."""
    route: str | None = Field(default=None, min_length=1)
    """The label of the route expected to decide: ``"default"`` for the policy default,
    ``"none"`` when the path is refused before matching."""

    @field_validator("expect", mode="before")
    @classmethod
    def _expect(cls, value: Any) -> Any:
        if isinstance(value, str) and value.isdigit():
            return int(value)
        return value

    @property
    def label(self) -> str:
        """How reports name this case."""
        return self.name or f"{self.method} {self.path}"

    def caller(self) -> Identity | None:
        """The identity of the caller, None when anonymous."""
        return self.identity.to_identity() if isinstance(self.identity, CaseIdentity) else None


class CaseSuite(_Model):
    """A cases file."""

    cases: tuple[Case, ...] = Field(min_length=1)
    """The cases, run in order."""


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The outcome of one case.

    Attributes:
        case: the case.
        decision: what the policy decided.
        failures: why the case failed; empty when it passed.
    """

    case: Case
    decision: Decision
    failures: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready report of this case."""
        d = self.decision
        return {
            "name": self.case.label,
            "passed": self.passed,
            "failures": list(self.failures),
            "expected": {
                "expect": self.case.expect,
                "error": self.case.error,
                "route": self.case.route,
            },
            "actual": {
                "allowed": d.allowed,
                "status": d.status,
                "error": d.error.code if d.error else None,
                "route": d.route,
                "path": d.path,
                "reason": d.reason,
            },
        }


def load_cases(path: str | Path) -> CaseSuite:
    """Read a TOML/YAML cases file (``[[cases]]``).

    Raises:
        PolicyError: with the location of every problem.
    """
    return load_model(CaseSuite, load_document(path), str(path))


def run_case(policy: Policy, case: Case) -> CaseResult:
    """Decide one case and compare with what it expects."""
    decision = decide(policy, case.method, case.path, case.caller(), case.client_ip)
    failures: list[str] = []
    got = "allow" if decision.allowed else str(decision.status)
    if case.expect == "allow" and not decision.allowed:
        failures.append(f"expected allow, got {got}")
    elif case.expect == "deny" and decision.allowed:
        failures.append("expected a refusal, got allow")
    elif isinstance(case.expect, int) and case.expect != decision.status:
        failures.append(f"expected {case.expect}, got {got}")
    actual_error = decision.error.code if decision.error else None
    if case.error is not None and case.error != actual_error:
        failures.append(f"expected error {case.error}, got {actual_error or 'none'}")
    if case.route is not None:
        actual_route = decision.route or ("default" if decision.path is not None else "none")
        if case.route != actual_route:
            failures.append(f"expected route {case.route!r}, got {actual_route!r}")
    if failures:
        failures.append(f"because: {decision.reason}")
    return CaseResult(case, decision, tuple(failures))


def run_cases(policy: Policy, suite: CaseSuite) -> list[CaseResult]:
    """Run every case of ``suite`` against ``policy``."""
    return [run_case(policy, case) for case in suite.cases]
