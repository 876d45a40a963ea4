"""Settings read once from the environment; nothing else reads os.environ."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from zoneinfo import ZoneInfo

PROJECT_ROOT = Path(__file__).resolve().parent.parent
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
    trusted_proxies: int = 0
    log_format: str = "json"
    reservation_minutes: int = 15
    stripe_secret_key: str | None = None
    stripe_webhook_secrets: tuple[str, ...] = ()
    stripe_api_base: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def with_overrides(self, **changes) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: os._Environ | dict | None = None) -> Settings:
        env = os.environ if environ is None else environ
        environment = env.get("SHANHAI_ENV", "development")
        instance_path = Path(env.get("SHANHAI_INSTANCE_PATH", DEFAULT_INSTANCE_PATH))
        database_url = env.get("DATABASE_URL") or f"sqlite:///{instance_path / 'shanhai.sqlite3'}"
        secret_key = env.get("SECRET_KEY")
        if not secret_key:
            if environment == "production":
                raise ConfigurationError("SECRET_KEY must be set when SHANHAI_ENV=production")
            secret_key = _development_secret(instance_path)
        timezone = env.get("SHANHAI_TIMEZONE", "Asia/Shanghai")
        try:
            ZoneInfo(timezone)
        except Exception as error:
            raise ConfigurationError(f"SHANHAI_TIMEZONE={timezone!r} is not a known time zone") from error
        return cls(
            database_url=_normalise_database_url(database_url),
            secret_key=secret_key,
            environment=environment,
            public_base_url=env.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            currency=env.get("SHANHAI_CURRENCY", "CNY").upper(),
            timezone=timezone,
            token_lifetime_hours=int(env.get("TOKEN_LIFETIME_HOURS", 24 * 7)),
            load_demo=env.get("SHANHAI_LOAD_DEMO", "1") not in {"0", "false", "no"},
            redis_url=env.get("REDIS_URL") or None,
            token_rate_limit=env.get("RATE_LIMIT_TOKEN", cls.token_rate_limit),
            write_rate_limit=env.get("RATE_LIMIT_WRITES", cls.write_rate_limit),
            read_rate_limit=env.get("RATE_LIMIT_READS", cls.read_rate_limit),
            trusted_proxies=int(env.get("TRUSTED_PROXIES", 0)),
            log_format=env.get("LOG_FORMAT", "json"),
            reservation_minutes=int(env.get("RESERVATION_MINUTES", 15)),
            stripe_secret_key=env.get("STRIPE_SECRET_KEY") or None,
            stripe_webhook_secrets=tuple(secret.strip() for secret in
                                         env.get("STRIPE_WEBHOOK_SECRETS", "").split(",")
                                         if secret.strip()),
            stripe_api_base=env.get("STRIPE_API_BASE") or None,
        )


def _normalise_database_url(url: str) -> str:
    # Heroku-style URLs and bare postgresql:// should use psycopg 3, the driver we install.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
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
