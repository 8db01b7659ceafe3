"""watch.yaml: every problem at once, each named by its key."""

import pytest
import yaml

from domainfit.apps.watch.config import load_watch_config, parse_duration
from domainfit.errors import ConfigError


def test_durations():
    assert parse_duration("15m") == 900 and parse_duration("2h") == 7200 and parse_duration("1d") == 86400
    assert parse_duration(30) == 30
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration("soon")


def test_a_good_config_loads_with_paths_next_to_the_file(watch_yaml, tiny_bundle):
    cfg = load_watch_config(watch_yaml)
    assert cfg.sentiment.bundle == tiny_bundle and cfg.windows[0].size == 3600 and cfg.windows[0].baseline == 86400
    assert [w.name for w in cfg.watchlist] == ["Alpha", "Beta"]


def test_every_problem_is_named_by_its_key(tmp_path, tiny_bundle):
    tree = {"sentiment": {"bundle": str(tiny_bundle), "negative_labels": ["angry"]},
            "topic": {"bundle": str(tmp_path / "nowhere")},
            "watchlist": [{"name": "A", "aliases": ["x", " "]}, {"name": "B", "aliases": ["X"]}],
            "windows": [{"size": "50m", "step": "15m"}, {"size": "soon"}],
            "detect": {"negative_share": {"alpha": 2}, "cooldwn": "1h"},
            "sinks": ["pager:me"]}
    path = tmp_path / "watch.yaml"
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_watch_config(path)
    keys = {k for k, _ in caught.value.problems}
    assert {"watchlist.0.aliases", "windows.0", "windows.1.size", "detect.negative_share.alpha", "detect.cooldwn"} <= keys
    assert any("did you mean 'cooldown'" in m for k, m in caught.value.problems if k == "detect.cooldwn")
    # the shape is checked first; once it is right, the files and sinks are checked, again all at once
    tree["watchlist"] = [{"name": "A", "aliases": ["x"]}, {"name": "B", "aliases": ["X"]}]
    tree["windows"], tree["detect"] = [{"size": "1h", "step": "15m"}], {}
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_watch_config(path)
    problems = dict(caught.value.problems)
    assert "watchlist.1.aliases.0" in problems and "already names 'A'" in problems["watchlist.1.aliases.0"]
    tree["watchlist"] = []
    path.write_text(yaml.safe_dump(tree), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_watch_config(path)
    problems = dict(caught.value.problems)
    assert "['angry'] not among the bundle's labels" in problems["sentiment.negative_labels"]
    assert "not a domainfit bundle" in problems["topic.bundle"]
    assert "unknown alert sink 'pager'" in problems["sinks.0"]


def test_the_example_config_is_valid():
    from tests.conftest import ROOT

    cfg = load_watch_config(ROOT / "examples" / "watch" / "watch.yaml", check=False)
    assert cfg.watchlist[0].aliases == ["招行", "CMB", "China Merchants Bank"] and cfg.ingest.http.port == 8700
    assert [w.size for w in cfg.windows] == [3600, 10800]


def test_the_app_is_registered(watch_yaml):
    from fastapi import APIRouter

    from domainfit.registry import apps

    app = apps.get("watch")
    assert app.name == "watch" and app.Config.__name__ == "WatchConfig"
    router = app.routes(watch_yaml)
    assert isinstance(router, APIRouter) and "/watch/" in {r.path for r in router.routes}
