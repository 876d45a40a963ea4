import pytest

from marketplace.core.config import ConfigurationError, Settings


def test_the_default_database_is_an_sqlite_file_in_the_instance_folder(tmp_path):
    settings = Settings.from_env({"SHANHAI_INSTANCE_PATH": str(tmp_path)})
    assert settings.database_url == f"sqlite:///{tmp_path / 'shanhai.sqlite3'}"
    assert settings.currency == "CNY"
    assert settings.timezone == "Asia/Shanghai"


def test_a_development_secret_key_is_generated_once_and_kept(tmp_path):
    first = Settings.from_env({"SHANHAI_INSTANCE_PATH": str(tmp_path)}).secret_key
    second = Settings.from_env({"SHANHAI_INSTANCE_PATH": str(tmp_path)}).secret_key
    assert first == second and len(first) >= 32


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        Settings.from_env({"SHANHAI_ENV": "production", "SHANHAI_INSTANCE_PATH": str(tmp_path)})


def test_postgresql_is_one_database_url_away():
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://shanhai@db.internal/shanhai", "SECRET_KEY": "k"}
    )
    assert settings.database_url == "postgresql+psycopg://shanhai@db.internal/shanhai"


def test_an_unknown_time_zone_is_refused():
    with pytest.raises(ConfigurationError, match="time zone"):
        Settings.from_env({"SECRET_KEY": "k", "SHANHAI_TIMEZONE": "Mars/Olympus"})


def test_codes_point_at_the_port_make_run_serves_on_unless_a_public_address_is_set(tmp_path):
    local = {"SHANHAI_INSTANCE_PATH": str(tmp_path)}
    assert Settings.from_env(local).public_base_url == "http://127.0.0.1:8000"
    assert Settings.from_env({**local, "PORT": "8123"}).public_base_url == "http://127.0.0.1:8123"
    public = {**local, "PORT": "8123", "PUBLIC_BASE_URL": "https://shanhai.example.cn/"}
    assert Settings.from_env(public).public_base_url == "https://shanhai.example.cn"


def test_the_bounds_of_business_dates_come_from_the_environment(tmp_path):
    from datetime import date

    base = {"SHANHAI_INSTANCE_PATH": str(tmp_path)}
    defaults = Settings.from_env(base)
    assert (defaults.business_dates_from, defaults.business_dates_years_ahead) == (date(1990, 1, 1), 10)
    narrowed = Settings.from_env(
        {**base, "BUSINESS_DATES_FROM": "2015-03-01", "BUSINESS_DATES_YEARS_AHEAD": "2"}
    )
    assert (narrowed.business_dates_from, narrowed.business_dates_years_ahead) == (date(2015, 3, 1), 2)
    with pytest.raises(ConfigurationError, match="BUSINESS_DATES_FROM"):
        Settings.from_env({**base, "BUSINESS_DATES_FROM": "March 2015"})
