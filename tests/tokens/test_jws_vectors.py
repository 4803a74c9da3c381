"""Conformance: RFC 7520 JOSE cookbook JWS examples and Wycheproof JWS/JWK vectors.

Valid vectors must verify, invalid ones must be rejected (by key import or verification).
Vectors are read from ``tests/vectors`` (copied from the public sources named there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from authgate.errors import InvalidCredentials
from authgate.tokens import KeyPolicyError, KeyRing
from authgate.tokens.issuers import SUPPORTED_ALGORITHMS
from authgate.tokens.verify import verify_jws

VECTORS = Path(__file__).parents[1] / "vectors"
COOKBOOK = VECTORS / "jose-cookbook-rfc7520" / "jws"
WYCHEPROOF = VECTORS / "wycheproof" / "testvectors_v1"
ALL_ALGS = frozenset(SUPPORTED_ALGORITHMS)


def _load(path: Path) -> Any:
    return json.loads(path.read_text())


def _public(jwk: dict[str, Any]) -> dict[str, Any]:
    private = {"d", "p", "q", "dp", "dq", "qi"}
    return {k: v for k, v in jwk.items() if k not in private or jwk.get("kty") == "oct"}


# --- RFC 7520 §4 ---------------------------------------------------------------------

# Examples that are not a compact JWS with a single protected header: authgate verifies
# bearer tokens, which are always compact (RFC 7519 §1), so these are out of scope.
COOKBOOK_SKIPS = {
    "4_5.signature_with_detached_content.json": "detached payload (RFC 7515 App. F)",
    "4_6.protecting_specific_header_fields.json": "unprotected header: JSON serialization only",
    "4_7.protecting_content_only.json": "no protected header: JSON serialization only",
    "4_8.multiple_signatures.json": "multiple signatures: general JSON serialization only",
}


def _cookbook_cases() -> list[Any]:
    if not COOKBOOK.exists():
        return [pytest.param(None, id="missing")]
    cases = []
    for path in sorted(COOKBOOK.glob("*.json")):
        marks = []
        if path.name in COOKBOOK_SKIPS:
            marks.append(pytest.mark.skip(reason=COOKBOOK_SKIPS[path.name]))
        cases.append(pytest.param(path, id=path.stem, marks=marks))
    return cases


@pytest.mark.parametrize("path", _cookbook_cases())
def test_rfc7520_cookbook_jws(path: Path | None) -> None:
    assert path is not None
    case = _load(path)
    key = _public(case["input"]["key"])
    alg = case["input"]["alg"]
    ring = KeyRing.from_jwks({"keys": [key]}, frozenset({alg}), strict=True, allow_symmetric=True)
    header, payload = verify_jws(case["output"]["compact"], ring, frozenset({alg}))
    assert header == case["signing"]["protected"]
    assert payload.decode("utf-8") == case["input"]["payload"]
    # The same example with one payload byte changed must fail.
    h, p, s = case["output"]["compact"].split(".")
    tampered = f"{h}.{p[:-2]}{'A' if p[-2] != 'A' else 'B'}{p[-1]}.{s}"
    with pytest.raises(InvalidCredentials):
        verify_jws(tampered, ring, frozenset({alg}))
    # And the example's key refuses every other algorithm (per-key pinning).
    others = ALL_ALGS - {alg}
    with pytest.raises((InvalidCredentials, KeyPolicyError)):
        other_ring = KeyRing.from_jwks({"keys": [key]}, others, strict=True, allow_symmetric=True)
        verify_jws(case["output"]["compact"], other_ring, others)


# --- Wycheproof -----------------------------------------------------------------------

# Vectors marked "valid" that authgate rejects on purpose: the strict base64url decoding
# of RFC 7515 §2 / RFC 4648 §5 refuses characters outside the alphabet. A separate test
# asserts the rejection.
STRICTER_THAN_VECTOR = {
    "372": "'?' inside the header segment: non-base64url character (RFC 7515 §2)",
    "373": "'?' inside the payload segment: non-base64url character (RFC 7515 §2)",
    # The key says "alg": "PS256" but the token is PS384: the key's alg pins it (RFC 7517
    # §4.4, RFC 8725 §3.1), so authgate refuses.
    "346": "key alg PS256 pins the key; the token is PS384",
    "350": "key alg PS256 pins the key; the token is PS384",
    # The key says "alg": "ES521", which is not a registered algorithm (RFC 7518 §3.4).
    "347": "key alg ES521 is not a registered algorithm; the key is refused",
    "351": "key alg ES521 is not a registered algorithm; the key is refused",
}
# Vectors marked "invalid" whose JWS is byte-identical to the valid tcId 357: the expected
# result contradicts itself, so no implementation can satisfy both (asserted below).
CONTRADICTORY = {
    "367": "byte-identical to valid vector 357 (contradictory expected result)",
    "370": "byte-identical to valid vector 357 (contradictory expected result)",
}


def _wycheproof_cases(filename: str) -> list[Any]:
    data = _load(WYCHEPROOF / filename)
    cases = []
    for group in data["testGroups"]:
        for test in group["tests"]:
            tc = str(test["tcId"])
            marks = []
            if tc in STRICTER_THAN_VECTOR:
                marks.append(pytest.mark.skip(reason=STRICTER_THAN_VECTOR[tc]))
            if tc in CONTRADICTORY:
                marks.append(pytest.mark.skip(reason=CONTRADICTORY[tc]))
            cid = f"{tc}-{group.get('comment', '')}-{test['comment']}"
            cases.append(pytest.param(group, test, id=cid, marks=marks))
    return cases


def _ring_for(keyset: dict[str, Any]) -> KeyRing:
    keys = [_public(k) for k in keyset["keys"]]
    return KeyRing.from_jwks({"keys": keys}, ALL_ALGS, strict=True, allow_symmetric=True)


def _outcome(keyset: dict[str, Any], jws: str) -> bool:
    """True when authgate accepts the JWS under the keyset (as static configuration)."""
    try:
        ring = _ring_for(keyset)
        verify_jws(jws, ring, ALL_ALGS)
    except (InvalidCredentials, KeyPolicyError):
        return False
    return True


@pytest.mark.parametrize(("group", "test"), _wycheproof_cases("json_web_signature_test.json"))
def test_wycheproof_json_web_signature(group: Any, test: Any) -> None:
    key = group.get("public") or group["private"]
    accepted = _outcome({"keys": [key]}, test["jws"])
    assert accepted == (test["result"] == "valid"), test["comment"]


@pytest.mark.parametrize(("group", "test"), _wycheproof_cases("json_web_key_test.json"))
def test_wycheproof_json_web_key(group: Any, test: Any) -> None:
    keyset = group.get("public") or group["private"]
    accepted = _outcome(keyset, test["jws"])
    assert accepted == (test["result"] == "valid"), test["comment"]


def test_wycheproof_skipped_vectors_are_rejected_or_contradictory() -> None:
    """The vectors skipped above: authgate refuses the stricter ones, deliberately, and the
    contradictory ones really are copies of a valid vector."""
    data = _load(WYCHEPROOF / "json_web_signature_test.json")
    by_id = {str(t["tcId"]): (g, t) for g in data["testGroups"] for t in g["tests"]}
    for tc in STRICTER_THAN_VECTOR:
        group, test = by_id[tc]
        key = group.get("public") or group["private"]
        assert test["result"] == "valid"
        assert not _outcome({"keys": [key]}, test["jws"]), tc
    for tc in CONTRADICTORY:
        assert by_id[tc][1]["result"] == "invalid"
        assert by_id[tc][1]["jws"] == by_id["357"][1]["jws"]
        assert by_id["357"][1]["result"] == "valid"
