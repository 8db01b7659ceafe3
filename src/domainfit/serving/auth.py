"""API keys: from $DOMAINFIT_API_KEYS (comma-separated, access to every model) or a YAML file of hashed keys.

    # keys.yaml — written by `domainfit keygen`; only hashes are stored
    keys:
      - name: crm-system
        sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
        models: ["support-intents"]      # or ["*"]
      - name: ops-team                   # a key a person chose: a salted slow hash (`scrypt_hash`)
        scrypt: scrypt$16384$8$1$5f1c...$a9e2...

Two kinds of hash, because two kinds of key. A key `domainfit keygen` makes is 256 random bits: nothing can guess
it back from its SHA-256, and SHA-256 costs nothing per request. A key a person chose (anything in
$DOMAINFIT_API_KEYS that is not a keygen key, or a `scrypt:` entry) may be guessable, so it is kept only as a salted
scrypt hash; checking one costs tens of milliseconds, paid once per distinct key presented (then cached under a
keyed hash) on a thread of its own, so the event loop never waits on it. Every stored key is compared, in
constant time, whichever matches.

Clients send `Authorization: Bearer <key>` or `X-API-Key: <key>` (surrounding spaces ignored in both).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from domainfit.errors import ConfigError
from domainfit.i18n import _

__all__ = ["ApiKey", "KeyStore", "add_key", "hash_key", "presented_key", "scrypt_hash"]

_GENERATED_PREFIX = "dfk_"
_GENERATED_MIN_LENGTH = len(_GENERATED_PREFIX) + 43  # secrets.token_urlsafe(32)
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}  # 16 MiB, tens of ms: OWASP's minimum for scrypt
_CACHE_LIMIT = 4096


def hash_key(key: str) -> str:
    """SHA-256 of a generated (random) key, as `domainfit keygen` stores it."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def scrypt_hash(key: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash of a key a person chose, as stored under `scrypt:`: `scrypt$N$r$p$salt$hash` (hex)."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(key.encode("utf-8"), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def _scrypt_parts(record: str) -> tuple[int, int, int, bytes, bytes] | None:
    parts = record.split("$")
    try:
        if len(parts) != 6 or parts[0] != "scrypt":
            return None
        n, r, p, salt, digest = int(parts[1]), int(parts[2]), int(parts[3]), bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        return None
    sane = 1 < n <= 2**20 and n & (n - 1) == 0 and 0 < r <= 32 and 0 < p <= 16 and salt and len(digest) >= 16
    return (n, r, p, salt, digest) if sane else None


def _scrypt_matches(record: str, presented: str) -> bool:
    n, r, p, salt, digest = _scrypt_parts(record)
    computed = hashlib.scrypt(presented.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=len(digest),
                              maxmem=128 * r * (n + p + 2) + 1024 * 1024)
    return hmac.compare_digest(computed, digest)


def _is_generated(key: str) -> bool:
    return key.startswith(_GENERATED_PREFIX) and len(key) >= _GENERATED_MIN_LENGTH


def presented_key(headers: dict[bytes, bytes]) -> str | None:
    """The key a request presents (`Authorization: Bearer <key>` first, else `X-API-Key`), stripped; None if neither."""
    auth = (headers.get(b"authorization") or b"").decode("latin-1").strip()
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip() or None
    return (headers.get(b"x-api-key") or b"").decode("latin-1").strip() or None


@dataclass(frozen=True)
class ApiKey:
    """One key: its name, its hash (`sha256` for generated keys, `scrypt` for chosen ones) and the models it may call."""

    name: str
    sha256: str | None = None
    models: tuple[str, ...] = ("*",)
    scrypt: str | None = None
    fingerprint: str | None = None  # stable, not secret: 8 hex digits of a hash of the stored hash

    def allows(self, model: str) -> bool:
        return "*" in self.models or model in self.models

    @property
    def key_id(self) -> str:
        """What the prediction log records of the key: its name, and its fingerprint where it has a stable one
        (never the key, never its hash)."""
        return f"{self.name}#{self.fingerprint}" if self.fingerprint else self.name


def _fingerprint(stored: str) -> str:
    return hashlib.sha256(b"domainfit-key-id:" + stored.encode("ascii")).hexdigest()[:8]


class KeyStore:
    def __init__(self, keys: list[ApiKey]) -> None:
        self.keys = keys
        self._secret = secrets.token_bytes(32)  # keys the verified-key cache; never leaves the process
        self._verified: dict[bytes, ApiKey | None] = {}
        self._hasher: ThreadPoolExecutor | None = None

    @classmethod
    def from_sources(cls, file: str | Path | None = None, env: str | None = None) -> KeyStore:
        env = os.environ.get("DOMAINFIT_API_KEYS", "") if env is None else env
        keys = []
        for i, raw in enumerate(k.strip() for k in env.split(",")):
            if not raw:
                continue
            if _is_generated(raw):  # 256 random bits: SHA-256 is enough, and its prefix identifies it safely
                keys.append(ApiKey(f"env-{i + 1}", hash_key(raw), fingerprint=_fingerprint(hash_key(raw))))
            else:  # a person chose it: salted, slow; the salt is new each start, so no fingerprint
                keys.append(ApiKey(f"env-{i + 1}", scrypt=scrypt_hash(raw)))
        if file is not None:
            keys += _read_file(Path(file))
        return cls(keys)

    @property
    def enabled(self) -> bool:
        return bool(self.keys)

    def _fast(self, presented: str) -> tuple[ApiKey | None, bool]:
        """(the key, settled): the SHA-256 keys and the cache; not settled when scrypt keys remain to be tried."""
        digest = hash_key(presented)
        found = None
        for key in self.keys:  # all compared, none skipped: the time taken does not say which one matched
            if key.sha256 is not None and hmac.compare_digest(digest, key.sha256):
                found = key
        if found is not None or not any(k.scrypt for k in self.keys):
            return found, True
        tag = hmac.new(self._secret, presented.encode("utf-8"), hashlib.sha256).digest()
        if tag in self._verified:
            return self._verified[tag], True
        return None, False

    def _slow(self, presented: str) -> ApiKey | None:
        found = None
        for key in self.keys:
            if key.scrypt is not None and _scrypt_matches(key.scrypt, presented):
                found = key
        if len(self._verified) >= _CACHE_LIMIT:
            self._verified.clear()
        self._verified[hmac.new(self._secret, presented.encode("utf-8"), hashlib.sha256).digest()] = found
        return found

    def lookup(self, presented: str | None) -> ApiKey | None:
        """The key matching `presented` (compared in constant time), or None."""
        if not presented:
            return None
        found, settled = self._fast(presented)
        return found if settled else self._slow(presented)

    async def verify(self, presented: str | None) -> ApiKey | None:
        """`lookup` for the event loop: a scrypt check runs on the store's own thread (one at a time, so a flood of
        wrong keys queues there instead of taking every core)."""
        if not presented:
            return None
        found, settled = self._fast(presented)
        if settled:
            return found
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="domainfit-keys")
        return await asyncio.get_running_loop().run_in_executor(self._hasher, self._slow, presented)


def _read_file(path: Path) -> list[ApiKey]:
    import yaml

    if not path.is_file():
        raise ConfigError([("api_keys_file", _("{path} does not exist").format(path=path))])
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ConfigError([("keys", _("expected a list of {name, sha256 or scrypt, models} entries"))],
                          source=str(path))
    out, problems = [], []
    for i, entry in enumerate(entries):
        where = f"keys[{i}]"
        if not isinstance(entry, dict):
            problems.append((where, _("expected a mapping {name, sha256 or scrypt, models}")))
            continue
        sha, chosen = entry.get("sha256"), entry.get("scrypt")
        if chosen is not None:
            if not isinstance(chosen, str) or _scrypt_parts(chosen) is None:
                problems.append((where, _("`scrypt` must be scrypt$N$r$p$salt$hash as "
                                          "domainfit.serving.auth.scrypt_hash writes it (never the key itself)")))
                continue
        elif not isinstance(sha, str) or len(sha) != 64:
            problems.append((where, _("needs `sha256`: the 64-hex-digit SHA-256 of the key (never the key itself)")))
            continue
        models = entry.get("models", ["*"])
        if isinstance(models, str):
            models = [models]
        stored = chosen if chosen is not None else sha.lower()
        out.append(ApiKey(str(entry.get("name", f"key-{i + 1}")), None if chosen is not None else stored,
                          tuple(map(str, models)), scrypt=chosen, fingerprint=_fingerprint(stored)))
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
        raise ConfigError([("name", _("a key named {name} already exists in {path}").format(
            name=repr(name), path=path))])
    key = _GENERATED_PREFIX + secrets.token_urlsafe(32)
    data["keys"].append({"name": name, "sha256": hash_key(key), "models": models or ["*"]})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return key
