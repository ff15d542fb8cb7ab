"""Settings: defaults < config.toml < environment < flags, and clear errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from companion.errors import ConfigError
from companion.paths import Paths
from companion.settings import SPECS, Settings, load_settings


def test_defaults_match_the_specs() -> None:
    settings = load_settings(None, {}, {})
    for spec in SPECS:
        assert getattr(settings, spec.name) == spec.default, spec.name
        assert settings.origin(spec.name) == "default"
    assert settings.port == 49133
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.max_batch_items == 10_000
    assert settings.session_gap_minutes == 30


def test_each_layer_overrides_the_one_below(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('port = 50000\nme = "Steam|1|0"\nlog_level = "debug"\ngame = false\n')
    env = {"COMPANION_PORT": "50001", "COMPANION_GAME": "yes"}
    settings = load_settings(config, env, {"port": "50002", "me": None})
    assert settings.port == 50002
    assert settings.origin("port") == "flag"
    assert settings.game is True
    assert settings.origin("game") == "env"
    assert settings.me == "Steam|1|0"
    assert settings.origin("me") == "file"
    assert settings.log_level == "debug"
    assert settings.origin("max_batch_items") == "default"


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(AttributeError):
        settings.port = 1  # type: ignore[misc]
    assert settings.replace(port=1).port == 1
    assert settings.port == 49133


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"COMPANION_PORT": "abc"}, "COMPANION_PORT: 'abc' is not valid for port; use an integer"),
        ({"COMPANION_PORT": "70000"}, "from 0 to 65535"),
        ({"COMPANION_GAME": "maybe"}, "use true or false"),
        ({"COMPANION_LOG_LEVEL": "loud"}, "one of debug, info, warning, error"),
        ({"COMPANION_MAX_BODY_BYTES": "-1"}, "max_body_bytes"),
    ],
)
def test_bad_environment_values_name_the_key_and_the_allowed_values(
    env: dict[str, str], needle: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, env, {})
    assert needle in str(caught.value)


def test_bad_flag_names_the_flag() -> None:
    with pytest.raises(ConfigError, match="--port: '-5' is not valid for port"):
        load_settings(None, {}, {"port": "-5"})


def test_config_file_errors_name_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("port = true\n")
    with pytest.raises(ConfigError, match=r"config\.toml: port: True is not valid for port"):
        load_settings(config, {}, {})
    config.write_text("prot = 5\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'prot'.*known settings: port"):
        load_settings(config, {}, {})
    config.write_text("port = [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config, {}, {})


def test_missing_config_file_is_fine(tmp_path: Path) -> None:
    assert load_settings(tmp_path / "absent.toml", {}, {}) == Settings()


def test_data_dir_keeps_everything_in_one_folder(tmp_path: Path) -> None:
    paths = Paths.resolve(tmp_path / "portable")
    assert paths.database == tmp_path / "portable" / "companion.db"
    assert paths.config_file == tmp_path / "portable" / "config.toml"
    assert paths.log_dir == tmp_path / "portable" / "logs"
    assert paths.server_file.name == "server.json"


def test_default_folders_follow_platformdirs(tmp_path: Path) -> None:
    paths = Paths.resolve(None)
    # The autouse fixture points XDG folders into tmp_path.
    assert str(paths.data_dir).startswith(str(tmp_path))
    assert paths.data_dir.name == "companion"
