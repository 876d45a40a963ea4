"""Settings read once from the environment; nothing else reads os.environ."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INSTANCE_PATH = PROJECT_ROOT / "instance"


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable Shanhai."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    environment: str = "development"
    public_base_url: str = "http://127.0.0.1:8000"
    currency: str = "CNY"
    timezone: str = "Asia/Shanghai"
    token_lifetime_hours: int = 24 * 7
    max_content_length: int = 4 * 1024 * 1024
    max_logo_bytes: int = 2 * 1024 * 1024
    load_demo: bool = True
    testing: bool = False
    redis_url: str | None = None
    token_rate_limit: str = "10 per minute"
    write_rate_limit: str = "120 per minute"
    read_rate_limit: str = "1200 per minute"
    scan_rate_limit: str = "300 per minute"
    # Without Redis, rate-limit counts live in this SQLite file, shared by the server's workers
    # (from_env puts it in the instance folder); "" keeps them per process (tests).
    rate_limit_file: str = ""
    trusted_proxies: int = 0
    log_format: str = "json"
    reservation_minutes: int = 15
    # How long a write waits for SQLite's write lock before a 503; keep it below gunicorn's
    # worker timeout (30 s) so that the worker answers instead of being killed.
    sqlite_busy_timeout_seconds: float = 15.0
    # What one unverified (guest) buyer may hold at once; signed-in buyers are not bounded.
    guest_max_packs_per_order: int = 30
    guest_max_packs_per_sku: int = 10
    guest_max_open_orders_per_email: int = 3
    guest_max_open_orders_per_address: int = 10
    stripe_secret_key: str | None = None
    stripe_webhook_secrets: tuple[str, ...] = ()
    stripe_api_base: str | None = None
    # "k2:base64secret,k1:base64secret", newest first: the first signs, all of them verify.
    code_signing_keys: str = ""
    scan_count_threshold: int = 20
    scan_place_threshold: int = 3
    scan_place_window_hours: int = 24
    # A lot's story is built once a language per this many seconds (a recall shows this late).
    scan_story_cache_seconds: float = 15.0
    # 0 writes each scan in its request; more queues scans and writes them together this late.
    scan_write_behind_seconds: float = 0.5
    # Where each process journals the scans it answers before they are written behind (a
    # folder per database inside it; from_env puts it in the instance folder); empty keeps
    # queued scans in memory only.
    scan_journal_dir: str = ""
    map_tile_url: str = ""
    # The JSON scan answered in front of Flask (marketplace/traceability/fast_path.py); 0 turns it off.
    scan_fast_path: bool = True
    # A label sheet is drawn while its request waits (about 15-25 ms a label): larger batches
    # are printed in parts of at most this many labels (?first=&count=), or from codes.csv.
    label_sheet_max_labels: int = 105
    # /metrics answers only a request bearing this token; unset, it is not served at all.
    metrics_token: str = ""
    # Every date or time the API reads (harvests, deliveries, prices, certificates, advances,
    # windows, filters) lies between this day and this many years after today.
    business_dates_from: date = date(1990, 1, 1)
    business_dates_years_ahead: int = 10
    extra: dict = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def signing_keys(self) -> tuple[tuple[str, bytes], ...]:
        """(key id, secret) pairs, newest first; development derives one from SECRET_KEY."""
        if self.code_signing_keys:
            return parse_signing_keys(self.code_signing_keys)
        derived = hmac.new(self.secret_key.encode(), b"shanhai code signing", hashlib.sha256)
        return (("d1", derived.digest()),)

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: os._Environ | dict | None = None) -> Settings:
        env = os.environ if environ is None else environ
        environment = env.get("SHANHAI_ENV", cls.environment)
        instance_path = Path(env.get("SHANHAI_INSTANCE_PATH", DEFAULT_INSTANCE_PATH))
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'shanhai.sqlite3'}"
        secret_key = env.get("SECRET_KEY")
        if not secret_key:
            if environment == "production":
                raise ConfigurationError("SECRET_KEY must be set when SHANHAI_ENV=production")
            secret_key = _development_secret(instance_path)
        timezone = env.get("SHANHAI_TIMEZONE", cls.timezone)
        try:
            ZoneInfo(timezone)
        except Exception as error:
            raise ConfigurationError(f"SHANHAI_TIMEZONE={timezone!r} is not a known time zone") from error
        signing_keys = env.get("CODE_SIGNING_KEYS", "")
        if signing_keys:
            parse_signing_keys(signing_keys)
        elif environment == "production":
            raise ConfigurationError("CODE_SIGNING_KEYS must be set when SHANHAI_ENV=production")
        map_tile_url = env.get("MAP_TILE_URL", cls.map_tile_url)
        if map_tile_url and not (
            map_tile_url.startswith(("http://", "https://"))
            and all(part in map_tile_url for part in ("{z}", "{x}", "{y}"))
        ):
            raise ConfigurationError(
                "MAP_TILE_URL must be an http(s) URL template with {z}, {x} "
                "and {y}, such as https://tiles.example.cn/{z}/{x}/{y}.png"
            )
        return cls(
            database_url=_normalise_database_url(database_url),
            secret_key=secret_key,
            environment=environment,
            # Without one, codes point at where `make run` serves them (its PORT, 8000 by default).
            public_base_url=env.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{env.get('PORT', '8000')}").rstrip(
                "/"
            ),
            currency=env.get("SHANHAI_CURRENCY", cls.currency).upper(),
            timezone=timezone,
            token_lifetime_hours=int(env.get("TOKEN_LIFETIME_HOURS", cls.token_lifetime_hours)),
            load_demo=_flag(env, "SHANHAI_LOAD_DEMO", cls.load_demo),
            redis_url=env.get("REDIS_URL") or None,
            token_rate_limit=env.get("RATE_LIMIT_TOKEN", cls.token_rate_limit),
            write_rate_limit=env.get("RATE_LIMIT_WRITES", cls.write_rate_limit),
            read_rate_limit=env.get("RATE_LIMIT_READS", cls.read_rate_limit),
            scan_rate_limit=env.get("RATE_LIMIT_SCANS", cls.scan_rate_limit),
            rate_limit_file=env.get("RATE_LIMIT_FILE", str(instance_path / "rate-limits.sqlite3")),
            trusted_proxies=int(env.get("TRUSTED_PROXIES", cls.trusted_proxies)),
            log_format=env.get("LOG_FORMAT", cls.log_format),
            reservation_minutes=int(env.get("RESERVATION_MINUTES", cls.reservation_minutes)),
            sqlite_busy_timeout_seconds=float(
                env.get("SQLITE_BUSY_TIMEOUT_SECONDS", cls.sqlite_busy_timeout_seconds)
            ),
            guest_max_packs_per_order=int(
                env.get("GUEST_MAX_PACKS_PER_ORDER", cls.guest_max_packs_per_order)
            ),
            guest_max_packs_per_sku=int(env.get("GUEST_MAX_PACKS_PER_SKU", cls.guest_max_packs_per_sku)),
            guest_max_open_orders_per_email=int(
                env.get("GUEST_MAX_OPEN_ORDERS_PER_EMAIL", cls.guest_max_open_orders_per_email)
            ),
            guest_max_open_orders_per_address=int(
                env.get("GUEST_MAX_OPEN_ORDERS_PER_ADDRESS", cls.guest_max_open_orders_per_address)
            ),
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_webhook_secrets=tuple(
                secret.strip()
                for secret in env.get("STRIPE_WEBHOOK_SECRETS", "").split(",")
                if secret.strip()
            ),
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
            code_signing_keys=signing_keys,
            scan_count_threshold=int(env.get("SCAN_COUNT_THRESHOLD", cls.scan_count_threshold)),
            scan_place_threshold=int(env.get("SCAN_PLACE_THRESHOLD", cls.scan_place_threshold)),
            scan_place_window_hours=int(env.get("SCAN_PLACE_WINDOW_HOURS", cls.scan_place_window_hours)),
            scan_story_cache_seconds=float(env.get("SCAN_STORY_CACHE_SECONDS", cls.scan_story_cache_seconds)),
            scan_write_behind_seconds=float(
                env.get("SCAN_WRITE_BEHIND_SECONDS", cls.scan_write_behind_seconds)
            ),
            scan_journal_dir=env.get("SCAN_JOURNAL_DIR", str(instance_path / "scan-journal")),
            map_tile_url=map_tile_url,
            scan_fast_path=_flag(env, "SCAN_FAST_PATH", cls.scan_fast_path),
            label_sheet_max_labels=int(env.get("LABEL_SHEET_MAX_LABELS", cls.label_sheet_max_labels)),
            metrics_token=env.get("METRICS_TOKEN", cls.metrics_token),
            business_dates_from=_iso_date(env, "BUSINESS_DATES_FROM", cls.business_dates_from),
            business_dates_years_ahead=int(
                env.get("BUSINESS_DATES_YEARS_AHEAD", cls.business_dates_years_ahead)
            ),
        )


def parse_signing_keys(value: str) -> tuple[tuple[str, bytes], ...]:
    """Parse "kid:base64secret,…"; key ids are short because every printed code carries one."""
    keys: list[tuple[str, bytes]] = []
    for entry in value.split(","):
        kid, separator, encoded = entry.strip().partition(":")
        if not separator or not re.fullmatch(r"[A-Za-z0-9]{1,8}", kid):
            raise ConfigurationError(
                f"CODE_SIGNING_KEYS: {kid!r} is not a key id of 1 to 8 letters or digits followed by ':'"
            )
        try:
            standard = encoded.strip().replace("-", "+").replace("_", "/").rstrip("=")
            secret = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except (binascii.Error, ValueError) as error:
            raise ConfigurationError(f"CODE_SIGNING_KEYS: key {kid} is not base64") from error
        if len(secret) < 16:
            raise ConfigurationError(f"CODE_SIGNING_KEYS: key {kid} is shorter than 16 bytes")
        if kid in {existing for existing, _ in keys}:
            raise ConfigurationError(f"CODE_SIGNING_KEYS: key id {kid} appears twice")
        keys.append((kid, secret))
    return tuple(keys)


def _flag(env, name: str, default: bool) -> bool:
    if name not in env:
        return default
    return env[name] not in {"0", "false", "no"}


def _iso_date(env, name: str, default: date) -> date:
    try:
        return date.fromisoformat(env[name]) if env.get(name) else default
    except ValueError as error:
        raise ConfigurationError(f"{name} must be a date such as 1990-01-01") from error


def _normalise_database_url(url: str) -> str:
    # Heroku-style URLs and bare postgresql:// should use psycopg 3, the driver we install.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _development_secret(instance_path: Path) -> str:
    # Kept on disk so that development tokens and signatures survive a restart.
    instance_path.mkdir(parents=True, exist_ok=True)
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_urlsafe(48)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key
