"""Who may call the service: loopback-only without a token, a bearer token everywhere else."""

from __future__ import annotations

import hmac
import ipaddress
import socket

from service.settings import TOKEN_ENV


class InsecureBindError(RuntimeError):
    """The service was asked to listen beyond loopback without an API token."""


def is_loopback(host: str) -> bool:
    """True when every address `host` names is a loopback address (127/8, ::1, localhost)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen on a non-loopback address unless requests will need a token."""
    if not token and not is_loopback(host):
        raise InsecureBindError(
            f"refusing to listen on {host} without an API token: set {TOKEN_ENV} "
            "(clients then send 'Authorization: Bearer <token>') or bind 127.0.0.1"
        )


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Constant-time comparison of an `Authorization: Bearer <token>` header with the token."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        # Still compare, so a missing scheme costs the same time as a wrong token.
        presented = ""
    return hmac.compare_digest(presented.strip().encode(), token.encode())
