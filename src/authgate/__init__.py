"""authgate: API authentication and authorization."""
