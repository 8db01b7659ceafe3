"""The chat page: shipped in the package (no CDN), a catalogue per language with the same keys, and in a real
headless Chromium: a customer's message answered; a hand-off landing in the agent's queue, corrected in one click."""

from __future__ import annotations

import re

from domainfit.apps.assistant.page import LANGUAGES, PAGE_FILES, read_catalogue
from domainfit.monitor.log import PredictionLog
from tests.conftest import live_server


def test_every_string_is_in_both_languages_and_every_key_used_exists():
    from importlib.resources import files

    catalogues = {lang: read_catalogue(lang) for lang in LANGUAGES}
    assert set(catalogues["en"]) == set(catalogues["zh"])
    assert all(v.strip() for c in catalogues.values() for v in c.values())
    page = files("domainfit.apps.assistant").joinpath("page")
    html, script = page.joinpath("index.html").read_text(), page.joinpath("app.js").read_text()
    used = set(re.findall(r'data-i18n(?:-placeholder)?="([^"]+)"', html)) | set(re.findall(r'\bt\("([a-z_.]+)"[,)]', script))
    assert used and used <= set(catalogues["en"])
    from domainfit.apps.assistant.decision import HANDOFF_REASONS

    assert {f"reason.{r}" for r in HANDOFF_REASONS} | {f"source.{s}" for s in ("intent", "faq", "handoff", "clarify")} \
        <= set(catalogues["en"])  # the keys the script builds: t("reason." + ...)
    assert not re.search(r"(src|href)=\"(https?:)?//", html)  # nothing from another host
    for name in PAGE_FILES:
        assert page.joinpath(*name.split("/")).is_file(), name


def test_chat_and_agent_queue_in_a_real_browser(chromium_page, assistant_yaml):
    from domainfit.apps.assistant.service import create_assist_app

    page = chromium_page
    with live_server(create_assist_app(assistant_yaml)) as port:
        page.goto(f"http://127.0.0.1:{port}/chat/")
        page.wait_for_selector("body[data-ready=true]")
        assert page.text_content("h1") == "Support assistant"  # the browser's language: en-US
        page.fill("#message-input", "card stolen blocked 4111111111111111")  # one token: see test_service.CARD
        page.click("#send")
        reply = page.wait_for_selector("#messages li.assistant")
        assert "Your card ending 1111 is blocked" in reply.text_content()
        page.fill("#message-input", "i want a human")
        page.click("#send")
        page.wait_for_selector("#messages li.assistant >> nth=1")
        assert page.locator("#messages li.assistant").nth(1).get_attribute("data-source") == "handoff"

        page.select_option("#language", "zh")  # switchable; the agent view in Chinese
        page.wait_for_function("document.querySelector('h1').textContent === '智能客服'")
        page.click("#tab-agent")
        entry = page.wait_for_selector("#queue li.handoff")
        assert "客户要求转人工" in entry.text_content() and "i want a human" in entry.text_content()
        entry_id = entry.get_attribute("data-id")
        page.select_option(f"li.handoff[data-id='{entry_id}'] .intent-select", "loan")
        page.click(f"li.handoff[data-id='{entry_id}'] .correct")
        page.wait_for_selector(f"li.handoff[data-id='{entry_id}'] .corrected:has-text('loan')")
    with PredictionLog(assistant_yaml.parent / "assistant.db", create=False) as plog:
        corrections = plog.corrections()
    assert corrections["label"].tolist() == ["loan"] and corrections["text"].tolist() == ["i want a human"]
