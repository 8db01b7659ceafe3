"""The Models page against a real (SQLite-backed) MLflow registry: bundles and versions side by side, promote and roll
back an alias, each change recorded with who and when."""

from __future__ import annotations

import shutil

from fastapi.testclient import TestClient

from domainfit.model_registry import ModelRegistry
from domainfit.serving.auth import KeyStore
from domainfit.studio import StudioSettings, create_studio

KEY = "dfk_" + "m" * 43


def test_promote_and_roll_back_with_who_and_when(workdir, tmp_path, tiny_bundle):
    shutil.copytree(tiny_bundle, workdir / "runs" / "tickets")
    uri = f"sqlite:///{tmp_path}/registry.db"
    registry = ModelRegistry(uri)
    for _ in range(2):
        registry.push(workdir / "runs" / "tickets", "intents")
    app = create_studio(StudioSettings(workdir=workdir, registry=uri, host="0.0.0.0"),
                        keys=KeyStore.from_sources(env=f"{KEY}"))
    headers = {"authorization": f"Bearer {KEY}", "accept": "text/html"}
    api = {"authorization": f"Bearer {KEY}"}
    with TestClient(app) as c:
        page = c.get("/models", headers=headers).text
        assert "<code>runs/tickets</code>" in page and 'data-version="intents/1"' in page and 'data-version="intents/2"' in page
        assert 'data-report="/models/report?bundle=runs/tickets"' in page
        assert "Self-contained" in c.get("/models/report?bundle=runs/tickets", headers=headers).text
        assert c.post("/models/alias", json={"action": "promote", "name": "intents", "version": 1}, headers=api).json()["version"] == 1
        assert c.post("/models/alias", json={"action": "promote", "name": "intents", "version": 2}, headers=api).json()["previous"] == 1
        assert c.post("/models/alias", json={"action": "rollback", "name": "intents"}, headers=api).json()["to"] == 1
        assert registry.version_of("models:/intents@champion") == ("intents", 1)
        actions = app.state.store.actions()
        assert [a["action"] for a in actions] == ["rollback", "promote", "promote"]
        assert len({a["who"] for a in actions}) == 1 and actions[0]["who"] != "local user"  # the key that did it
        page = c.get("/models", headers=headers).text
        assert page.count('class="action"') == 3 and "UTC" in page
        bad = c.post("/models/alias", json={"action": "promote", "name": "intents", "version": 9}, headers=api)
        assert bad.status_code == 422 and "9" in bad.json()["error"]["message"]
