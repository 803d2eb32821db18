"""Service settings read from the environment, with the original design's variable names."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from estore.kit.identity.internal import MIN_KEY_BYTES

SERVICE_PORTS: dict[str, int] = {
    "gateway": 3000,
    "auth": 3011,
    "product": 3012,
    "order": 3013,
    "category": 3014,
    "coupon": 3015,
    "ticket": 3016,
    "payment": 3020,
}


class ServiceSettings(BaseSettings):
    """What every service reads: its port, its stores, its peers and the shared secrets.

    Unset store URIs mean the in-process fakes; `mongodb://` and `redis://` mean real servers.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service: ClassVar[str] = ""
    # Secrets a deployed service cannot start without.
    required_secrets: ClassVar[tuple[str, ...]] = ("internal_signing_key",)
    # What the deployed mode needs besides them, unless fakes are asked for explicitly.
    deployed_stores: ClassVar[tuple[str, ...]] = ("mongodb_uri", "redis_url")

    host: str = "127.0.0.1"
    port: int = 0
    mongodb_uri: str | None = None
    mongodb_database: str | None = None
    redis_url: str | None = None

    auth_service_url: str = f"http://127.0.0.1:{SERVICE_PORTS['auth']}"
    product_service_url: str = f"http://127.0.0.1:{SERVICE_PORTS['product']}"
    order_service_url: str = f"http://127.0.0.1:{SERVICE_PORTS['order']}"
    category_service_url: str = f"http://127.0.0.1:{SERVICE_PORTS['category']}"
    coupon_service_url: str = f"http://127.0.0.1:{SERVICE_PORTS['coupon']}"
    ticket_service_url: str = f"http://127.0.0.1:{SERVICE_PORTS['ticket']}"
    payment_service_url: str = f"http://127.0.0.1:{SERVICE_PORTS['payment']}"

    jwt_issuer: str = "estore-auth"
    jwt_audience: str = "estore"
    jwt_private_key: SecretStr | None = None
    jwt_access_ttl_seconds: int = 900
    jwt_refresh_ttl_seconds: int = 14 * 24 * 3600
    internal_signing_key: SecretStr | None = None
    internal_identity_max_age_seconds: int = 60

    request_deadline_seconds: float = 2.0
    # Bodies over this many bytes are refused (413) before they are read to the end.
    max_body_bytes: int = 1024 * 1024
    log_level: str = "INFO"
    log_json: bool = True
    otel_exporter_otlp_endpoint: str | None = None

    @field_validator("jwt_private_key", mode="before")
    @classmethod
    def _unescape_pem(cls, value: object) -> object:
        # A PEM in one environment line arrives with literal \n separators.
        return value.replace("\\n", "\n") if isinstance(value, str) else value

    @field_validator("internal_signing_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_KEY_BYTES:
            raise ValueError(
                f"must be at least {MIN_KEY_BYTES} bytes (`estore secrets` prints a good one)"
            )
        return value

    @model_validator(mode="after")
    def _default_port(self) -> Self:
        if self.port == 0 and self.service in SERVICE_PORTS:
            object.__setattr__(self, "port", SERVICE_PORTS[self.service])
        return self

    @property
    def database(self) -> str:
        return self.mongodb_database or f"{self.service}_db"

    def service_url(self, name: str) -> str:
        url: str = getattr(self, f"{name}_service_url")
        return url.rstrip("/")

    def require_secrets(self, *names: str) -> None:
        """Refuse to start a deployed service whose secrets are not configured."""
        missing = [n.upper() for n in names if getattr(self, n) is None]
        if missing:
            raise SystemExit(f"{self.service}: set {', '.join(missing)} in the environment")

    def missing_for_deployment(self, *, allow_fakes: bool) -> list[str]:
        """Every environment variable a deployed service still needs, named at once."""
        names = self.required_secrets + (() if allow_fakes else self.deployed_stores)
        return [n.upper() for n in names if getattr(self, n) is None]

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Read the environment; explicit overrides (from the cluster) win."""
        return cls(**overrides)
