"""Settings read from the environment, once.

Every field has a documented default; see the README's configuration table.
"""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from registry.core.codes import level_of_code

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_ROOT = "431200000000"
ROOT_LEVELS = ("nation", "province", "city")
DEFAULT_VAR_DIR = PROJECT_ROOT / "var"


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from exc


def _root(raw: str | None) -> str:
    """REGISTRY_ROOT as a 12-digit code of a city, a province or the nation."""
    if not raw:
        return DEFAULT_ROOT
    text = raw.strip()
    if not (text.isascii() and text.isdigit() and len(text) in (6, 12)):
        raise SystemExit(f"REGISTRY_ROOT must be a 6- or 12-digit division code, got {raw!r}")
    code = text.ljust(12, "0")
    if level_of_code(code) not in ROOT_LEVELS:
        raise SystemExit(
            f"REGISTRY_ROOT must be a city, a province or 000000 (the nation), got {raw!r}"
        )
    return code


def _base_url(raw: str | None) -> str:
    """REGISTRY_PUBLIC_BASE_URL as ``http(s)://host[:port][/path]`` without a trailing slash."""
    text = (raw or "").strip().rstrip("/")
    if not text:
        return ""
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SystemExit(
            f"REGISTRY_PUBLIC_BASE_URL must be an http(s) address such as "
            f"https://bmfw.example.gov.cn, got {raw!r}"
        )
    return text


def _font(raw: str | None) -> str:
    """REGISTRY_SIGN_FONT: an existing TrueType file (.ttf or .ttc)."""
    text = (raw or "").strip()
    if text and not (Path(text).is_file() and text.lower().endswith((".ttf", ".ttc"))):
        raise SystemExit(
            f"REGISTRY_SIGN_FONT must be a TrueType font file (.ttf/.ttc), got {raw!r}"
        )
    return text


def private_dir(path: Path) -> None:
    """Make ``path`` a directory only its owner may enter (0700): created so, or tightened if
    it exists with wider rights. ``var/`` holds the SQLite database, its WAL and the secret key;
    a backup folder holds password hashes and the audit trail."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        if stat.S_IMODE(path.stat().st_mode) != 0o700:
            path.chmod(0o700)
    except OSError:  # not ours to change (a shared folder): leave it as the operator set it
        pass


def private_file(path: Path) -> None:
    """Tighten an existing file to 0600 (readable and writable by its owner only)."""
    try:
        if path.exists() and stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(0o600)
    except OSError:  # not ours to change: leave it as the operator set it
        pass


def protect_var_dir(var_dir: Path) -> None:
    """``var/`` 0700 and its secret key 0600 (a deployment made before modes were enforced
    is tightened at the next start)."""
    if var_dir.exists():
        private_dir(var_dir)
        private_file(var_dir / "secret.key")


def _load_or_create_secret(var_dir: Path) -> str:
    """Return the secret from var/secret.key, generating it on first use."""
    path = var_dir / "secret.key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    private_dir(var_dir)
    key = secrets.token_urlsafe(48)
    # Created with mode 0600 so other local users cannot read it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key


@dataclass(frozen=True)
class Settings:
    """Runtime configuration of the registry.

    Attributes:
        database_url: ``sqlite:///path`` (relative to the project) or ``postgresql://…``.
        secret_key: signs tokens and keys the resident-ID hash.
        host: address to bind.
        port: port to bind.
        var_dir: where the SQLite database and the generated secret live.
        token_ttl_seconds: lifetime of an access token.
        max_body_bytes: request body limit for ordinary endpoints.
        max_batch_body_bytes: request body limit for sync and import endpoints.
        boundary_tolerance_m: how far outside its county a site may lie (with a warning).
        login_max_failures: failed sign-ins of one (account, client address) pair before that
            pair waits (1 min, then doubling with every further failure).
        login_window_seconds: the longest wait of a pair, and the sliding window in which an
            address's failures are counted (a pair's are forgotten on success or after a quiet
            day).
        login_address_max_failures: failed sign-ins from one client address, across all
            accounts, within ``login_window_seconds`` before every sign-in from it waits (stops
            password spraying); 0: ten times ``login_max_failures``.
        anonymous_write_rate_per_minute: writes without a token (sign-ins) one client address
            may send per minute (0: no limit); a token bucket refilled at this rate.
        anonymous_write_burst: such writes one address may send at once (the bucket's size).
        migrate_on_startup: apply pending migrations when the app starts.
        sqlite_checkpoint_seconds: SQLite only: the server checkpoints the WAL in the
            background every so many seconds instead of in the committing writer (0: SQLite's
            automatic checkpoints).
        warm_on_startup: count today's coverage figures and series of every campaign in the
            background when the app starts, so the first readers get cached figures.
        previous_secret_keys: retired keys still accepted to verify tokens during a rotation.
        sync_rate_per_minute: case-sync batches an agent account may send per minute (0: no
            limit); a token bucket refilled at this rate.
        sync_burst: batches an agent may send at once after a quiet spell (the bucket's size).
        root_code: the division the deployment serves (12 digits): a city (431200000000
            怀化市, the default), a province (430000000000) or the nation (000000000000).
            Totals, titles and the municipal centre's scope follow it.
        public_base_url: the address residents reach the registry at (``https://…``), which
            the QR codes of sign plates lead to; empty: the address the request came to.
        sign_font: a TrueType CJK face (.ttf/.ttc) embedded in sign PDFs; empty: the first
            Debian face found (``fonts-wqy-microhei`` …), else reportlab's CID font, not
            embedded.
    """

    database_url: str
    secret_key: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8000
    var_dir: Path = DEFAULT_VAR_DIR
    token_ttl_seconds: int = 8 * 3600
    max_body_bytes: int = 1_000_000
    max_batch_body_bytes: int = 20_000_000
    boundary_tolerance_m: float = 200.0
    login_max_failures: int = 5
    login_window_seconds: int = 900
    migrate_on_startup: bool = True
    warm_on_startup: bool = True
    sqlite_checkpoint_seconds: float = 1.0
    previous_secret_keys: tuple[str, ...] = field(default=(), repr=False)
    sync_rate_per_minute: int = 60
    sync_burst: int = 20
    root_code: str = DEFAULT_ROOT
    login_address_max_failures: int = 0
    anonymous_write_rate_per_minute: int = 60
    anonymous_write_burst: int = 100
    public_base_url: str = ""
    sign_font: str = ""

    @property
    def login_address_budget(self) -> int:
        """Failed sign-ins from one address within the window before it waits."""
        return self.login_address_max_failures or 10 * self.login_max_failures


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    """Build settings from an environment mapping (``os.environ`` by default)."""
    env = dict(os.environ if env is None else env)
    var_dir = Path(env.get("REGISTRY_VAR_DIR") or DEFAULT_VAR_DIR)
    url = env.get("REGISTRY_DATABASE_URL") or f"sqlite:///{var_dir / 'registry.sqlite3'}"
    secret = env.get("REGISTRY_SECRET_KEY") or _load_or_create_secret(var_dir)
    return Settings(
        database_url=url,
        secret_key=secret,
        host=env.get("REGISTRY_HOST") or "127.0.0.1",
        port=_int(env, "REGISTRY_PORT", 8000),
        var_dir=var_dir,
        token_ttl_seconds=_int(env, "REGISTRY_TOKEN_TTL_SECONDS", 8 * 3600),
        max_body_bytes=_int(env, "REGISTRY_MAX_BODY_BYTES", 1_000_000),
        max_batch_body_bytes=_int(env, "REGISTRY_MAX_BATCH_BODY_BYTES", 20_000_000),
        login_max_failures=_int(env, "REGISTRY_LOGIN_MAX_FAILURES", 5),
        login_window_seconds=_int(env, "REGISTRY_LOGIN_WINDOW_SECONDS", 900),
        migrate_on_startup=env.get("REGISTRY_MIGRATE_ON_STARTUP", "1") not in ("0", "false"),
        warm_on_startup=env.get("REGISTRY_WARM_ON_STARTUP", "1") not in ("0", "false"),
        sqlite_checkpoint_seconds=float(env.get("REGISTRY_SQLITE_CHECKPOINT_SECONDS") or 1.0),
        previous_secret_keys=tuple(
            k.strip() for k in env.get("REGISTRY_PREVIOUS_SECRET_KEYS", "").split(",") if k.strip()
        ),
        sync_rate_per_minute=_int(env, "REGISTRY_SYNC_RATE_PER_MINUTE", 60),
        sync_burst=_int(env, "REGISTRY_SYNC_BURST", 20),
        root_code=_root(env.get("REGISTRY_ROOT")),
        login_address_max_failures=_int(env, "REGISTRY_LOGIN_ADDRESS_MAX_FAILURES", 0),
        anonymous_write_rate_per_minute=_int(env, "REGISTRY_ANONYMOUS_WRITE_RATE_PER_MINUTE", 60),
        anonymous_write_burst=_int(env, "REGISTRY_ANONYMOUS_WRITE_BURST", 100),
        public_base_url=_base_url(env.get("REGISTRY_PUBLIC_BASE_URL")),
        sign_font=_font(env.get("REGISTRY_SIGN_FONT")),
    )


def get_settings() -> Settings:
    """The settings of the active deployment (its runtime's), else read from the environment."""
    from registry.core.runtime import active

    runtime = active()
    return runtime.settings if runtime is not None else settings_from_env()
