"""Code-signing keys and scan thresholds come from the environment."""

from __future__ import annotations

import base64

import pytest

from marketplace.core.config import ConfigurationError, Settings

KEY_TWO = base64.urlsafe_b64encode(b"k" * 32).decode().rstrip("=")
KEY_ONE = base64.b64encode(b"o" * 24).decode()


def test_signing_keys_are_read_newest_first_in_either_base64_alphabet():
    settings = Settings.from_env({"SECRET_KEY": "s", "CODE_SIGNING_KEYS": f"k2:{KEY_TWO}, k1:{KEY_ONE}"})
    assert settings.signing_keys == (("k2", b"k" * 32), ("k1", b"o" * 24))


@pytest.mark.parametrize(
    "value", ["k2", "k2:", "k 2:" + KEY_TWO, "k2:c2hvcnQ", "k2:%%%%", f"k2:{KEY_TWO},k2:{KEY_ONE}"]
)
def test_malformed_signing_keys_stop_the_app_from_starting(value):
    with pytest.raises(ConfigurationError, match="CODE_SIGNING_KEYS"):
        Settings.from_env({"SECRET_KEY": "s", "CODE_SIGNING_KEYS": value})


def test_production_requires_signing_keys(tmp_path):
    with pytest.raises(ConfigurationError, match="CODE_SIGNING_KEYS"):
        Settings.from_env({"SHANHAI_ENV": "production", "SECRET_KEY": "s"})


def test_development_derives_a_stable_key_from_the_secret_key():
    first = Settings.from_env({"SECRET_KEY": "same"}).signing_keys
    assert first == Settings.from_env({"SECRET_KEY": "same"}).signing_keys
    assert first != Settings.from_env({"SECRET_KEY": "other"}).signing_keys
    assert first[0][0] == "d1" and len(first[0][1]) == 32


def test_scan_thresholds_are_configurable():
    settings = Settings.from_env(
        {
            "SECRET_KEY": "s",
            "SCAN_COUNT_THRESHOLD": "50",
            "SCAN_PLACE_THRESHOLD": "5",
            "SCAN_PLACE_WINDOW_HOURS": "6",
            "MAP_TILE_URL": "http://tiles.local/{z}/{x}/{y}.png",
        }
    )
    assert (
        settings.scan_count_threshold,
        settings.scan_place_threshold,
        settings.scan_place_window_hours,
    ) == (50, 5, 6)
    assert settings.map_tile_url.startswith("http://tiles.local/")


def test_the_scan_settings_default_to_what_production_runs(tmp_path):
    built = Settings(database_url="sqlite://", secret_key="s")
    read = Settings.from_env({"SECRET_KEY": "s", "SHANHAI_INSTANCE_PATH": str(tmp_path)})
    for name in (
        "scan_count_threshold",
        "scan_place_threshold",
        "scan_place_window_hours",
        "scan_story_cache_seconds",
        "scan_write_behind_seconds",
        "scan_rate_limit",
        "scan_fast_path",
    ):
        assert getattr(built, name) == getattr(read, name), name
    assert read.scan_journal_dir == str(tmp_path / "scan-journal")
