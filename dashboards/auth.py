"""Who may open the dashboards: a shared token or basic-auth users, checked on every request.

On loopback (127.0.0.1, ::1, localhost) the dashboards serve without credentials unless some are
set; on any other address `denial-risk dashboard` refuses to start without them. Credentials:
`DENIAL_RISK_DASHBOARD_TOKEN` (sent as `Authorization: Bearer <token>`, or as the password of
basic auth with any user name, so a browser's login prompt works) and/or
`DENIAL_RISK_DASHBOARD_USERS_FILE`, lines of `user:<werkzeug password hash>`. Every route,
the Dash callback route `/_dash-update-component` and the static bundles included, goes through
one Flask `before_request` hook. Basic auth sends the password in clear: put the dashboards
behind a TLS proxy off loopback (README "Dashboards").
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

import flask
from werkzeug.security import check_password_hash

TOKEN_ENV = "DENIAL_RISK_DASHBOARD_TOKEN"
USERS_FILE_ENV = "DENIAL_RISK_DASHBOARD_USERS_FILE"
REALM = "denial-risk dashboards"
# A token shorter than this is guessable; refused rather than silently accepted.
MIN_TOKEN_LENGTH = 16


class CredentialsError(ValueError):
    """The dashboards cannot start safely with the credentials given (or missing)."""


@dataclass(frozen=True)
class Credentials:
    """A shared token and/or named users with password hashes."""

    token: str | None = None
    users: dict[str, str] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return bool(self.token or self.users)

    def allows(self, authorization: str | None) -> bool:
        """Whether an Authorization header carries valid credentials."""
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer" and self.token:
            return hmac.compare_digest(value.strip().encode(), self.token.encode())
        if scheme != "basic":
            return False
        try:
            user, _, password = base64.b64decode(value.strip()).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        if self.token and hmac.compare_digest(password.encode(), self.token.encode()):
            return True
        stored = self.users.get(user)
        return bool(stored) and check_password_hash(stored, password)


def read_users_file(path: Path) -> dict[str, str]:
    """`user:hash` lines (blank lines and `#` comments skipped)."""
    users = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or not hashed:
            raise CredentialsError(f"{path} line {number}: expected user:<password hash>")
        users[user] = hashed
    return users


def credentials_from_env() -> Credentials:
    """Credentials from `DENIAL_RISK_DASHBOARD_TOKEN` and `DENIAL_RISK_DASHBOARD_USERS_FILE`."""
    token = os.environ.get(TOKEN_ENV, "").strip() or None
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise CredentialsError(f"{TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} characters")
    users_file = os.environ.get(USERS_FILE_ENV, "").strip()
    users = read_users_file(Path(users_file)) if users_file else {}
    return Credentials(token, users)


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_credentials(host: str, credentials: Credentials) -> None:
    """Refuse to serve beyond loopback without credentials."""
    if not is_loopback(host) and not credentials.configured:
        raise CredentialsError(
            f"refusing to serve the dashboards on {host} without credentials: set {TOKEN_ENV} "
            f"or {USERS_FILE_ENV} (and put a TLS proxy in front), or bind 127.0.0.1"
        )


def protect(server: flask.Flask, credentials: Credentials) -> None:
    """Every request of the Flask server must carry the credentials (no-op when none are set)."""
    if not credentials.configured:
        return

    @server.before_request
    def _authenticate() -> flask.Response | None:
        if credentials.allows(flask.request.headers.get("Authorization")):
            return None
        return flask.Response(
            "Authentication required.\n",
            status=401,
            headers={"WWW-Authenticate": f'Basic realm="{REALM}", charset="UTF-8"'},
            mimetype="text/plain",
        )
