import authgate


def test_exported_members_are_exactly_these() -> None:
    assert set(authgate.__all__) == {
        "ApiKeyAuthenticator",
        "AuthError",
        "AuthMiddleware",
        "Authenticator",
        "BasicAuthenticator",
        "Conflict",
        "CredentialResolver",
        "Forbidden",
        "Identity",
        "InsufficientScope",
        "InvalidCredentials",
        "InvalidRequest",
        "InvalidScope",
        "NotFound",
        "PayloadTooLarge",
        "RateLimited",
        "RequestView",
        "Runtime",
        "RuntimeMiddleware",
        "SchemeChain",
        "Settings",
        "SignatureMismatch",
        "Unauthorized",
        "__version__",
        "get_identity",
        "get_runtime",
    }
    for name in authgate.__all__:
        assert hasattr(authgate, name), name
