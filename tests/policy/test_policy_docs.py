"""docs/policy.md's full example is a valid policy and its cases pass."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from authgate.policy import parse_policy
from authgate.policy.cases import CaseSuite, run_cases
from authgate.policy.loader import load_model

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_full_example_is_valid_and_its_cases_pass() -> None:
    policy_text, cases_text = blocks("toml")
    policy = parse_policy(tomllib.loads(policy_text), "docs policy.toml")
    suite = load_model(CaseSuite, tomllib.loads(cases_text), "docs policy-cases.toml")
    results = run_cases(policy, suite)
    assert len(results) == 11
    assert [r.case.label for r in results if not r.passed] == []
    assert f"{len(policy.routes)} route(s)" in DOC.read_text(encoding="utf-8")


def test_yaml_example_matches_the_toml_one() -> None:
    [yaml_text] = blocks("yaml")
    [policy_text, _] = blocks("toml")
    from_yaml = parse_policy(yaml.safe_load(yaml_text))
    from_toml = parse_policy(tomllib.loads(policy_text))
    by_name = {r.name: r for r in from_toml.routes}
    for route in from_yaml.routes:
        expected = by_name[route.name]
        # the YAML is abbreviated: same rules, possibly fewer networks
        assert route.model_copy(update={"ip_allow": None}) == expected.model_copy(
            update={"ip_allow": None}
        )
        assert set(route.ip_allow or ()) <= set(expected.ip_allow or ())
