"""Principals and their credentials: users, API keys, key pairs."""
