"""The dashboard: the catalogues are complete, and in a real browser the page shows the keys, the charts and the
alerts in English and Chinese, and a false alarm clicked is stored and shown in the backtest report."""

import json
import re
from pathlib import Path

import pytest

from domainfit.apps.watch import dashboard
from domainfit.apps.watch.config import load_watch_config
from domainfit.apps.watch.replay import refresh_report, replay
from domainfit.apps.watch.server import watch_app
from domainfit.apps.watch.store import WatchStore
from tests.conftest import live_server
from tests.unit.watch.streams import make_stream

SOURCE = Path(dashboard.__file__).read_text(encoding="utf-8")


def test_catalogues_are_complete():
    en, zh = dashboard.catalogue("en"), dashboard.catalogue("zh")
    assert set(en) == set(zh)
    assert all(v.strip() for v in [*en.values(), *zh.values()])
    used = set(re.findall(r't\["(\w+)"\]', SOURCE)) | {f"kind_{k}" for k in ("negative_share", "volume")} \
        | {f"status_{s}" for s in ("open", "closed")}
    assert used <= set(en), used - set(en)
    assert "{seconds}" in en["refresh_every"] and "{seconds}" in zh["refresh_every"]
    assert re.search(r"[\u4e00-\u9fff]", zh["title"])


@pytest.fixture()
def replayed(tmp_path, watch_yaml):
    cfg = load_watch_config(watch_yaml)
    out = tmp_path / "out"
    replay(cfg, None, out, records=make_stream(30, 40, surge=(26, 29), reposts=2))
    return cfg.model_copy(update={"store": str(out / "watch.db")}), out


def test_dashboard_in_a_real_browser(replayed, chromium_page):
    cfg, out = replayed
    store = WatchStore(cfg.store)
    alerts = [a for a in store.alerts() if a["kind"] == "negative_share" and a["key"] == "Alpha"]
    assert alerts
    with live_server(watch_app(cfg, poll_seconds=1.0)) as port:
        page = chromium_page
        page.goto(f"http://127.0.0.1:{port}/watch/?lang=zh")
        assert page.title() == "金融舆情监测"
        assert page.locator("section.key h2").first.inner_text() == "全部条目"
        alpha = page.locator('section.key[data-key="Alpha"]')
        assert alpha.locator("svg.chart rect.alert-span").count() >= 1  # the alert is shaded on its chart
        assert "负面占比激增" in alpha.locator("tr.alert").first.inner_text()
        assert alpha.locator("tr.stories li").count() >= 1
        alpha.locator("button.false-alarm").first.click()
        alpha.locator(".marked").first.wait_for()
        assert alpha.locator(".marked").first.inner_text() == "已标记为误报"
        page.wait_for_timeout(1500)  # a poll ran: the chart was redrawn from the server, the page still whole
        assert alpha.locator("svg.chart").count() == 1
        page.goto(f"http://127.0.0.1:{port}/watch/?lang=en")
        assert page.title() == "News and opinion monitor"
        assert "Marked as a false alarm" in page.locator('section.key[data-key="Alpha"]').inner_text()
    marked = [i for i, f in store.feedback().items() if f["verdict"] == "false_alarm"]
    assert len(marked) == 1 and marked[0] in {a["alert_id"] for a in alerts}
    refresh_report(out)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "1 of" in html and "false_alarm" in html


def test_feedback_on_an_unknown_alert_is_a_404(replayed):
    from fastapi.testclient import TestClient

    cfg, _ = replayed
    client = TestClient(watch_app(cfg))
    answer = client.post("/watch/api/feedback", json={"alert_id": "nope"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "unknown_alert"
    state = client.get("/watch/api/state").json()
    assert state["keys"][0] == "all" and state["items"] > 0
    assert client.get("/watch/api/chart.svg", params={"key": "Alpha"}).text.startswith("<svg")
    assert json.loads(client.get("/watch/api/alerts").text)["alerts"]
