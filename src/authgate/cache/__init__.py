"""Caches of verified credentials."""
