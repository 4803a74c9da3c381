"""Expiring key-value state: in-process TTL caches; short-lived shared state, memory or Redis."""
