"""The Chinese catalog is complete and compiled, and the CLI speaks Chinese when DOMAINFIT_LANG or the locale says so."""

from __future__ import annotations

import ast
import gettext
import re
import string
from pathlib import Path

import pytest

from domainfit import i18n

ROOT = Path(__file__).resolve().parents[2]
PO = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "domainfit.po"
MO = PO.with_suffix(".mo")


def _extracted() -> set[str]:
    """Every `_("...")` message in the package, extracted afresh as `make i18n` extracts them."""
    from babel.messages.extract import extract_from_dir

    method_map = [("src/domainfit/**.py", "python")]
    return {msg for _file, _line, msg, _comments, _ctx in extract_from_dir(str(ROOT), method_map, keywords={"_": None})
            if msg}


def _catalog():
    from babel.messages.pofile import read_po

    with PO.open("rb") as f:
        return read_po(f)


def test_every_message_has_a_chinese_translation():
    catalog = _catalog()
    ids = _extracted()
    assert len(ids) > 30  # the CLI's headings, progress labels, error rendering and hints are marked
    untranslated = sorted(m for m in ids if not (catalog.get(m) and catalog.get(m).string and not catalog.get(m).fuzzy))
    assert not untranslated, f"no Chinese for {untranslated}: run `make i18n` and translate them in {PO}"
    for m in ids:  # the same {fields}, so .format() fills the translation as it fills the English
        assert set(re.findall(r"{(\w+)}", m)) == set(re.findall(r"{(\w+)}", catalog.get(m).string)), m


def test_the_compiled_catalog_matches_the_po_file():
    mo = gettext.GNUTranslations(MO.open("rb"))
    for message in _catalog():
        if message.id:
            assert mo.gettext(message.id) == message.string, f"{MO} is stale: run `make i18n`"


@pytest.mark.parametrize(("env", "lang"), [
    ({"DOMAINFIT_LANG": "zh"}, "zh"), ({"LANG": "zh_CN.UTF-8"}, "zh"), ({"LC_ALL": "zh_TW.UTF-8"}, "zh"),
    ({"LANG": "en_US.UTF-8"}, "en"), ({"DOMAINFIT_LANG": "en", "LANG": "zh_CN.UTF-8"}, "en"), ({}, "en"),
])
def test_language_from_the_environment(monkeypatch, env, lang):
    for var in ("DOMAINFIT_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert i18n.language() == lang
    assert i18n._("how to fix") == ("解决办法" if lang == "zh" else "how to fix")


def test_the_cli_speaks_chinese(monkeypatch, tmp_path, capsys, tiny_backbone):
    from typer.testing import CliRunner

    from domainfit.cli.main import app, main

    data = tmp_path / "d.csv"
    data.write_text("text,label\nhello there,a\n,b\nhow are you,a\nfine thanks,b\n", encoding="utf-8")
    monkeypatch.setenv("DOMAINFIT_LANG", "zh")
    r = CliRunner().invoke(app, ["data", "check", str(data), "--model", str(tiny_backbone)])
    assert "列：文本 = " in r.output and "数据检查" in r.output and "级别" in r.output
    monkeypatch.setattr("sys.argv", ["domainfit", "predict", str(tmp_path / "nothing")])
    with pytest.raises(SystemExit):
        main()
    err = capsys.readouterr().err
    assert err.startswith("错误: ") and "解决办法" in err and "--debug" in err


def test_the_newer_commands_speak_chinese_too(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from domainfit.cli.main import app
    from domainfit.cli.ui import leaderboard_table, retrain_table

    monkeypatch.setenv("DOMAINFIT_LANG", "zh")
    r = CliRunner().invoke(app, ["ls", "objectives"])
    assert r.exit_code == 0 and "预训练目标" in r.output and "名称" in r.output and "说明" in r.output
    r = CliRunner().invoke(app, ["pretrain", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "o")])
    assert "找不到" in str(r.exception) and "每行一条文本" in r.exception.hint  # the error and its hint
    r = CliRunner().invoke(app, ["tune", str(tmp_path / "c.yaml"), "--timeout", "soon"])
    assert "无法读取" in str(r.exception)
    board = leaderboard_table([{"method": "head", "shots": 8, "seeds": 3, "accuracy": 0.5}], width=200).table(200)
    assert [c.header for c in board.columns][:3] == ["方法", "样本数", "随机种子数"]
    scores = {"old": {"accuracy": 0.9, "macro_f1": 0.8}, "new": {"accuracy": 0.7, "macro_f1": 0.6}}
    table = retrain_table({"rows": {"replayed": 10, "old_train": 20, "new_train": 5, "old_test": 4, "new_test": 3},
                           "scores": {"champion": scores, "challenger": scores}, "new_labels": []})
    assert "现役模型与挑战者对比" in table.title and table.columns[0].header == "模型"


def _translated_calls():
    """(file, `_()` call, the `.format()` call that fills it or None) for every `_("...")` in the package."""
    for path in sorted((ROOT / "src" / "domainfit").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        filled = {}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format"
                    and isinstance(node.func.value, (ast.Call, ast.IfExp))):
                receiver = node.func.value  # _("..").format(), or (_("a") if c else _("b")).format()
                for branch in (receiver.body, receiver.orelse) if isinstance(receiver, ast.IfExp) else (receiver,):
                    filled[id(branch)] = node
        in_fstring = {id(inner) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for inner in ast.walk(node)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
                # Babel's extraction does not look inside f-strings: such a message never reaches the catalog
                assert id(node) not in in_fstring, f"{path.relative_to(ROOT)}:{node.lineno}: _() inside an f-string"
                yield path.relative_to(ROOT), node, filled.get(id(node))


def test_every_translated_message_is_a_literal_filled_with_the_fields_it_names():
    """A KeyError in an error message surfaces only when the error is raised: check every `_()` statically."""
    checked = 0
    for path, call, fmt in _translated_calls():
        where = f"{path}:{call.lineno}"
        assert len(call.args) == 1 and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str), \
            f"{where}: _() takes one string literal (an f-string never matches the catalog: use _('.. {{x}} ..').format(x=...))"
        text = call.args[0].value
        if fmt is None:  # shown as written: braces are text there (`{detector: NAME}`), but not a bare {field}
            bare = re.findall(r"{(\w+)}", text)
            assert not bare, f"{where}: {bare} are never filled: add .format(...)"
            continue
        fields = {name.split(".")[0].split("[")[0] for _t, name, _s, _c in string.Formatter().parse(text) if name is not None}
        assert "" not in fields and not any(f.isdigit() for f in fields), f"{where}: name every field ({{name}}, not {{}})"
        given = {k.arg for k in fmt.keywords}
        if None not in given:  # `**values` passes what it holds: not checkable here
            assert fields == given, f"{where}: the message names {sorted(fields)}, .format() gives {sorted(given)}"
            checked += 1
    assert checked > 20


def test_a_config_error_says_where_to_fix_it_in_the_users_language(monkeypatch, tmp_path):
    from domainfit.config import load_config
    from domainfit.errors import ConfigError

    config = tmp_path / "c.yaml"
    config.write_text("data: {train: t.csv}\ntraining: {epoch: 3, lr: -1}\n", encoding="utf-8")
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DOMAINFIT_LANG", "en")
    with pytest.raises(ConfigError) as en:
        load_config(config)
    assert dict(en.value.problems)["training.lr"] == "Input should be greater than 0"  # pydantic's own words
    assert en.value.hint.startswith(f"edit these keys in {config} or pass --set")
    # the hint follows the keys: options on the command line, a YAML file's keys, dotted training keys, or none
    assert "--help" in ConfigError([("--port", "x")]).hint and "--set" not in ConfigError([("--port", "x")]).hint
    assert ConfigError([("keys", "x")], source="keys.yaml").hint == "edit these keys in keys.yaml"
    assert "--set key=value" in ConfigError([("task_options.stride", "x")]).hint
    assert ConfigError([("port", "x")], source="serve options").hint is None
    monkeypatch.setenv("DOMAINFIT_LANG", "zh")
    with pytest.raises(ConfigError) as zh:
        load_config(config)
    problems = dict(zh.value.problems)
    assert problems["training.lr"] == "应大于 0" and problems["training.epoch"].startswith("未知的键")
    assert "'epochs'" in problems["training.epoch"]  # the suggestion, a key, stays as written
    assert str(zh.value).startswith("配置中有 2 处问题") and zh.value.hint.startswith(f"在 {config} 中修改这些键")


def test_the_languages_of_two_requests_do_not_mix(monkeypatch):
    import threading

    monkeypatch.setenv("DOMAINFIT_LANG", "en")
    seen = {}

    def speak(lang):
        with i18n.speaking(lang):
            seen[lang] = i18n._("how to fix")

    threads = [threading.Thread(target=speak, args=(lang,)) for lang in ("zh", "en")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"zh": "解决办法", "en": "how to fix"} and i18n._("how to fix") == "how to fix"
    with i18n.speaking("zh"):
        assert i18n.language() == "zh"
    assert i18n.language() == "en"


def test_the_http_apis_answer_in_english_whatever_the_servers_locale(monkeypatch):
    """Clients read the error bodies: a message of domainfit's own layers does not change language with the server's
    DOMAINFIT_LANG (the CLI that started it may well be Chinese)."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from domainfit.serving.edge import RequestContext
    from domainfit.serving.telemetry import ServiceMetrics

    monkeypatch.setenv("DOMAINFIT_LANG", "zh")
    app = FastAPI()
    app.get("/hint")(lambda: {"hint": i18n._("how to fix")})
    app.add_middleware(RequestContext, metrics=ServiceMetrics(), max_body=1000, max_headers=50, max_header_bytes=8000)
    with TestClient(app) as client:
        assert client.get("/hint").json() == {"hint": "how to fix"}
    assert i18n._("how to fix") == "解决办法"  # the process itself still speaks Chinese


def test_progress_markers_read_in_the_users_language(monkeypatch):
    from domainfit.cli import ui

    lines = []
    monkeypatch.setattr(ui.console, "print", lambda text, **_kw: lines.append(text))
    monkeypatch.setenv("DOMAINFIT_LANG", "zh")
    reporter = ui.RichReporter()
    reporter.log("[note] x")
    reporter.log("[warning] y")
    monkeypatch.setenv("DOMAINFIT_LANG", "en")
    reporter.log("[note] x")
    assert lines == ["备注：x", "警告: y", "[note] x"]


def test_no_function_that_translates_rebinds_the_underscore():
    """`for _ in ...` or `a, _ = ...` in a function that also calls `_()` makes `_` a local: an UnboundLocalError or a
    call of a string, raised only when the (error) message is made."""
    def own_scope(fn):
        for child in ast.iter_child_nodes(fn):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                yield child
                yield from own_scope(child)

    bad = []
    for path in sorted((ROOT / "src" / "domainfit").rglob("*.py")):
        for fn in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            params = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs, fn.args.vararg,
                                      fn.args.kwarg) if a is not None]
            binds = "_" in params or any(isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Store)
                                         for n in own_scope(fn))
            calls = any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "_" for n in ast.walk(fn))
            if binds and calls:
                bad.append(f"{path.relative_to(ROOT)}:{fn.lineno}")
    assert not bad, f"rename the throwaway `_` (e.g. `_unused`) in {bad}"
