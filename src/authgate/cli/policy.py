"""``authgate policy check FILE`` and ``authgate policy test FILE CASES`` (docs/policy.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from authgate.cli.output import emit, fail, table
from authgate.policy.cases import load_cases, run_cases
from authgate.policy.loader import PolicyError, load_policy
from authgate.policy.model import Policy

__all__ = ["policy_app"]

policy_app = typer.Typer(help="Authorization policy files.", no_args_is_help=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
FileArg = Annotated[Path, typer.Argument(metavar="FILE", help="Policy file (.toml, .yaml).")]
CasesArg = Annotated[Path, typer.Argument(metavar="CASES", help="Cases file (.toml, .yaml).")]


def _invalid(error: PolicyError, *, as_json: bool) -> typer.Exit:
    if as_json:
        emit({"valid": False, "file": error.source, "errors": list(error.problems)}, as_json=True)
        return typer.Exit(1)
    lines = [f"{error.source} is invalid:", *(f"  {p}" for p in error.problems)]
    fail("\n".join(lines), as_json=False)


def _route_rows(policy: Policy) -> list[dict[str, Any]]:
    """Routes in precedence order (the first one that covers a request decides)."""
    rows = []
    for c in policy.index:
        r = c.route
        rows.append(
            {
                "route": r.label,
                "methods": "*" if c.methods is None else sorted(c.methods),
                "path": r.path,
                "anonymous": r.anonymous,
                "schemes": list(r.schemes) if r.schemes is not None else None,
                "scopes": list(r.scopes),
                "scopes_mode": r.scopes_mode,
                "roles": list(r.roles),
                "ip_allow": [str(n) for n in r.ip_allow] if r.ip_allow is not None else None,
                "rate_limit": r.rate_limit.model_dump() if r.rate_limit else None,
                "rate_limits": [limit.model_dump() for limit in r.rate_limits],
            }
        )
    return rows


@policy_app.command("check")
def check_policy(file: FileArg, as_json: JsonOpt = False) -> None:
    """Validate a policy file; list its routes in the order they take precedence."""
    try:
        policy = load_policy(file)
    except PolicyError as exc:
        raise _invalid(exc, as_json=as_json) from None
    rows = _route_rows(policy)
    out = {"valid": True, "file": str(file), "default": policy.default, "routes": rows}
    if as_json:
        emit(out, as_json=True)
        return
    emit(
        out,
        as_json=False,
        text=f"{file} is valid: {len(rows)} route(s), default {policy.default}.",
    )
    if rows:
        table(
            rows,
            ["route", "methods", "path", "anonymous", "schemes", "scopes", "roles", "ip_allow"],
            "Routes, most specific first",
        )


@policy_app.command("test")
def run_tests(file: FileArg, cases: CasesArg, as_json: JsonOpt = False) -> None:
    """Run table-driven decision tests; exit 1 when any case fails."""
    try:
        policy = load_policy(file)
        suite = load_cases(cases)
    except PolicyError as exc:
        raise _invalid(exc, as_json=as_json) from None
    results = run_cases(policy, suite)
    failed = [r for r in results if not r.passed]
    if as_json:
        emit(
            {
                "file": str(file),
                "cases_file": str(cases),
                "passed": len(results) - len(failed),
                "failed": len(failed),
                "cases": [r.as_json() for r in results],
            },
            as_json=True,
        )
    else:
        lines = []
        for r in results:
            d = r.decision
            outcome = "allow" if d.allowed else f"{d.status} {d.error.code if d.error else ''}"
            lines.append(f"{'PASS' if r.passed else 'FAIL'}  {r.case.label}  → {outcome.strip()}")
            lines.extend(f"      {why}" for why in r.failures)
        lines.append(f"{len(results) - len(failed)} passed, {len(failed)} failed")
        emit(None, as_json=False, text="\n".join(lines))
    if failed:
        raise typer.Exit(1)
