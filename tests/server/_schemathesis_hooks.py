"""Schemathesis hooks for tests/server/test_schemathesis_admin_api.py (``SCHEMATHESIS_HOOKS``).

A custom check: no response body carries a Python traceback (SECURITY.md: "Error responses
never include stack traces or key material").
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def no_traceback(ctx: Any, response: Any, case: Any) -> bool | None:
    """Fail when the body shows a Python traceback or an exception's file/line frames."""
    body = response.content.decode("utf-8", "replace")
    if "Traceback (most recent call last)" in body or 'File "/' in body:
        raise AssertionError("the response body contains a Python traceback")
    return None
