"""The frozen name → entry registry behind the scheme factories and the grant handlers."""

from __future__ import annotations

import pytest

from authgate.registry import Registry


def test_entries_keep_their_registration_order() -> None:
    registry = Registry("thing", [("b", 2), ("a", 1)])
    registry.register("c", 3)
    assert registry.names() == ("b", "a", "c") == tuple(registry)
    assert registry["a"] == 1 and registry.get("z") is None
    assert "c" in registry and "z" not in registry and len(registry) == 3


def test_a_name_is_registered_once() -> None:
    registry = Registry("thing", [("a", 1)])
    with pytest.raises(ValueError, match="thing 'a' is already registered"):
        registry.register("a", 2)
    assert registry["a"] == 1  # the first one stays


def test_a_frozen_registry_refuses_registration() -> None:
    registry = Registry("thing", [("a", 1)]).freeze()
    assert registry.frozen
    with pytest.raises(RuntimeError, match="frozen"):
        registry.register("b", 2)
    assert registry.names() == ("a",)


def test_an_unknown_name_says_what_is_known() -> None:
    registry = Registry("thing", [("a", 1), ("b", 2)])
    with pytest.raises(LookupError, match="unknown thing 'x': use one of a, b"):
        registry["x"]
