"""Configuration from environment variables (and a `.env` file), as SPEC section 11 lists."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from psycopg.conninfo import conninfo_to_dict, make_conninfo
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LIBRARY_PARAMETERS = frozenset({"host", "port", "user", "password", "dbname"})


class Settings(BaseSettings):
    """Every knob of a regflow process."""

    model_config = SettingsConfigDict(env_prefix="REGFLOW_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./regflow.db"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    registration_api_url: str | None = None
    service_key: str | None = None
    jwt_secret: str | None = None
    api_keys: str | None = None
    secret_key: str | None = None
    lease_seconds: float = Field(default=30.0, gt=0)
    max_concurrent_jobs: int = Field(default=16, ge=1)
    max_concurrent_calls: int = Field(default=32, ge=1)
    role: Literal["all", "api", "worker"] = "all"
    worker_id: str | None = None
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    postgres_pool_size: int = Field(default=5, ge=1)

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgresql://", "postgres://")):
            raise ValueError("REGFLOW_DATABASE_URL must start with sqlite:// or postgresql://")
        return value

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def sqlite_path(self) -> str:
        """The SQLite file (or ':memory:') named by the database URL."""
        path = self.database_url.removeprefix("sqlite://")
        return path[1:] if path.startswith("/") else path

    @property
    def is_in_memory(self) -> bool:
        """True for an SQLite store that lives only in this process's memory."""
        return not self.is_postgres and self.sqlite_path in ("", ":memory:")

    @property
    def data_location(self) -> str:
        if self.is_postgres:
            parts = urlsplit(self.database_url)
            return f"{parts.hostname}:{parts.port or 5432}/{parts.path.lstrip('/')}"
        return str(Path(self.sqlite_path).resolve())

    @property
    def effective_worker_id(self) -> str:
        """A stable identity: the same host and data location give the same worker."""
        return self.worker_id or f"{socket.gethostname()}:{self.data_location}"

    def postgres_conninfo(self) -> str:
        """The database URL as a libpq connection string: every parameter kept, values quoted."""
        return make_conninfo(self.database_url)

    def postgres_parts(self) -> dict[str, str]:
        """The five parameters the eventsourcing library takes, with libpq's defaults filled in."""
        parts = conninfo_to_dict(self.database_url)
        return {
            "host": str(parts.get("host") or "127.0.0.1"),
            "port": str(parts.get("port") or 5432),
            "user": str(parts.get("user") or "postgres"),
            "password": str(parts.get("password") or ""),
            "dbname": str(parts.get("dbname") or "postgres"),
        }

    def postgres_extra(self) -> str:
        """The URL's other parameters (sslmode, options, ...) as a connection string."""
        parts = conninfo_to_dict(self.database_url)
        return make_conninfo("", **{k: v for k, v in parts.items() if k not in LIBRARY_PARAMETERS})
