from pathlib import Path

import pytest
from pydantic import ValidationError

from authgate.config import Settings


def test_defaults_use_sqlite_in_home(tmp_path: Path) -> None:
    s = Settings.load()
    assert s.home == tmp_path / "home"
    assert s.effective_database_url == f"sqlite+aiosqlite:///{tmp_path / 'home' / 'authgate.db'}"
    assert s.redis_url is None
    assert s.api_key_query_paths == []


def test_toml_then_env_then_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "authgate.toml").write_text(
        'port = 9001\ncredential_cache_ttl = 3\nhost = "127.0.0.2"\n'
    )
    assert Settings.load().port == 9001
    monkeypatch.setenv("AUTHGATE_PORT", "9002")
    s = Settings.load()
    assert (s.port, s.credential_cache_ttl, s.host) == (9002, 3, "127.0.0.2")
    assert Settings.load(port=9003).port == 9003


def test_explicit_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "custom.toml"
    cfg.write_text('basic_enabled = false\napi_key_query_paths = ["/export"]\n')
    monkeypatch.setenv("AUTHGATE_CONFIG", str(cfg))
    s = Settings.load()
    assert s.basic_enabled is False and s.api_key_query_paths == ["/export"]


def test_unknown_and_invalid_settings_are_clear_errors(tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "authgate.toml").write_text("prot = 1\n")
    with pytest.raises(ValidationError, match="prot"):
        Settings.load()
    (tmp_path / "home" / "authgate.toml").write_text("")
    with pytest.raises(ValidationError):
        Settings.load(argon2_memory_kib=1024)
    with pytest.raises(ValidationError):
        Settings.load(trusted_proxies=["not-a-network"])
