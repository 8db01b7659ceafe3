"""The service on a real uvicorn server (in a thread, on a free loopback port, configured as `domainfit serve` does):
micro-batching coalesces concurrent requests, and a hot swap under concurrent load drops nothing and switches versions
atomically."""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest

from domainfit.serving import ServeSettings, create_app
from domainfit.serving.auth import KeyStore
from domainfit.serving.models import BundleSource
from tests.conftest import live_server, train_tiny_bundle

TEXTS = ["my card was stolen", "loan rate please", "transfer not arrived", "pin blocked today"]


@contextlib.contextmanager
def live_url(app):
    with live_server(app) as port:
        yield f"http://127.0.0.1:{port}"


async def _fire(url: str, n: int, concurrency: int, stop: asyncio.Event | None = None) -> list[dict]:
    results = []
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        async def worker(i):
            k = i
            while k < n or (stop is not None and not stop.is_set()):
                r = await client.post("/v1/predict", json={"texts": [TEXTS[k % len(TEXTS)]]})
                results.append({"status": r.status_code, "t": time.monotonic(), **(r.json() if r.status_code == 200 else {})})
                k += concurrency
        await asyncio.gather(*(worker(i) for i in range(concurrency)))
    return results


def test_micro_batching_coalesces_concurrent_requests(tiny_bundle):
    app = create_app(tiny_bundle, ServeSettings(max_batch_size=16, max_wait_ms=20), keys=KeyStore([]))
    with live_url(app) as url:
        results = asyncio.run(_fire(url, 64, concurrency=16))
        metrics = httpx.get(f"{url}/metrics").text
    assert len(results) == 64 and all(r["status"] == 200 for r in results)
    batches = float(next(line.split()[-1] for line in metrics.splitlines() if line.startswith("domainfit_batch_size_count")))
    texts = float(next(line.split()[-1] for line in metrics.splitlines() if line.startswith("domainfit_batch_size_sum")))
    assert texts == 64 + 2 - 2 or texts >= 64  # warm-up calls do not go through the batcher
    assert batches < 64 / 2, f"{batches} model calls for 64 concurrent requests: nothing was coalesced"


def test_batching_off_makes_one_model_call_per_request(tiny_bundle):
    app = create_app(tiny_bundle, ServeSettings(batching=False), keys=KeyStore([]))
    with live_url(app) as url:
        results = asyncio.run(_fire(url, 24, concurrency=8))
        metrics = httpx.get(f"{url}/metrics").text
    assert all(r["status"] == 200 for r in results)
    assert "domainfit_batch_size_count 24.0" in metrics


class SwitchableSource(BundleSource):
    """A followed source whose current version a test changes (as a registry promotion does)."""

    def __init__(self, bundles: dict[str, object]) -> None:
        self.bundles, self.version = bundles, "1"
        super().__init__(bundles["1"])
        self.follows = True

    def current_version(self) -> str:
        return self.version

    def path_for(self, version):
        if self.bundles[version] is None:
            raise RuntimeError(f"version {version} is broken at /srv/registry/{version}")
        return self.bundles[version]

    def load(self, version, *, variant, threads):
        if self.bundles[version] is None:
            raise RuntimeError(f"version {version} is broken")
        self.path = self.bundles[version]
        return super().load(version, variant=variant, threads=threads)


@pytest.fixture(scope="module")
def second_bundle(tiny_backbone, tmp_path_factory):
    return train_tiny_bundle(tiny_backbone, tmp_path_factory.mktemp("v2") / "tickets", seed=5, epochs=3)


def test_hot_swap_under_load_drops_nothing(tiny_bundle, second_bundle):
    source = SwitchableSource({"1": tiny_bundle, "2": second_bundle, "3": None})
    app = create_app(source, ServeSettings(poll_seconds=0.2, max_wait_ms=1), keys=KeyStore([]))

    async def scenario(url):
        stop = asyncio.Event()
        load = asyncio.create_task(_fire(url, 0, concurrency=8, stop=stop))
        await asyncio.sleep(1.0)
        source.version = "2"  # promotion
        async with httpx.AsyncClient(base_url=url) as client:
            for _ in range(200):
                if (await client.get("/readyz")).json()["version"] == "2":
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
            source.version = "3"  # a version that fails to load: the old one keeps serving
            for _ in range(100):
                if (await client.get("/readyz")).json()["last_reload_error"]:
                    break
                await asyncio.sleep(0.1)
            ready = (await client.get("/readyz")).json()
        await asyncio.sleep(0.5)
        stop.set()
        return await load, ready

    with live_url(app) as url:
        results, ready = asyncio.run(scenario(url))
        metrics = httpx.get(f"{url}/metrics").text
    assert results and all(r["status"] == 200 for r in results), "a request failed during the swap"
    versions = [r["version"] for r in sorted(results, key=lambda r: r["t"])]
    assert versions[0] == "1" and versions[-1] == "2"
    first_new = versions.index("2")
    assert set(versions[first_new + 8:]) == {"2"}, "requests went back to the old model after the swap"
    assert ready["version"] == "2"
    assert ready["last_reload_error"] == ("version 3 could not be loaded (RuntimeError); version 2 keeps serving; "
                                          "the server log has the details")  # the exception's text and path: log only
    assert "domainfit_model_swaps_total 1.0" in metrics and 'version="2"' in metrics
    assert 'domainfit_reload_refused_total{reason="load_failed"} 0.0' not in metrics  # counted (at every retry)


def test_server_follows_a_registry_alias_promotion_and_rollback_under_load(tiny_bundle, second_bundle, tmp_path, monkeypatch):
    """Real MLflow registry (SQLite): serve models:/tickets@champion, promote v2 during load, then roll back."""
    from domainfit.model_registry import ModelRegistry

    monkeypatch.setenv("DOMAINFIT_CACHE", str(tmp_path / "cache"))
    uri = f"sqlite:///{tmp_path}/reg/registry.db"
    registry = ModelRegistry(uri)
    assert registry.push(tiny_bundle, "tickets")["version"] == 1
    assert registry.push(second_bundle, "tickets")["version"] == 2
    registry.promote("tickets", 1)
    app = create_app("models:/tickets@champion", ServeSettings(registry=uri, poll_seconds=0.2), keys=KeyStore([]))

    async def wait_for(client, version):
        for _ in range(300):
            if (await client.get("/readyz")).json()["version"] == version:
                return True
            await asyncio.sleep(0.1)
        return False

    async def scenario(url):
        stop = asyncio.Event()
        load = asyncio.create_task(_fire(url, 0, concurrency=8, stop=stop))
        async with httpx.AsyncClient(base_url=url) as client:
            await asyncio.sleep(0.5)
            await asyncio.to_thread(registry.promote, "tickets", 2)
            promoted = await wait_for(client, "2")
            await asyncio.sleep(0.3)
            await asyncio.to_thread(registry.rollback, "tickets")
            rolled_back = await wait_for(client, "1")
            models = (await client.get("/v1/models")).json()["models"][0]
        await asyncio.sleep(0.3)
        stop.set()
        return await load, promoted, rolled_back, models

    with live_url(app) as url:
        results, promoted, rolled_back, models = asyncio.run(scenario(url))
    assert promoted and rolled_back
    assert results and all(r["status"] == 200 for r in results), "a request failed during promotion or rollback"
    assert {r["version"] for r in results} == {"1", "2"}
    assert models["version"] == "1" and models["source"] == "models:/tickets@champion"
