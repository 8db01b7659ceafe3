"""The studio end to end in a real headless Chromium: upload the demo CSV, see a data issue, train `head` on the tiny
backbone, watch the job finish, try a prediction with its explanation, open the report; then the Chinese UI.

Set DOMAINFIT_STUDIO_SCREENSHOTS=docs/img to write each page's screenshot there (docs/studio.md shows them)."""

from __future__ import annotations

import os
import re
from pathlib import Path

from domainfit.studio import StudioSettings, create_studio
from tests.conftest import live_server


def _shot(page, name: str) -> None:
    folder = os.environ.get("DOMAINFIT_STUDIO_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"studio-{name}.png"), full_page=True)


def test_upload_check_train_try_and_report(chromium_page, workdir, tiny_backbone):
    page = chromium_page
    app = create_studio(StudioSettings(workdir=workdir, backbone=str(tiny_backbone)))
    with live_server(app) as port:
        base = f"http://127.0.0.1:{port}"
        page.goto(f"{base}/data")
        _shot(page, "data")
        page.set_input_files("#upload", str(workdir / "messy.csv"))  # the demo's messy CSV, uploaded
        page.wait_for_url(re.compile(r"/data/check\?file=uploads%2Fmessy\.csv"))
        duplicate = page.locator('tr.issue[data-code="duplicate"]')
        assert duplicate.count() == 1  # a data issue, with its rows behind a click
        duplicate.locator("summary").click()
        assert duplicate.locator("ul.where li").count() >= 1
        _shot(page, "check")

        page.click("#to-train")
        page.wait_for_url(re.compile(r"/train\?"))
        page.select_option("select[name=method]", "head")  # reloads the form with head's options
        page.wait_for_url(re.compile(r"method=head"))
        assert page.input_value("input[name='data.train']") == "uploads/messy.csv"
        page.fill("input[name='training.epochs']", "-2")  # flagged as typed, by the CLI's validation
        page.locator('.field[data-key="training.epochs"] .problem-text').wait_for(state="visible")
        assert "greater than 0" in page.inner_text('.field[data-key="training.epochs"] .problem-text')
        page.fill("input[name='training.epochs']", "1")
        page.fill("input[name='model.max_length']", "32")  # the tiny backbone has 64 positions
        page.locator('.field[data-key="training.epochs"] .problem-text').wait_for(state="hidden")
        _shot(page, "train")
        page.click("#start")
        page.wait_for_url(re.compile(r"/jobs/\w+$"))
        page.locator('#job[data-final="yes"]').wait_for(timeout=240_000)  # progress pushed by server-sent events
        assert page.get_attribute("#job", "data-state") == "done", page.inner_text("#job")
        page.locator("#open-report").wait_for()
        _shot(page, "job")

        page.click("#try-it")
        page.wait_for_url(re.compile(r"/try\?bundle="))
        page.fill("textarea[name=texts]", "my card was stolen yesterday\nhow do I send money abroad")
        page.click("#predict")
        page.locator(".prediction .explained mark").first.wait_for()
        assert page.locator("tr.prediction").count() == 2
        weights = page.locator(".prediction .explained mark").evaluate_all("els => els.map(e => e.dataset.weight)")
        assert weights and all(w is not None for w in weights)
        _shot(page, "try")

        page.goto(f"{base}/models")
        page.click("a[data-report]")
        frame = page.frame_locator("#report-frame")
        frame.locator("h1").first.wait_for()
        assert page.locator("tr", has_text="runs/messy-head").count() == 1
        _shot(page, "models")

        page.click('a[data-lang="zh"]')  # the switch: the whole UI in Chinese
        page.wait_for_load_state()
        assert page.inner_text("header nav") .split() == ["数据", "训练", "对比", "任务", "模型", "试用", "监控"]
        page.goto(f"{base}/jobs")
        assert "已完成" in page.inner_text("table")
        _shot(page, "jobs-zh")
