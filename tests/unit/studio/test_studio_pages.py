"""The studio without a browser: the Train form refuses what the CLI refuses under the same key, every UI string
exists in English and Chinese, the language follows the browser, and API keys guard a non-loopback bind."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from domainfit.cli.main import app as cli
from domainfit.errors import ConfigError
from domainfit.monitor.drift import STATUSES
from domainfit.serving.auth import KeyStore
from domainfit.studio import StudioSettings, create_studio
from domainfit.studio.forms import form_fields
from domainfit.studio.i18n import LANGUAGES, catalogue, choose_language
from domainfit.studio.worker import RUNNERS

KEY = "dfk_" + "k" * 43


@pytest.fixture()
def studio(workdir):
    with TestClient(create_studio(StudioSettings(workdir=workdir))) as client:
        yield client


@pytest.mark.parametrize("form, cli_args", [
    ({"training.epochs": "-1"}, ["--set", "training.epochs=-1"]),
    ({"method": "hed"}, ["--method", "hed"]),
    ({"model.pooling": "max"}, ["--set", "model.pooling=max"]),
    ({"training.batch_size": "lots"}, ["--set", "training.batch_size=lots"]),
    ({"method": "head", "method_options.C": "[-1]", "data.val_size": "0.9"}, ["--method", "head", "--set", "method_options.C=[-1]",
                                                                              "--set", "data.val_size=0.9"]),
])
def test_the_form_refuses_what_the_cli_refuses_under_the_same_key(studio, form, cli_args):
    problems = studio.post("/train/validate", json={"data.train": "tickets.csv", **form}).json()["problems"]
    result = CliRunner().invoke(cli, ["train", "tickets.csv", *cli_args])
    assert isinstance(result.exception, ConfigError), result.output
    cli_keys = sorted(k for k, _ in result.exception.problems)
    assert sorted(k for k, _ in problems) == cli_keys and cli_keys
    assert sorted(m for _, m in problems) == sorted(m for _, m in result.exception.problems)
    r = studio.post("/train", json={"data.train": "tickets.csv", **form})
    assert r.status_code == 422 and studio.app.state.store.all() == []  # no job for an invalid config


def test_a_valid_form_has_no_problems_and_paths_stay_in_the_working_folder(studio):
    assert studio.post("/train/validate", json={"data.train": "tickets.csv", "method": "head"}).json() == {"problems": []}
    r = studio.post("/train/validate", json={"data.train": "../../etc/passwd"})
    assert r.status_code == 422 and "working folder" in r.json()["error"]["message"]
    assert studio.get("/data/check?file=../outside.csv").status_code == 422


def test_errors_read_in_the_language_of_the_page(studio, monkeypatch):
    """domainfit's own messages (a config problem, a path refused) follow the page's cookie, not the server's locale,
    and one browser's language does not leak into another's request."""
    monkeypatch.setenv("DOMAINFIT_LANG", "en")
    zh = studio.post("/train/validate", json={"data.train": "../../etc/passwd"}, cookies={"lang": "zh"})
    assert zh.status_code == 422 and "工作文件夹" in zh.json()["error"]["message"]
    problems = dict(studio.post("/train/validate", json={"data.train": "tickets.csv", "training.epochs": "-1"},
                                cookies={"lang": "zh"}).json()["problems"])
    assert problems["training.epochs"] == "应大于 0"
    en = studio.post("/train/validate", json={"data.train": "../../etc/passwd"}, cookies={"lang": "en"})
    assert "working folder" in en.json()["error"]["message"]


def test_the_form_is_generated_from_the_schema(studio):
    html = studio.get("/train?data=tickets.csv&method=head", headers={"accept": "text/html"}).text
    for field in form_fields():
        assert f'data-key="{field.key}"' in html
    assert '<option value="integrated_gradients"' not in html and '<option value="head" selected>' in html
    assert "passes over the training data" in html  # the schema's description is the help text


def test_every_string_is_in_every_language():
    keys = {lang: set(catalogue(lang)) for lang in LANGUAGES}
    assert keys["en"] == keys["zh"]
    for lang in LANGUAGES:
        assert all(v.strip() for v in catalogue(lang).values()), lang
    for key in keys["en"]:  # the same placeholders in both
        assert set(re.findall(r"{\w+}", catalogue("en")[key])) == set(re.findall(r"{\w+}", catalogue("zh")[key])), key
    used = set()
    for template in resources.files("domainfit.studio").joinpath("templates").iterdir():
        used |= set(re.findall(r"(?<![\w.])t\('([a-z_]+\.[a-z_]+)'", template.read_text(encoding="utf-8")))
    used |= {f"state.{s}" for s in ("queued", "running", "done", "failed", "cancelled")}
    used |= {f"severity.{s}" for s in ("error", "warning", "info")} | {f"lang.{code}" for code in LANGUAGES}
    used |= {f"drift.{s}" for s in STATUSES} | {f"kind.{k}" for k in RUNNERS}
    assert used - keys["en"] == set()
    assert any(re.search(r"[\u4e00-\u9fff]", v) for v in catalogue("zh").values())


def test_the_language_follows_the_browser_and_the_switch(studio):
    assert choose_language(None, "zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert choose_language(None, "fr-FR,en;q=0.5,zh;q=0.4") == "en"
    assert choose_language("en", "zh-CN") == "en" and choose_language(None, None) == "en"
    zh = studio.get("/data", headers={"accept": "text/html", "accept-language": "zh-CN,zh;q=0.9"}).text
    assert '<html lang="zh-CN">' in zh and "上传文件" in zh
    switched = studio.get("/lang/en", headers={"referer": "http://testserver/train?method=head"}, follow_redirects=False)
    assert switched.status_code == 303 and "lang=en" in switched.headers["set-cookie"]
    assert switched.headers["location"] == "/train?method=head"
    elsewhere = studio.get("/lang/zh", headers={"referer": "https://evil.example/"}, follow_redirects=False)
    assert elsewhere.headers["location"] == "/"


def test_a_non_loopback_bind_needs_keys(workdir):
    with pytest.raises(ConfigError, match="API keys"):
        create_studio(StudioSettings(workdir=workdir, host="0.0.0.0"), keys=KeyStore([]))
    app = create_studio(StudioSettings(workdir=workdir, host="0.0.0.0"), keys=KeyStore.from_sources(env=KEY))
    with TestClient(app) as c:
        page = c.get("/data", headers={"accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login?next=/data")
        assert c.post("/train/validate", json={}).status_code == 401
        assert c.get("/login").status_code == 200 and c.get("/static/studio.js").status_code == 200
        assert c.get("/data", headers={"authorization": f"Bearer {KEY}"}).status_code == 200
        assert c.post("/login", json={"key": "dfk_wrong"}).status_code == 401
        assert c.post("/login", json={"key": KEY}).status_code == 200  # the browser's cookie from now on
        assert c.get("/data", headers={"accept": "text/html"}).status_code == 200
    with TestClient(create_studio(StudioSettings(workdir=workdir))) as local:  # loopback: no keys asked
        assert local.get("/data").status_code == 200


def test_pages_are_offline(studio):
    for url in ("/data", "/train", "/compare", "/jobs", "/models", "/try", "/monitor"):
        html = studio.get(url, headers={"accept": "text/html"}).text
        assert not re.search(r'(src|href)="(https?:)?//', html), url  # nothing fetched from elsewhere
    assert json.loads(studio.get("/healthz").text) == {"status": "ok"}


def test_the_command_serves_on_loopback_and_refuses_an_open_bind_without_keys(workdir):
    import os
    import subprocess
    import sys
    import time

    import httpx

    from tests.conftest import free_port

    env = {k: v for k, v in os.environ.items() if k != "DOMAINFIT_API_KEYS"}
    cmd = [sys.executable, "-m", "domainfit.cli.main", "studio", "--workdir", str(workdir)]
    refused = subprocess.run([*cmd, "--host", "0.0.0.0"], check=False, env=env, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "needs API keys" in refused.stderr and "Traceback" not in refused.stderr
    port = free_port()
    proc = subprocess.Popen([*cmd, "--port", str(port)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 90
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/data", timeout=5)
                break
            except httpx.HTTPError:
                assert time.time() < deadline and proc.poll() is None
                time.sleep(0.3)
        assert r.status_code == 200 and "domainfit studio" in r.text
    finally:
        proc.terminate()
        proc.wait(timeout=30)
