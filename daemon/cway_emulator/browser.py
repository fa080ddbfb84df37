"""The "HTTP-driven browser step": play the user's browser through the sign-in page.

Tests and demos cannot click, so this GETs the authorization URL, submits the emulator's
sign-in form like a browser would, and returns the final redirect ``Location`` (the client's
callback URL with ``code``/``state`` or ``error``) *without* following it, so the caller decides
whether and when the callback is hit.
"""

from __future__ import annotations

import asyncio
import html
import re
from urllib.parse import urljoin

import httpx

from cway_emulator.jwt_keys import tls_context


class SignInError(RuntimeError):
    """The IdP showed an error page instead of redirecting (message is the page's error)."""


_TXN = re.compile(r"name='txn' value='([^']*)'")
_ACTION = re.compile(r"<form method='post' action='([^']*)'")
_ERROR = re.compile(r"id='error'[^>]*>([^<]*)<")


def _error_text(resp: httpx.Response) -> str:
    match = _ERROR.search(resp.text)
    return html.unescape(match.group(1)) if match else f"HTTP {resp.status_code}"


def _resolve(http: httpx.Client, url: str) -> str:
    """Follow a short sign-in link (the daemon's ``/sign-in/<flow id>``) to the authorize URL it redirects to."""
    if "/oauth2/" in url:
        return url
    resp = http.get(url)
    location = resp.headers.get("location", "") if resp.is_redirect else ""
    if "/oauth2/" not in location:
        raise SignInError(_error_text(resp) if not resp.is_redirect else "the link does not lead to a sign-in")
    return urljoin(url, location)


def resolve_sign_in_link(url: str, timeout: float = 10.0) -> str:
    """The authorize URL behind a short sign-in link (the URL itself when it already is one)."""
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=timeout, verify=tls_context()) as http:
        return _resolve(http, url)


def browser_sign_in(
    authorization_url: str, username: str | None = None, *, approve: bool = True, timeout: float = 10.0
) -> str:
    """Sign in (or decline, ``approve=False``) and return the redirect Location URL.

    ``username`` defaults to the login_hint pre-filled in the form. Raises ``SignInError`` when
    the IdP answers with an error page (untrusted redirect URI, unknown client, unknown user).
    """
    with httpx.Client(follow_redirects=False, trust_env=False, timeout=timeout, verify=tls_context()) as http:
        authorization_url = _resolve(http, authorization_url)
        resp = http.get(authorization_url)
        if resp.is_redirect:
            return resp.headers["location"]
        if resp.status_code != 200:
            raise SignInError(_error_text(resp))
        txn, action = _TXN.search(resp.text), _ACTION.search(resp.text)
        if txn is None or action is None:
            raise SignInError("the sign-in page has no form")
        prefilled = re.search(r"name='username'[^>]*value='([^']*)'", resp.text)
        user = username or (html.unescape(prefilled.group(1)) if prefilled else "")
        data = {"txn": html.unescape(txn.group(1)), "username": user, "action": "approve" if approve else "deny"}
        resp = http.post(urljoin(authorization_url, html.unescape(action.group(1))), data=data)
        if resp.is_redirect:
            return resp.headers["location"]
        raise SignInError(_error_text(resp))


async def browser_sign_in_async(
    authorization_url: str, username: str | None = None, *, approve: bool = True, http_timeout: float = 10.0
) -> str:
    """``browser_sign_in`` for async callers (runs in a worker thread)."""
    return await asyncio.to_thread(browser_sign_in, authorization_url, username, approve=approve, timeout=http_timeout)
