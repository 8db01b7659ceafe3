"""The studio's settings (`domainfit studio` flags)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["StudioSettings"]


class StudioSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="interface to bind; any but loopback requires API keys")
    port: int = Field(7860, ge=1, le=65535)
    workdir: Path = Field(Path("."), description="the working folder: data files, bundles (runs/), uploads")
    database: str | None = Field(None, description="job store: a file (SQLite) or a SQLAlchemy URL; default <workdir>/.domainfit-studio.db")
    backbone: str | None = Field(None, description="backbone used by the data check and the Train form's default (default: bundled MiniLM)")
    registry: str | None = Field(None, description="MLflow model registry URI shown on the Models page")
    prediction_log: str | None = Field(None, description="prediction log of `domainfit serve` (a file or a SQLAlchemy URL) for the Monitor page; files under the working folder are listed too")
    api_keys_file: Path | None = Field(None, description="keys.yaml of `domainfit keygen` (or $DOMAINFIT_API_KEYS)")
    require_auth: bool | None = Field(None, description="default: on for a non-loopback host")

    @property
    def store_target(self) -> str:
        return self.database or str(Path(self.workdir) / ".domainfit-studio.db")
