"""Sign-in: Argon2id password hashes, signed expiring bearer tokens (throttled: see throttle.py).

Tokens are HS256 JWTs (PyJWT, the library behind ``litestar[jwt]``) carrying the account id,
username, role, scope and the account's ``token_version``, issued by and for this deployment:
``iss`` and ``aud`` are its installation id (a random id in the database, the ``installation``
table), so a token of another database is refused even when both share a secret key — it used
to be taken for whichever account had the same numeric id there. Every request re-reads the
account: disabling it or resetting its password (``token_version``), or a change of its
username, role or scope, stops its tokens at once. Issue and expiry times come from the
registry's clock (Litestar's ``Token`` checks them against the wall clock, which would make the
clock impossible to inject in tests).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio.to_thread
import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from registry.accounts.schemas import Me, TokenRequest, TokenResponse
from registry.accounts.throttle import minutes, throttle
from registry.audit import service as audit
from registry.core import clock, runtime
from registry.core.access import ANONYMOUS, Actor
from registry.core.errors import Unauthorized
from registry.core.runtime import LRU
from registry.core.settings import get_settings
from registry.core.text import nfkc
from registry.db.engines import read_small
from registry.db.transactions import write_transaction
from registry.tables import Account, Installation

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


async def installation_id() -> str:
    """This deployment's id (the issuer and audience of its tokens), read once per runtime and
    database; made here if the database has none yet (its migration makes it)."""
    held = runtime.current().slot("accounts.installation", dict)
    found = held.get("id")
    if found is None:
        row = await Installation.select(Installation.installation_id).first()
        if row is None:
            async with write_transaction():
                if not await Installation.exists().where(Installation.id == 1):
                    await Installation.insert(
                        Installation(id=1, installation_id=secrets.token_hex(16))
                    )
            row = await Installation.select(Installation.installation_id).first()
        found = held["id"] = row["installation_id"]
    return found


async def _notify_holder(row: dict[str, Any], address: str, failures: int, wait: int) -> None:
    """Tell the account holder (and the centre) in the audit trail that sign-ins to the
    account failed from an address, which now waits."""
    async with write_transaction():
        await audit.record(
            ANONYMOUS,
            "sign_in_failed",
            "account",
            row["id"],
            [{"field": "failed_attempts", "before": None, "after": failures}],
            county_code=row["scope"] if row["role"] == "county_planner" else None,
            note=(
                f"来自地址 {address} 的登录连续失败 {failures} 次，该地址 {minutes(wait)} "
                f"分钟内不能再登录此账号 / sign-in attempts failed from address {address} "
                f"({failures} in a row); sign-ins to this account from there wait "
                f"{minutes(wait)} min"
            ),
        )


async def issue_token(data: TokenRequest, address: str) -> TokenResponse:
    """Check a username and password and return a signed bearer token.

    Throttled per (username, address) pair with growing waits and per address across
    usernames (see throttle.py); never for an account as a whole."""
    key = username_key(data.username)
    with throttle().attempt(key, address):
        row = await Account.select().where(Account.username_key == key).first()
        password_hash = row["password_hash"] if row else _DUMMY_HASH
        valid = await verify_password(password_hash, data.password)
        if not row or not valid or not row["active"]:
            failures, wait = throttle().fail(key, address)
            if row is not None and wait:
                await _notify_holder(row, address, failures, wait)
            if row is not None and valid:
                raise Unauthorized("account_disabled", "账号已停用", "the account is disabled")
            raise _bad_credentials()
        throttle().succeed(key, address)
    settings = get_settings()
    now = clock.now()
    ttl = settings.token_ttl_seconds
    deployment = await installation_id()
    claims = {
        "iss": deployment,
        "aud": deployment,
        "sub": str(row["id"]),
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl)).timestamp()),
        "jti": uuid.uuid4().hex,
        "usr": row["username"],
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


async def _decode(encoded: str) -> dict[str, Any]:
    settings = get_settings()
    key = (encoded, settings.secret_key, settings.previous_secret_keys, await installation_id())
    verified = runtime.current().slot("accounts.verified_tokens", lambda: LRU(4096))
    claims = verified.get(key)
    if claims is None:
        claims = _verified(*key)
        verified.put(key, claims)
    return dict(claims)


def _verified(
    encoded: str, secret: str, previous: tuple[str, ...], deployment: str
) -> tuple[tuple[str, Any], ...]:
    """The claims of a token whose signature one of the keys verifies and which this deployment
    issued for itself (remembered per token, key set and deployment by :func:`_decode`: every
    request of a session carries the same token, and PyJWT's check was a tenth of a POST's
    CPU). Expiry and revocation are checked on every request by the caller."""
    for key in (secret, *previous):
        try:
            # Only HS256 is accepted (no "none", no key confusion); issuer and audience must be
            # this installation; expiry is checked against the registry's clock below.
            claims = jwt.decode(
                encoded,
                key,
                algorithms=[ALGORITHM],
                audience=deployment,
                issuer=deployment,
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "require": ["exp", "sub", "iss", "aud"],
                },
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
    claims = await _decode(encoded.strip())
    try:
        expires = datetime.fromtimestamp(float(claims["exp"]), tz=UTC)
        account_id = int(claims["sub"])
    except (TypeError, ValueError, OverflowError):
        raise _invalid_token() from None
    if expires <= clock.now():
        raise Unauthorized("token_expired", "登录已过期，请重新登录", "the token has expired")
    # Every authenticated request runs this: a raw statement skips Piccolo's query building
    # (a third of the request's CPU under load, profiled), and on SQLite it is read at once,
    # without a thread hop.
    rows = await read_small(
        Account,
        "SELECT id, username, role, scope, active, token_version FROM account WHERE id = {}",
        account_id,
    )
    row = rows[0] if rows else None
    if row is None or row["token_version"] != claims.get("ver"):
        raise _invalid_token("the token was revoked")
    # The token speaks for the account as it was: a renamed account, or one whose role or
    # scope changed, needs a new sign-in (and the id alone never names an account).
    if (row["username"], row["role"], row["scope"]) != (
        claims.get("usr"),
        claims.get("role"),
        claims.get("scope"),
    ):
        raise _invalid_token("the account's name, role or scope changed since the token was issued")
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
