"""API keys: generated keys by SHA-256, chosen keys by salted scrypt, both stripped, key ids that never hold the key."""

from __future__ import annotations

import asyncio

import pytest

from domainfit.errors import ConfigError
from domainfit.serving.auth import KeyStore, add_key, hash_key, presented_key, scrypt_hash


def test_chosen_env_keys_are_stored_as_salted_scrypt_and_generated_ones_as_sha256(tmp_path):
    generated = add_key(tmp_path / "k.yaml", "crm")
    store = KeyStore.from_sources(env=f"hunter2, {generated}")
    chosen, machine = store.keys
    assert chosen.sha256 is None and chosen.scrypt.startswith("scrypt$16384$8$1$") and hash_key("hunter2") not in repr(store.keys)
    assert machine.sha256 == hash_key(generated) and machine.scrypt is None
    again = KeyStore.from_sources(env="hunter2").keys[0]
    assert again.scrypt != chosen.scrypt, "the same key hashed twice gave the same record: no salt"
    assert store.lookup("hunter2") is chosen and store.lookup(generated) is machine
    assert store.lookup("hunter3") is None and store.lookup("") is None and store.lookup(None) is None
    assert asyncio.run(store.verify("hunter2")) is chosen and asyncio.run(store.verify("wrong")) is None


def test_key_ids_name_the_key_without_holding_it(tmp_path):
    keys_file = tmp_path / "k.yaml"
    generated = add_key(keys_file, "crm")
    with_file = KeyStore.from_sources(keys_file, env="hunter2").keys
    env_key, file_key = with_file
    assert env_key.key_id == "env-1"  # a new salt each start: no stable fingerprint to give
    assert file_key.key_id.startswith("crm#") and len(file_key.key_id) == len("crm#") + 8
    assert KeyStore.from_sources(keys_file, env="").keys[0].key_id == file_key.key_id, "the id must survive a restart"
    assert file_key.fingerprint not in hash_key(generated) and generated not in file_key.key_id


def test_a_scrypt_entry_in_the_keys_file_serves_a_chosen_key(tmp_path):
    keys_file = tmp_path / "k.yaml"
    keys_file.write_text(f"keys:\n  - name: ops\n    scrypt: {scrypt_hash('correct horse battery')}\n    models: [tickets]\n")
    store = KeyStore.from_sources(keys_file, env="")
    assert store.lookup("correct horse battery").name == "ops" and store.lookup("correct horse") is None
    keys_file.write_text("keys:\n  - name: ops\n    scrypt: md5$abc\n  - name: x\n    sha256: short\n")
    with pytest.raises(ConfigError) as err:
        KeyStore.from_sources(keys_file, env="")
    assert [key for key, _ in err.value.problems] == ["keys[0]", "keys[1]"]  # every problem at once


@pytest.mark.parametrize("headers, expected", [
    ({b"authorization": b"Bearer  k1 "}, "k1"),
    ({b"authorization": b"bearer k1"}, "k1"),
    ({b"x-api-key": b"  k2\t"}, "k2"),
    ({b"authorization": b"Bearer k1", b"x-api-key": b"k2"}, "k1"),
    ({b"authorization": b"Basic abc"}, None),
    ({b"authorization": b"Bearer   "}, None),
    ({b"x-api-key": b"   "}, None),
    ({}, None),
])
def test_presented_keys_are_stripped_from_either_header(headers, expected):
    assert presented_key(headers) == expected
