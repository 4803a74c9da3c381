"""Server-rendered pages of the authorization server: login, consent, errors, device.

Plain HTML without scripts, every value escaped (:func:`html.escape`). Every page is sent
with the headers of :data:`PAGE_HEADERS`: a CSP without script or framing
(``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` against clickjacking, RFC 9700
§4.16; docs/oauth.md, The pages), ``no-store``, ``nosniff`` and ``no-referrer`` (so codes and
``state`` never leak through ``Referer``), plus HSTS on ``https``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from html import escape

from authgate.scopes import MANAGE_SCOPE

__all__ = [
    "PAGE_HEADERS",
    "consent_page",
    "device_page",
    "error_page",
    "login_page",
    "message_page",
    "page_headers",
]

PAGE_HEADERS: dict[str, str] = {
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "cache-control": "no-store",
    "pragma": "no-cache",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
}
_HSTS = "max-age=31536000; includeSubDomains"
_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}"
    "label{display:block;margin:.6rem 0 .2rem}input[type=text],input[type=password]"
    "{width:100%;padding:.4rem;box-sizing:border-box}button{margin:1rem .5rem 0 0;"
    "padding:.5rem 1rem}.error{color:#a00}ul{padding-left:1.2rem}"
)


def page_headers(*, secure: bool) -> dict[str, str]:
    """The headers of every page (HSTS only over ``https``)."""
    out = dict(PAGE_HEADERS)
    if secure:
        out["strict-transport-security"] = _HSTS
    return out


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type=hidden name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )


def login_page(
    *, action: str, hidden: Mapping[str, str], error: str | None = None, username: str = ""
) -> str:
    """The login form: user name, password, and a code for accounts with TOTP."""
    err = f"<p class=error role=alert>{escape(error)}</p>" if error else ""
    return _page(
        "Sign in",
        f'{err}<form method=post action="{escape(action)}">{_hidden(hidden)}'
        "<label for=username>User name</label>"
        f'<input type=text id=username name=username value="{escape(username)}" '
        "autocomplete=username required>"
        "<label for=password>Password</label>"
        "<input type=password id=password name=password autocomplete=current-password required>"
        "<label for=code>Authentication code (if enabled)</label>"
        "<input type=text id=code name=code inputmode=numeric autocomplete=one-time-code>"
        "<button type=submit>Sign in</button></form>",
    )


def consent_page(
    *,
    action: str,
    client_name: str,
    client_id: str,
    scopes: Iterable[str],
    username: str,
    hidden: Mapping[str, str],
) -> str:
    """The consent form: who asks, for which scopes, allow or deny (with a warning when
    the app asks to manage the user's credentials)."""
    scopes = list(scopes)
    items = "".join(f"<li><code>{escape(s)}</code></li>" for s in scopes) or "<li>(none)</li>"
    warning = (
        f"<p class=warning role=alert><strong>Warning:</strong> with <code>{MANAGE_SCOPE}</code> "
        "this app will be able to manage your credentials: create and revoke your API "
        "keys and OAuth clients, change your password and your second factor. Allow it "
        "only if you trust the app with your account.</p>"
        if MANAGE_SCOPE in scopes
        else ""
    )
    return _page(
        "Authorize access",
        f"<p>Signed in as <strong>{escape(username)}</strong>.</p>"
        f"<p><strong>{escape(client_name)}</strong> (<code>{escape(client_id)}</code>) "
        f"asks for access to your account with these scopes:</p><ul>{items}</ul>{warning}"
        f'<form method=post action="{escape(action)}">{_hidden(hidden)}'
        "<button type=submit name=decision value=allow>Allow</button>"
        "<button type=submit name=decision value=deny>Deny</button></form>",
    )


def device_page(
    *, action: str, hidden: Mapping[str, str], error: str | None = None, code: str = ""
) -> str:
    """The device verification form (RFC 8628 §3.3): enter the code shown on the device
    (``code`` prefills it, from ``verification_uri_complete``)."""
    value = f' value="{escape(code)}"' if code else ""
    err = f"<p class=error role=alert>{escape(error)}</p>" if error else ""
    return _page(
        "Connect a device",
        f'{err}<form method=post action="{escape(action)}">{_hidden(hidden)}'
        "<label for=user_code>Code shown on your device</label>"
        f"<input type=text id=user_code name=user_code{value} autocomplete=off required>"
        "<button type=submit>Continue</button></form>",
    )


def error_page(description: str) -> str:
    """An error that must not be redirected (unknown client or redirect URI)."""
    return _page("Request refused", f"<p class=error>{escape(description)}</p>")


def message_page(title: str, text: str) -> str:
    return _page(title, f"<p>{escape(text)}</p>")
