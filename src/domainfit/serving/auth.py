"""API keys: from $DOMAINFIT_API_KEYS (comma-separated, access to every model) or a YAML file of hashed keys.

    # keys.yaml — written by `domainfit keygen`; only SHA-256 hashes are stored
    keys:
      - name: crm-system
        sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        models: ["support-intents"]      # or ["*"]

Clients send `Authorization: Bearer <key>` or `X-API-Key: <key>`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from domainfit.errors import ConfigError

__all__ = ["ApiKey", "KeyStore", "add_key", "hash_key"]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ApiKey:
    name: str
    sha256: str
    models: tuple[str, ...] = ("*",)

    def allows(self, model: str) -> bool:
        return "*" in self.models or model in self.models


class KeyStore:
    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = keys

    @classmethod
    def from_sources(cls, file: str | Path | None = None, env: str | None = None) -> KeyStore:
        env = os.environ.get("DOMAINFIT_API_KEYS", "") if env is None else env
        keys = [ApiKey(f"env-{i + 1}", hash_key(k.strip())) for i, k in enumerate(env.split(",")) if k.strip()]
        if file is not None:
            keys += _read_file(Path(file))
        return cls(keys)

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def lookup(self, presented: str | None) -> ApiKey | None:
        """The key matching `presented` (compared in constant time), or None."""
        if not presented:
            return None
        digest = hash_key(presented)
        found = None
        for key in self.keys:
            if hmac.compare_digest(digest, key.sha256):
                found = key
        return found


def _read_file(path: Path) -> list[ApiKey]:
    import yaml

    if not path.is_file():
        raise ConfigError([("api_keys_file", f"{path} does not exist")])
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError([("keys", "expected a list of {name, sha256, models} entries")], source=str(path))
    out, problems = [], []
    for i, entry in enumerate(entries):
        where = f"keys[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str) or len(entry["sha256"]) != 64:
            problems.append((where, "needs `sha256`: the 64-hex-digit SHA-256 of the key (never the key itself)"))
            continue
        models = entry.get("models", ["*"])
        if isinstance(models, str):
            models = [models]
        out.append(ApiKey(str(entry.get("name", f"key-{i + 1}")), entry["sha256"].lower(), tuple(map(str, models))))
    if problems:
        raise ConfigError(problems, source=str(path))
    return out


def add_key(path: str | Path, name: str, models: list[str] | None = None) -> str:
    """Create a random key, store its hash under `name` in the YAML file (created if missing), return the key."""
    import yaml

    path = Path(path)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
    data = data or {"keys": []}
    if any(e.get("name") == name for e in data["keys"]):
        raise ConfigError([("name", f"a key named {name!r} already exists in {path}")])
    key = "dfk_" + secrets.token_urlsafe(32)
    data["keys"].append({"name": name, "sha256": hash_key(key), "models": models or ["*"]})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return key
