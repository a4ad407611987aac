import pytest

from engine.settings import MediaFormat, SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    for name in ("DATABASE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_valid():
    settings = load_settings()
    assert settings.database_url is None
    assert settings.simulated_pbx
    assert settings.media_format is MediaFormat.ULAW
    assert settings.port == 8000


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DATABASE_URL", "mysql://root@db/x", "DATABASE_URL: must start with postgresql://"),
        ("OPENDEEP_MEDIA_FORMAT", "opus", "OPENDEEP_MEDIA_FORMAT: Input should be 'ulaw' or 'slin16'"),
        ("OPENDEEP_MAX_CONCURRENT_CALLS", "-3", "OPENDEEP_MAX_CONCURRENT_CALLS: Input should be greater than or equal to 1"),
        ("OPENDEEP_PORT", "eighty", "OPENDEEP_PORT: Input should be a valid integer"),
        ("OPENDEEP_ARI_URL", "http://user:pw@pbx:8088/ari", "OPENDEEP_ARI_URL: must not carry credentials"),
        ("OPENDEEP_CALLING_WINDOW_START", "25:00", "OPENDEEP_CALLING_WINDOW_START: String should match pattern"),
    ],
)
def test_a_bad_value_gives_one_line_naming_the_variable(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    message = str(err.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_secrets_are_not_echoed(monkeypatch):
    monkeypatch.setenv("OPENDEEP_ARI_PASSWORD", "")
    monkeypatch.setenv("OPENDEEP_RING_TIMEOUT_S", "1")
    with pytest.raises(SettingsError) as err:
        load_settings(ari_password="hunter2-secret")
    assert "hunter2" not in str(err.value)


def test_env_file_is_read(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("OPENDEEP_MEDIA_FORMAT=slin16\nOPENDEEP_ARI_URL=http://pbx:8088/ari/\n")
    settings = load_settings()
    assert settings.media_format is MediaFormat.SLIN16
    assert settings.ari_url == "http://pbx:8088/ari"
    assert not settings.simulated_pbx


def test_an_empty_openai_key_means_no_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "")
    assert load_settings().openai_api_key is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_settings().openai_api_key.get_secret_value() == "sk-test"
