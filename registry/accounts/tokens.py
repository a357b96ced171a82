"""Sign-in: Argon2id password hashes, signed expiring bearer tokens (throttled: see throttle.py).

Tokens are HS256 JWTs (PyJWT, the library behind ``litestar[jwt]``) carrying the account id,
role, scope and the account's ``token_version``; every request re-reads the account, so
disabling it or resetting its password stops its tokens at once. Issue and expiry times come
from the registry's clock (Litestar's ``Token`` checks them against the wall clock, which would
make the clock impossible to inject in tests).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from registry.accounts.schemas import Me, TokenRequest, TokenResponse
from registry.accounts.throttle import throttle
from registry.core import clock, runtime
from registry.core.access import ANONYMOUS, Actor
from registry.core.errors import TooManyRequests, Unauthorized
from registry.core.runtime import LRU
from registry.core.settings import get_settings
from registry.core.text import nfkc
from registry.tables import Account

ALGORITHM = "HS256"
_hasher = PasswordHasher()  # Argon2id, the library's (RFC 9106 low-memory) defaults
# A hash to verify against when the username is unknown, so timing does not reveal it.
_DUMMY_HASH = _hasher.hash("not-a-real-password-Zq9!")


def username_key(username: str) -> str:
    """Case-insensitive identity of a username."""
    return nfkc(username).strip().lower()


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await anyio.to_thread.run_sync(_verify)


def _bad_credentials() -> Unauthorized:
    return Unauthorized("invalid_credentials", "用户名或密码错误", "wrong username or password")


async def issue_token(data: TokenRequest, address: str) -> TokenResponse:
    """Check a username and password and return a signed bearer token."""
    key = username_key(data.username)
    keys = [f"user:{key}", f"addr:{address}"]
    wait = throttle().retry_after(keys)
    if wait:
        raise TooManyRequests(
            "login_throttled",
            f"登录失败次数过多，请 {wait} 秒后再试",
            f"too many failed sign-ins; retry in {wait} s",
            retry_after=wait,
        )
    row = await Account.select().where(Account.username_key == key).first()
    valid = await verify_password(row["password_hash"] if row else _DUMMY_HASH, data.password)
    if not row or not valid:
        throttle().fail(keys)
        raise _bad_credentials()
    if not row["active"]:
        throttle().fail(keys)
        raise Unauthorized("account_disabled", "账号已停用", "the account is disabled")
    throttle().succeed(key)
    settings = get_settings()
    now = clock.now()
    ttl = settings.token_ttl_seconds
    claims = {
        "sub": str(row["id"]),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": uuid.uuid4().hex,
        "role": row["role"],
        "scope": row["scope"],
        "ver": row["token_version"],
    }
    return TokenResponse(
        access_token=jwt.encode(claims, settings.secret_key, algorithm=ALGORITHM),
        token_type="bearer",
        expires_in=ttl,
        role=row["role"],
        scope=row["scope"],
        username=row["username"],
        display_name=row["display_name"],
    )


def _invalid_token(en: str = "invalid or expired token") -> Unauthorized:
    return Unauthorized("invalid_token", "登录凭证无效或已过期，请重新登录", en)


def _decode(encoded: str) -> dict[str, Any]:
    settings = get_settings()
    key = (encoded, settings.secret_key, settings.previous_secret_keys)
    verified = runtime.current().slot("accounts.verified_tokens", lambda: LRU(4096))
    claims = verified.get(key)
    if claims is None:
        claims = _verified(*key)
        verified.put(key, claims)
    return dict(claims)


def _verified(encoded: str, secret: str, previous: tuple[str, ...]) -> tuple[tuple[str, Any], ...]:
    """The claims of a token whose signature one of the keys verifies (remembered per token
    and key set by :func:`_decode`: every request of a session carries the same token, and
    PyJWT's check was a tenth of a POST's CPU). Expiry and revocation are checked on every
    request by the caller."""
    for key in (secret, *previous):
        try:
            # Only HS256 is accepted (no "none", no key confusion); expiry is checked against
            # the registry's clock below.
            claims = jwt.decode(
                encoded,
                key,
                algorithms=[ALGORITHM],
                options={"verify_exp": False, "verify_iat": False, "require": ["exp", "sub"]},
            )
            return tuple(claims.items())
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            break
    raise _invalid_token()


async def actor_from_authorization(header: str | None) -> Actor:
    """The actor behind an ``Authorization`` header (anonymous when there is none)."""
    if not header:
        return ANONYMOUS
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "bearer" or not encoded.strip():
        raise _invalid_token("the Authorization header must be 'Bearer <token>'")
    claims = _decode(encoded.strip())
    try:
        expires = datetime.fromtimestamp(float(claims["exp"]), tz=UTC)
        account_id = int(claims["sub"])
    except (TypeError, ValueError, OverflowError):
        raise _invalid_token() from None
    if expires <= clock.now():
        raise Unauthorized("token_expired", "登录已过期，请重新登录", "the token has expired")
    # Every authenticated request runs this: a raw statement skips Piccolo's query building
    # (a third of the request's CPU under load, profiled).
    rows = await Account.raw(
        "SELECT id, username, role, scope, active, token_version FROM account WHERE id = {}",
        account_id,
    )
    row = rows[0] if rows else None
    if row is None or row["token_version"] != claims.get("ver"):
        raise _invalid_token("the token was revoked")
    if not row["active"]:
        raise Unauthorized("account_disabled", "账号已停用", "the account is disabled")
    return Actor(
        username=row["username"], role=row["role"], scope=row["scope"], account_id=row["id"]
    )


async def whoami(actor: Actor) -> Me:
    """The signed-in actor with their display name (anonymous: empty)."""
    display = ""
    if actor.account_id is not None:
        row = (
            await Account.select(Account.display_name).where(Account.id == actor.account_id).first()
        )
        display = row["display_name"] if row else ""
    return Me(username=actor.username, role=actor.role, scope=actor.scope, display_name=display)
