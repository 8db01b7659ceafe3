"""The studio's Compare, Monitor and compress pages, and the redacted copy, in a real headless Chromium: a compare job
whose learning curve fills in as runs finish and ends with the recommendation and compare's report; a prediction
log's drift over time with its alerts, a correction made in the page landing in the log's feedback table and in the
corrections export `domainfit retrain --new` reads; a bundle compressed as a job with the parity gate's verdict (passed,
then refused); the data check's redacted download.

Set DOMAINFIT_STUDIO_SCREENSHOTS=docs/img to write each page's screenshot there (docs/studio.md shows them)."""

from __future__ import annotations

import re
import shutil

import pandas as pd

import domainfit
from domainfit import api
from domainfit.monitor.log import PredictionLog
from domainfit.studio import StudioSettings, create_studio
from tests.conftest import FILLER, INTENTS, live_server, make_rows, write_csv
from tests.unit.studio.test_studio_browser import _shot

DAY = 86400.0


def test_compare_job_draws_the_learning_curve_live_and_recommends(chromium_page, workdir, tiny_backbone):
    page = chromium_page
    app = create_studio(StudioSettings(workdir=workdir, backbone=str(tiny_backbone)))
    with live_server(app) as port:
        page.goto(f"http://127.0.0.1:{port}/compare?data=tickets.csv")
        assert page.input_value("select[name=data]") == "tickets.csv"
        assert page.is_checked("input[name=methods][value=tfidf]") and page.is_checked("input[name=methods][value=head]")
        page.fill("input[name=shots]", "4,zero")  # refused under compare's own flag, before any job
        page.click("#start-compare")
        problem = page.locator('.field[data-key="--shots"] .problem-text')
        problem.wait_for(state="visible")
        assert "'zero' is not a positive number" in problem.inner_text() and app.state.store.all() == []
        page.fill("input[name=shots]", "4,all")
        page.fill("input[name=seeds]", "1")
        page.fill("textarea[name=settings]", "model.max_length=32\ntraining.epochs=1")
        _shot(page, "compare")
        page.click("#start-compare")
        page.wait_for_url(re.compile(r"/jobs/\w+$"))
        # a point is on the curve while the job still runs: tfidf@4 has landed, head@4 is training
        page.wait_for_function("() => { const s = document.querySelector('#curve'); const j = document.querySelector('#job');"
                               " return s && Number(s.dataset.points) >= 1 && Number(s.dataset.points) < 4"
                               " && j.dataset.state === 'running'; }", timeout=240_000)
        page.locator('#job[data-final="yes"]').wait_for(timeout=240_000)
        assert page.get_attribute("#job", "data-state") == "done", page.inner_text("#job")
        assert page.locator("#curve circle.point").count() == 4  # 2 methods x 2 budgets
        assert set(page.locator("#curve circle.point").evaluate_all("els => els.map(e => e.dataset.method)")) == {"tfidf", "head"}
        recommendation = page.inner_text("#recommendation")
        assert re.search(r"Recommended: (tfidf|head)", recommendation) and "at all examples per class" in recommendation
        _shot(page, "compare-job")
        page.click("#compare-report")
        assert "Recommendation" in page.content() and "learning curve" in page.content().lower()
    assert (workdir / "runs" / "compare-tickets" / "leaderboard.csv").is_file()


def _log(bundle, path, texts, ts):
    preds = domainfit.load(bundle).predict(texts)
    with PredictionLog(path) as log:  # what `domainfit serve --prediction-log` writes
        for i in range(0, len(texts), 10):
            log.append([(f"req-{ts:.0f}-{i}", "tickets", "1", texts[i:i + 10], preds[i:i + 10])], ts=ts + i)


def test_monitor_shows_drift_over_time_alerts_and_takes_corrections(chromium_page, workdir, tiny_bundle):
    shutil.copytree(tiny_bundle, workdir / "runs" / "tickets")
    bundle, log = workdir / "runs" / "tickets", workdir / "serve-log.db"
    start = 1_790_000_000.0
    for day in range(2):  # two quiet days: the training distribution
        _log(bundle, log, [text for text, _ in make_rows(30, seed=20 + day)], start + day * DAY)
    words = INTENTS["card"]  # then a day about cards only, in longer texts
    shifted = [" ".join([words[i % len(words)], words[(i + 1) % len(words)], *FILLER[: 6 + i % 5], "again and again"]) for i in range(120)]
    _log(bundle, log, shifted, start + 2 * DAY)

    page = chromium_page
    with live_server(create_studio(StudioSettings(workdir=workdir))) as port:
        page.goto(f"http://127.0.0.1:{port}/monitor")
        assert page.locator("select[name=log] option", has_text="serve-log.db").count() == 1
        page.goto(f"http://127.0.0.1:{port}/monitor?log=serve-log.db&bundle=runs/tickets&windows=3&min_rows=40",
                  timeout=240_000)  # three windows judged by `domainfit monitor` while the page is made
        statuses = page.locator("tr.window").evaluate_all("els => els.map(e => e.dataset.status)")
        assert len(statuses) == 3 and statuses[0] == "ok" and statuses[2] == "alert", statuses
        labels_chart = page.locator('figure.chart[data-check="labels"] circle.dot')
        assert labels_chart.count() == 3 and "alert" in (labels_chart.nth(2).get_attribute("class") or "")
        assert page.locator('tr.alert[data-check="labels"]').count() == 1
        _shot(page, "monitor")

        row = page.locator("tr.logged-prediction").first
        request_id, item = row.get_attribute("data-request"), int(row.get_attribute("data-item"))
        predicted = row.locator("td").nth(1).inner_text().strip()
        right = next(label for label in INTENTS if label != predicted)
        row.locator("select[name=label]").select_option(right)
        row.locator("button").click()
        row.locator("form.correct[data-saved=yes]").wait_for()
        with api.prediction_log(log) as plog:
            fixed = plog.corrections()
        assert fixed[["request_id", "item", "label", "source"]].values.tolist() == [[request_id, item, right, "studio"]]
        with page.expect_download() as download:
            page.click("#export-corrections")
        exported = pd.read_csv(download.value.path())
        assert exported[["label", "predicted"]].values.tolist() == [[right, predicted]] and exported["text"].iloc[0]
        page.goto(f"http://127.0.0.1:{port}/monitor?log=serve-log.db&bundle=runs/tickets&windows=3&min_rows=40",
                  timeout=240_000)  # three windows judged by `domainfit monitor` while the page is made
        assert "1 corrected" in page.inner_text("main")


def test_compress_shows_the_parity_verdict_and_data_gives_a_redacted_copy(chromium_page, workdir, tiny_bundle, tiny_backbone):
    shutil.copytree(tiny_bundle, workdir / "runs" / "tickets")
    write_csv(workdir / "pii.csv", [("call me on 13812345678 about my card", "card"),
                                    ("mail jane.doe@example.com about the loan", "loan"), *make_rows(10, seed=5)])
    page = chromium_page
    with live_server(create_studio(StudioSettings(workdir=workdir, backbone=str(tiny_backbone)))) as port:
        base = f"http://127.0.0.1:{port}"
        for tolerance, passed in (("1", "yes"), ("-1", "no")):  # a variant that loses less than -1 point: refused
            page.goto(f"{base}/models")
            form = page.locator('form.compress[data-bundle="runs/tickets"]')
            form.locator("select[name=variant]").select_option("onnx:none")
            form.locator("input[name=tolerance]").fill(tolerance)
            form.locator("button").click()
            page.wait_for_url(re.compile(r"/jobs/\w+$"))
            page.locator('#job[data-final="yes"]').wait_for(timeout=240_000)
            assert page.get_attribute("#job", "data-state") == "done", page.inner_text("#job")
            assert page.get_attribute("#verdict", "data-passed") == passed, page.inner_text("#verdict")
            if passed == "yes":
                assert "onnx-fp32 passed the parity gate" in page.inner_text("#verdict")
                assert page.locator("table.parity tr").count() >= 2
                _shot(page, "compress")
            else:
                assert "refused" in page.inner_text("#verdict") and "more than the tolerance" in page.inner_text("#verdict")
        page.goto(f"{base}/models")
        assert page.locator("td.variants .badge", has_text="onnx-fp32").count() == 1
        assert domainfit.load(workdir / "runs" / "tickets", variant="onnx-fp32").predict(["card"])[0]["label"]

        page.goto(f"{base}/data/check?file=pii.csv")
        with page.expect_download() as download:
            page.click("#redacted")
        assert download.value.suggested_filename == "pii.redacted.csv"
        text = download.value.path().read_text(encoding="utf-8-sig")
        assert "13812345678" not in text and "jane.doe@example.com" not in text and "[PHONE]" in text and "[EMAIL]" in text
