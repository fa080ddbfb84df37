"""The five sign-in tools: ``login``, ``complete_login``, ``logout``, ``whoami``, ``list_authenticated_users``.

They are thin: the daemon owns the sign-in, the tokens and the account list; these tools only
ask it, and word its answers for a person reading them through the model. Each returns both a
readable text (what the model relays) and structured content (what a client can act on).

In ``AUTH_METHOD=static`` there is nothing to sign in to, so each answers with an error saying
what to set instead, rather than disappearing from the tool list and leaving the model guessing.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import Field

from cway_contract import (
    SYSTEM_CLOCK,
    AccountInfo,
    Clock,
    DaemonError,
    SignInCompleteRequest,
    can_open_browser,
    format_left,
)
from cway_mcp_shim.daemon_access import SIGN_IN_CODES, DaemonAccess
from cway_tools import LOGIN_INFO, CwayHttpGateway, Out, tool_result

AUTH_TOOL_NAMES = ("login", "complete_login", "logout", "whoami", "list_authenticated_users")

USERNAME_HELP = "Cway username (e-mail). Omit to use CWAY_USERNAME, or the only signed-in account."


class LoginResult(Out):
    sign_in_url: str
    flow_id: str
    username: str | None = Field(None, description="The account asked for, if any (sent to the IdP as a hint).")
    expires_at: datetime | None = None
    browser_opened: bool
    next_step: str


class CompleteLoginResult(Out):
    username: str | None = None
    state: str
    identity_mismatch: bool
    message: str


class LogoutResult(Out):
    username: str
    removed: bool
    revoked: bool | None = None
    message: str


class AccountSummary(Out):
    username: str
    state: str
    display_name: str | None = None
    email: str | None = None
    organisation_name: str | None = None
    access_expires_at: datetime | None = None
    access_seconds_remaining: int | None = None
    refresh_expires_at: datetime | None = None
    refresh_seconds_remaining: int | None = None
    #: With a silent re-exchange: until when the session renews without a browser (Entra's limit if unused).
    renewable_until: datetime | None = None
    last_error: str | None = None


class WhoAmIResult(AccountSummary):
    name: str | None = None
    organisation_id: str | None = None


class AuthenticatedUsers(Out):
    count: int
    accounts: list[AccountSummary]


def seconds_until(when: datetime | None, clock: Clock = SYSTEM_CLOCK) -> int | None:
    return None if when is None else int((when - clock.now()).total_seconds())


def summarize(info: AccountInfo, clock: Clock = SYSTEM_CLOCK) -> AccountSummary:
    return AccountSummary(
        username=info.username,
        state=info.state,
        display_name=info.display_name,
        email=info.email,
        organisation_name=info.organisation_name,
        access_expires_at=info.access_expires_at,
        access_seconds_remaining=seconds_until(info.access_expires_at, clock),
        refresh_expires_at=info.refresh_expires_at,
        refresh_seconds_remaining=seconds_until(info.refresh_expires_at, clock),
        renewable_until=info.renewable_until if info.silent_reexchange else None,
        last_error=info.last_error,
    )


def summary_line(s: AccountSummary) -> str:
    if s.state == "needs_sign_in":
        return f"{s.username}: needs to sign in again" + (f" ({s.last_error})" if s.last_error else "")
    org = f" ({s.organisation_name})" if s.organisation_name else ""
    if s.renewable_until is not None:
        sign_in = f"renewable without a browser until {_when(s.renewable_until)}"
    elif s.refresh_expires_at is not None:
        sign_in = f"sign-in valid for {format_left(s.refresh_seconds_remaining)}"
    else:
        sign_in = "sign-in renewed while Cway accepts it"
    return f"{s.username}{org}: {s.state}; access token valid for {format_left(s.access_seconds_remaining)}, {sign_in}"


def open_browser(url: str) -> bool:
    """Open ``url`` from a detached child, never from this process.

    ``webbrowser`` may run ``xdg-open`` or a console browser that inherits stdout, which is the
    MCP channel here; a child with stdout on /dev/null cannot corrupt it, and cannot block us.
    """
    try:
        subprocess.Popen(  # noqa: S603 - fixed argv, the URL is one argument
            [sys.executable, "-c", "import sys, webbrowser; webbrowser.open(sys.argv[1])", url],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return False
    return True


class AuthTools:
    """The tool bodies, with their dependencies; registered on the server by :func:`register_auth_tools`."""

    def __init__(self, daemon: DaemonAccess | None, gateway: CwayHttpGateway, *, clock: Clock = SYSTEM_CLOCK) -> None:
        self._daemon = daemon
        self._gateway = gateway
        self._settings = gateway.settings
        self._clock = clock

    def _require_daemon(self, tool: str) -> DaemonAccess:
        if self._daemon is None or self._settings.auth_method == "static":
            raise ToolError(
                f"{tool} is not available: this server runs with AUTH_METHOD=static and sends CWAY_API_TOKEN with "
                "every request. For per-user sign-in set AUTH_METHOD=oauth2 (and remove CWAY_API_TOKEN) in this "
                "MCP server's environment, then restart it; sign-ins are handled by `cway-auth daemon`."
            )
        return self._daemon

    async def login(self, username: str | None) -> CallToolResult:
        daemon = self._require_daemon("login")
        username = username or self._settings.cway_username
        status = await daemon.start_sign_in(username)
        if not status.authorization_url:
            raise ToolError(
                f"The cway-auth daemon started a sign-in but gave no URL ({status.message or status.state})."
            )
        # The client gets the short local link (no e-mail address in it: MCP forbids personal data in URLs);
        # the browser opened here may take the full authorize URL, it never leaves this machine.
        url = status.sign_in_url or status.authorization_url
        opened = self._settings.open_browser and can_open_browser() and open_browser(status.authorization_url)
        next_step = (
            "Sign in in the browser, then retry the request (or call whoami to check). If the browser cannot reach "
            f"this machine's localhost, run `cway-auth login --no-browser` in a terminal here for the full address, "
            f"then copy the address the browser lands on (it starts with {self._settings.redirect.uri}) "
            "and call complete_login with redirect_url set to it."
        )
        who = f" as {username}" if username else ""
        lines = [f"Open this URL in a browser and sign in to Cway{who}:", url]
        if opened:
            lines.append("(It was opened in your browser.)")
        text = "\n".join([*lines, next_step])
        model = LoginResult(
            sign_in_url=url,
            flow_id=status.flow_id,
            username=username,
            expires_at=status.expires_at,
            browser_opened=opened,
            next_step=next_step,
        )
        return tool_result(model, text)

    async def complete_login(
        self, redirect_url: str | None, authorization_code: str | None, state: str | None
    ) -> CallToolResult:
        daemon = self._require_daemon("complete_login")
        if not redirect_url and not (authorization_code and state):
            raise ToolError(
                "Pass redirect_url (the full address the browser landed on after signing in), "
                "or both authorization_code and state."
            )
        request = SignInCompleteRequest(
            redirect_url=redirect_url or None,
            code=None if redirect_url else authorization_code,
            state=None if redirect_url else state,
        )
        status = await daemon.complete_sign_in(request)
        if status.state in ("failed", "expired"):
            raise ToolError(
                f"Sign-in {status.state}: {(status.message or 'no reason given').rstrip('.')}. "
                "Call login for a new sign-in URL."
            )
        if status.state == "pending":
            message = "The sign-in is still pending; finish it in the browser, then call whoami."
        else:
            message = f"Signed in to Cway as {status.username}."
            if status.identity_mismatch:
                message += (
                    f" Note: the sign-in asked for {status.requested_username}, but Cway confirmed {status.username}."
                )
        model = CompleteLoginResult(
            username=status.username, state=status.state, identity_mismatch=status.identity_mismatch, message=message
        )
        return tool_result(model, message)

    async def logout(self, username: str | None) -> CallToolResult:
        daemon = self._require_daemon("logout")
        username = username or self._settings.cway_username or await self._only_account(daemon)
        try:
            answer = await daemon.logout(username)
        except DaemonError as err:
            if err.code in SIGN_IN_CODES or err.status == 404:
                raise ToolError(f"{username} is not signed in on this machine; nothing to log out.") from None
            await daemon.raise_for(err, username)
        if not answer.removed:
            raise ToolError(f"{username} is not signed in on this machine; nothing to log out.")
        model = LogoutResult(
            username=answer.username, removed=answer.removed, revoked=answer.revoked, message=answer.message
        )
        return tool_result(model, answer.message)

    async def _only_account(self, daemon: DaemonAccess) -> str:
        names = [a.username for a in await daemon.accounts()]
        if len(names) == 1:
            return names[0]
        if not names:
            raise ToolError("No Cway account is signed in on this machine; nothing to log out.")
        raise ToolError(f"Several Cway accounts are signed in ({', '.join(names)}): pass username to say which.")

    async def whoami(self, username: str | None) -> CallToolResult:
        daemon = self._require_daemon("whoami")
        data, account = await self._gateway.execute_as(LOGIN_INFO.text, None, LOGIN_INFO.name, username=username)
        login_info: dict[str, Any] = data.get("loginInfo") or {}
        user: dict[str, Any] = login_info.get("user") or {}
        org: dict[str, Any] = login_info.get("currentOrganisation") or {}
        account = account or user.get("username")
        if not account:
            raise ToolError("Cway did not say who this is (loginInfo.user is empty).")
        summary = summarize(await daemon.account(account), self._clock)
        model = WhoAmIResult(
            **summary.model_dump(exclude={"organisation_name", "email"}),
            name=user.get("name"),
            email=user.get("email") or summary.email,
            organisation_id=org.get("id"),
            organisation_name=org.get("name") or summary.organisation_name,
        )
        who = f"{model.name} <{model.email}>" if model.name and model.email else (model.name or model.email or "")
        text = "\n".join(
            [
                f"Signed in to Cway as {account}" + (f" ({who})" if who else ""),
                f"Organisation: {model.organisation_name or 'unknown'}"
                + (f" [{model.organisation_id}]" if model.organisation_id else ""),
                f"Access token: expires {_when(model.access_expires_at)} ({format_left(model.access_seconds_remaining)} left)",
                _sign_in_line(model),
            ]
        )
        return tool_result(model, text)

    async def list_authenticated_users(self) -> CallToolResult:
        daemon = self._require_daemon("list_authenticated_users")
        summaries = [summarize(info, self._clock) for info in await daemon.accounts()]
        model = AuthenticatedUsers(count=len(summaries), accounts=summaries)
        if not summaries:
            return tool_result(model, "No Cway account is signed in on this machine. Call login to sign in.")
        lines = [f"{len(summaries)} Cway account(s) signed in on this machine:"]
        lines += [f"- {summary_line(s)}" for s in summaries]
        return tool_result(model, "\n".join(lines))


def _sign_in_line(model: AccountSummary) -> str:
    if model.renewable_until is not None:
        return (
            f"Sign-in: renewed without a browser until {_when(model.renewable_until)} at the latest "
            "(Entra's limit if unused; your organisation's policy may ask sooner)"
        )
    if model.refresh_expires_at is not None:
        return f"Sign-in: valid until {_when(model.refresh_expires_at)} ({format_left(model.refresh_seconds_remaining)} left)"
    return "Sign-in: renewed silently for as long as Cway accepts it (Cway does not say until when)"


def _when(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "unknown"


def register_auth_tools(server: MCPServer, tools: AuthTools) -> None:
    """Register the five tools with fixed names, annotations and output schemas."""

    @server.tool(
        name="login",
        title="Sign in to Cway",
        description="Start a Cway sign-in (single sign-on) and return the URL to open. Use when a tool says "
        "sign-in is needed, or to add another account.",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
    )
    async def login(
        username: Annotated[str | None, Field(description=USERNAME_HELP)] = None,
    ) -> Annotated[CallToolResult, LoginResult]:
        return await tools.login(username)

    @server.tool(
        name="complete_login",
        title="Finish a Cway sign-in by hand",
        description="For machines whose browser cannot reach localhost: pass the full address the browser "
        "landed on after signing in (redirect_url), or its authorization_code and state.",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
        ),
    )
    async def complete_login(
        redirect_url: Annotated[
            str | None, Field(description="The address the browser landed on after sign-in.")
        ] = None,
        authorization_code: Annotated[str | None, Field(description="The 'code' parameter of that address.")] = None,
        state: Annotated[str | None, Field(description="The 'state' parameter of that address.")] = None,
    ) -> Annotated[CallToolResult, CompleteLoginResult]:
        return await tools.complete_login(redirect_url, authorization_code, state)

    @server.tool(
        name="logout",
        title="Sign out of Cway",
        description="Sign an account out: its tokens are deleted on this machine (and revoked where possible).",
        annotations=ToolAnnotations(
            read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
        ),
    )
    async def logout(
        username: Annotated[str | None, Field(description=USERNAME_HELP)] = None,
    ) -> Annotated[CallToolResult, LogoutResult]:
        return await tools.logout(username)

    @server.tool(
        name="whoami",
        title="Who am I in Cway",
        description="The signed-in Cway identity and organisation, and how long the sign-in remains valid.",
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def whoami(
        username: Annotated[str | None, Field(description=USERNAME_HELP)] = None,
    ) -> Annotated[CallToolResult, WhoAmIResult]:
        return await tools.whoami(username)

    @server.tool(
        name="list_authenticated_users",
        title="List signed-in Cway accounts",
        description="Every Cway account signed in on this machine, with its state and time remaining.",
        annotations=ToolAnnotations(
            read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
        ),
    )
    async def list_authenticated_users() -> Annotated[CallToolResult, AuthenticatedUsers]:
        return await tools.list_authenticated_users()
