"""Configuration, read from the environment and `.env` when the process starts.

Every variable is named `OPENDEEP_<FIELD>` except the two that have a
well-known name of their own (`DATABASE_URL`, `OPENAI_API_KEY`). A bad value
stops the process with one line that names the variable (see `load_settings`).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DB_POOL_MARGIN = 10  # connections beyond one per concurrent call: web requests, sweeps, the dialer, HITL


class MediaFormat(StrEnum):
    ULAW = "ulaw"  # G.711 trunks: passes straight to a model speaking audio/pcmu
    SLIN16 = "slin16"  # wideband trunks: resampled to the model's 24 kHz PCM


class MediaTransport(StrEnum):
    WEBSOCKET = "websocket"  # chan_websocket (Asterisk 20.18+/22.8+/23.2+)
    AUDIOSOCKET = "audiosocket"  # fallback for older Asterisk


class TurnDetection(StrEnum):
    SERVER_VAD = "server_vad"
    SEMANTIC_VAD = "semantic_vad"


def default_data_dir() -> Path:
    """Per-user data directory (XDG), where the embedded database and recordings live."""
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "opendeep"


class VoiceProvider(StrEnum):
    REALTIME = "realtime"  # OpenAI Realtime (GA), per-token billing
    LIVE = "live"  # OpenAI GPT-Live, full duplex, per active minute


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPENDEEP_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    # --- storage -----------------------------------------------------------
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "OPENDEEP_DATABASE_URL"),
        description="PostgreSQL URL. Unset: an embedded PostgreSQL under data_dir is started.",
    )
    data_dir: Path = Field(default_factory=default_data_dir)
    db_pool_size: int | None = Field(
        default=None, ge=1, le=1000,
        description="connections in the pool. Unset: max_concurrent_calls + 10 (the web app, sweeps, the dialer).",
    )
    db_acquire_timeout_s: float = Field(
        default=5.0, gt=0, le=120,
        description="longest wait for a free pool connection; a write during a call then retries from its queue",
    )
    db_write_retry_s: float = Field(
        default=120.0, gt=0, le=3600,
        description="how long a call's queued write (transcript turn, call step) is retried before it is dropped",
    )

    # --- this node ---------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Addresses of reverse proxies whose X-Forwarded-Proto/-For are believed (uvicorn's forwarded_allow_ips):
    # behind a TLS proxy the site is https, so cookies are Secure and sign-in throttling sees the real client.
    trusted_proxies: str = "127.0.0.1"
    node_id: str = Field(default="", max_length=40, pattern=r"^[A-Za-z0-9_-]*$")
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    # --- Asterisk (ARI); unset ari_url means the built-in PBX simulator ---
    ari_url: str | None = Field(default=None, description="e.g. http://pbx:8088/ari")
    ari_user: str = "opendeep"
    ari_password: SecretStr = SecretStr("")
    ari_app: str = Field(default="opendeep", max_length=60, pattern=r"^[A-Za-z0-9_-]+$")
    dial_endpoint: str = Field(
        default="PJSIP/{number}@trunk",
        description="ARI endpoint template; {number} is the callee's E.164 number.",
    )
    caller_id: str = Field(default="", max_length=80)
    ring_timeout_s: int = Field(default=30, ge=5, le=300)
    media_format: MediaFormat = MediaFormat.ULAW
    media_transport: MediaTransport = MediaTransport.WEBSOCKET
    audiosocket_bind: str = "127.0.0.1:0"
    audiosocket_advertise_host: str = Field(
        default="",
        description="host Asterisk connects to for AudioSocket; default: the bind host",
    )
    record_calls: bool = False
    keep_pbx_recordings: bool = Field(
        default=False, description="leave the PBX's copy of a recording once the node has stored its own"
    )

    # --- voice model ------------------------------------------------------
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_API_KEY", "OPENDEEP_OPENAI_API_KEY")
    )
    openai_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("OPENAI_BASE_URL", "OPENDEEP_OPENAI_BASE_URL")
    )
    realtime_model: str = "gpt-realtime-1.5"
    voice_model_check_s: float = Field(
        default=300.0, ge=10, le=86400, description="how often /health asks the OpenAI API whether the key works"
    )
    realtime_voice: str = "marin"
    realtime_append_ms: int = Field(default=40, ge=20, le=200, multiple_of=20)
    turn_detection: TurnDetection = TurnDetection.SERVER_VAD
    vad_silence_ms: int = Field(default=500, ge=100, le=5000)
    transcription_model: str = "gpt-4o-mini-transcribe"
    analysis_model: str = "gpt-5-mini"
    voice_provider: VoiceProvider = Field(
        default=VoiceProvider.REALTIME, description="realtime or live; a task may choose its own"
    )
    live_model: str = "gpt-live-1"
    live_voice: str = Field(default="", description="GPT-Live voice; empty: OPENDEEP_REALTIME_VOICE")
    live_backend_model: str = Field(default="gpt-5-mini", description="the Responses model that runs GPT-Live's tools")

    # --- the conversation ----------------------------------------------------
    listen_first_s: float = Field(
        default=1.5, ge=0, le=10, description="after answer the agent listens; silent this long, it greets"
    )
    dead_air_s: float = Field(
        default=8.0, ge=2, le=120, description="silence before the agent checks in; again, it ends the call"
    )
    max_call_minutes: float = Field(default=15, gt=0, le=240, description="the agent wraps up at this call length")
    model_session_handover_s: float = Field(
        default=3300, ge=10, le=3500, description="a fresh model session takes over (Realtime sessions end at 60 min)"
    )

    # --- dialling policy ---------------------------------------------------
    max_concurrent_calls: int = Field(default=20, ge=1, le=10000)
    max_concurrent_calls_per_user: int = Field(default=5, ge=1, le=10000)
    max_concurrent_calls_per_trunk: int | None = Field(
        default=None, ge=1, le=100000, description="calls at once through the trunk, all nodes together"
    )
    calling_window_start: str = Field(default="09:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    calling_window_end: str = Field(default="20:00", pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")
    default_max_attempts: int = Field(default=5, ge=1, le=50)
    global_dnd_threshold: int = Field(default=3, ge=2, le=1000)
    dispatch_interval_s: float = Field(default=1.0, gt=0, le=60)
    test_mode: bool = False
    test_destination: str = Field(default="", max_length=40)

    # --- human in the loop -------------------------------------------------
    hitl_timeout_s: int = Field(default=45, ge=5, le=600, description="default wait for the owner's answer")
    hitl_timeout_min_s: int = Field(default=15, ge=5, le=600, description="shortest wait the agent may ask for")
    hitl_timeout_max_s: int = Field(default=180, ge=5, le=900, description="longest a callee is kept waiting")

    # Quotas per user (issue 13): one user cannot flood the dialer for everyone.
    max_tasks_per_campaign: int = Field(default=500, ge=1, le=100_000)
    max_campaigns_per_day: int = Field(default=50, ge=1, le=100_000)
    # Logs: "human" lines or "json" lines; a repeated warning passes once per this many seconds.
    log_format: str = Field(default="human", pattern=r"^(human|json)$")
    log_repeat_window_s: float = Field(default=60.0, ge=0, le=86_400)

    @field_validator("openai_api_key")
    @classmethod
    def _empty_key_is_no_key(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value().strip() else None

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("postgres", "postgresql"):
            raise ValueError("must start with postgresql:// (for example postgresql://user@host/db)")
        return value

    @field_validator("hitl_timeout_max_s")
    @classmethod
    def _check_hitl_bounds(cls, value: int, info: ValidationInfo) -> int:
        low, default = info.data.get("hitl_timeout_min_s"), info.data.get("hitl_timeout_s")
        if low is not None and default is not None and not low <= default <= value:
            raise ValueError(
                f"needs HITL_TIMEOUT_MIN_S <= HITL_TIMEOUT_S <= HITL_TIMEOUT_MAX_S ({low}, {default}, {value})"
            )
        return value

    @field_validator("ari_url")
    @classmethod
    def _check_ari_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as http://pbx:8088/ari")
        if parts.username or parts.password:
            raise ValueError("must not carry credentials; use OPENDEEP_ARI_USER/OPENDEEP_ARI_PASSWORD")
        return value.rstrip("/")

    @property
    def effective_db_pool_size(self) -> int:
        """The pool follows the node's concurrency unless `db_pool_size` says otherwise."""
        return self.db_pool_size or self.max_concurrent_calls + DB_POOL_MARGIN

    @property
    def simulated_pbx(self) -> bool:
        return self.ari_url is None

    @property
    def effective_node_id(self) -> str:
        return self.node_id or f"{os.uname().nodename.split('.')[0]}-{os.getpid()}"


class SettingsError(Exception):
    """A configuration value is wrong; the message is one line naming the variable."""


def _variable_name(field: str) -> str:
    if field not in Settings.model_fields:
        return field  # pydantic reported the environment alias itself
    info = Settings.model_fields[field]
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    return f"OPENDEEP_{field.upper()}"


def load_settings(**overrides: object) -> Settings:
    """Build the settings, turning pydantic's report into one readable line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        message = first["msg"].removeprefix("Value error, ")
        given = first.get("input")
        shown = "" if "password" in field or "key" in field else f" (got {given!r})"
        raise SettingsError(f"{_variable_name(field)}: {message}{shown}") from None
