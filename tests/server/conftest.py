"""Fixtures of the server tests: the OAuth world (see tests/_oauth_support.py)."""

from tests._oauth_support import oauth

__all__ = ["oauth"]
