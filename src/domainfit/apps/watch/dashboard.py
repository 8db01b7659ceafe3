"""The dashboard page: per key, stories and negative share over time with the alerts shaded, the alerts with the
stories behind them and a "false alarm" button (stored, shown in the backtest report). Offline: the page, its style
and its few lines of script are served by the monitor itself, the strings come from the per-language catalogues in
`i18n/` (package data), the charts are server-rendered SVG that the page polls for."""

from __future__ import annotations

import json
from functools import cache
from html import escape
from importlib import resources

import pandas as pd

from domainfit.apps.watch.charts import chart_svg
from domainfit.apps.watch.store import WatchStore

__all__ = ["LANGUAGES", "catalogue", "chart_for", "page_html", "snapshot"]

LANGUAGES = ("en", "zh")


@cache
def catalogue(lang: str) -> dict[str, str]:
    text = resources.files("domainfit.apps.watch").joinpath("i18n", f"{lang}.json").read_text(encoding="utf-8")
    return json.loads(text)


def pick_language(requested: str | None, accept: str | None, allowed: list[str]) -> str:
    if requested in allowed:
        return requested
    for part in (accept or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in allowed:
            return code
    return allowed[0]


def snapshot(store: WatchStore, *, hours: float = 48.0) -> dict:
    """What the page shows: the stream clock, hourly stories and negatives per key over the last `hours`, alerts."""
    clock = store.get_state("clock")
    alerts = store.alerts()
    if clock is None:
        return {"clock": None, "keys": [], "buckets": {}, "alerts": alerts, "start": None, "end": None, "items": 0}
    end = (clock // 3600 + 1) * 3600
    start = end - hours * 3600
    rows = [r for r in store.rows_after(0, since=start) if r["story"] == r["item_id"]]
    buckets: dict[str, list[dict]] = {}
    if rows:
        frame = pd.DataFrame([{"t": r["time"] // 3600 * 3600, "negative": bool(r["negative"]), "key": k}
                              for r in rows for k in r["keys"]])
        for key, part in frame.groupby("key"):
            grouped = part.groupby("t")["negative"].agg(["size", "sum"])
            buckets[key] = [{"t": float(t), "stories": int(row["size"]), "negative": int(row["sum"])}
                            for t, row in grouped.iterrows()]
    order = sorted(buckets, key=lambda k: (k != "all", -sum(b["stories"] for b in buckets[k]), k))
    return {"clock": clock, "keys": order, "buckets": buckets, "alerts": alerts, "start": start, "end": end,
            "items": store.count_items()}


def chart_for(snap: dict, key: str, lang: str) -> str:
    if snap["clock"] is None or key not in snap["buckets"]:
        return ""
    spans = [{"start": a["window_start_s"], "end": a.get("closed_s") or a["window_end_s"], "kind": a["kind"]}
             for a in snap["alerts"] if a["key"] == key]
    return chart_svg(snap["buckets"][key], spans, start=snap["start"], end=snap["end"], labels=catalogue(lang))


_CSS = """
body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans CJK SC","Microsoft YaHei",sans-serif;color:#111827}
main{max-width:1100px;margin:0 auto;padding:20px 24px 48px}
h1{font-size:22px;margin:0}.muted{color:#6b7280}header{display:flex;justify-content:space-between;align-items:baseline}
section.key{border-top:1px solid #e5e7eb;margin-top:18px;padding-top:8px}
.chart{width:100%;height:auto}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #e5e7eb;vertical-align:top}
.open{color:#b91c1c;font-weight:600}button{font:inherit;padding:2px 8px;cursor:pointer}
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:10px;height:10px;margin-right:4px}
"""

_SCRIPT = """
const T = JSON.parse(document.getElementById('strings').textContent);
const LANG = document.documentElement.lang;
async function refresh(){
  try{
    const r = await fetch('api/state?lang=' + LANG); if(!r.ok) return;
    const s = await r.json();
    document.getElementById('clock').textContent = s.clock_text || '';
    document.getElementById('items').textContent = s.items;
    for(const key of s.keys){
      const box = document.querySelector('[data-chart="' + CSS.escape(key) + '"]');
      if(box){ const c = await fetch('api/chart.svg?lang=' + LANG + '&key=' + encodeURIComponent(key)); if(c.ok) box.innerHTML = await c.text(); }
      else { location.reload(); return; }
    }
    if(s.alert_count !== document.querySelectorAll('tr.alert').length) location.reload();
  }catch(e){}
}
async function falseAlarm(btn){
  const id = btn.dataset.alert;
  const r = await fetch('api/feedback', {method:'POST', headers:{'Content-Type':'application/json'},
    body: JSON.stringify({alert_id: id, verdict: 'false_alarm'})});
  const out = btn.parentElement;
  out.textContent = r.ok ? T.marked_false_alarm : T.feedback_failed;
  out.className = r.ok ? 'marked' : 'failed';
}
document.querySelectorAll('button.false-alarm').forEach(b => b.addEventListener('click', () => falseAlarm(b)));
setInterval(refresh, POLL_MS);
"""


def _fmt(a: dict, name: str) -> str:
    value = a.get(name)
    if value is None:
        return ""
    if name == "p_value":
        return f"{value:.2g}"
    return f"{value:.0%}" if a["kind"] == "negative_share" else f"{value:.1f}"


def page_html(snap: dict, lang: str, languages: list[str], feedback: dict, *, poll_seconds: float = 5.0) -> str:
    t = catalogue(lang)
    e = escape
    switch = " · ".join(f'<a href="?lang={code}" lang="{code}">{"English" if code == "en" else "中文"}</a>' for code in languages)
    clock = snap["clock"]
    clock_text = "" if clock is None else pd.Timestamp(clock, unit="s", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")
    head = (f'<header><div><h1>{e(t["title"])}</h1><p class="muted">{e(t["subtitle"])} · '
            f'{e(t["refresh_every"].format(seconds=int(poll_seconds)))}</p></div><nav>{e(t["language"])}: {switch}</nav></header>'
            f'<p>{e(t["clock"])}: <b id="clock">{e(clock_text)}</b> · {e(t["items"])}: <b id="items">{snap["items"]}</b></p>'
            f'<p class="legend"><span><i class="sw" style="background:#93c5fd"></i>{e(t["stories"])}</span>'
            f'<span><i class="sw" style="background:#b91c1c"></i>{e(t["negative_share"])}</span>'
            f'<span><i class="sw" style="background:#fecaca"></i>{e(t["kind_negative_share"])}</span>'
            f'<span><i class="sw" style="background:#bfdbfe"></i>{e(t["kind_volume"])}</span></p>')
    body = []
    for key in snap["keys"]:
        shown = t["all"] if key == "all" else key
        rows = []
        for a in [a for a in snap["alerts"] if a["key"] == key][::-1]:
            marked = feedback.get(a["alert_id"], {}).get("verdict") == "false_alarm"
            button = (f'<span class="marked">{e(t["marked_false_alarm"])}</span>' if marked else
                      f'<span><button class="false-alarm" data-alert="{e(a["alert_id"])}">{e(t["false_alarm"])}</button></span>')
            stories = "".join(f'<li>{e(s["text"][:200])} <span class="muted">({s["copies"]} {e(t["copies"])})</span></li>'
                              for s in a.get("stories", []))
            status = t["status_" + a["status"]]
            rows.append(f'<tr class="alert" data-id="{e(a["alert_id"])}"><td>{e(a["time"])}</td><td>{e(t["kind_" + a["kind"]])}</td>'
                        f'<td>{e(a["window"])}</td><td>{_fmt(a, "observed")}</td><td>{_fmt(a, "expected")}</td>'
                        f'<td>{_fmt(a, "p_value")}</td><td class="{a["status"]}">{e(status)}</td><td>{button}</td></tr>'
                        f'<tr class="stories"><td colspan="8"><b>{e(t["top_stories"])}</b><ul>{stories}</ul></td></tr>')
        table = (f'<table><thead><tr><th></th><th></th><th>{e(t["window"])}</th><th>{e(t["observed"])}</th>'
                 f'<th>{e(t["expected"])}</th><th>{e(t["p_value"])}</th><th></th><th></th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
                 if rows else f'<p class="muted">{e(t["no_alerts"])}</p>')
        body.append(f'<section class="key" data-key="{e(key)}"><h2>{e(shown)}</h2>'
                    f'<div data-chart="{e(key)}">{chart_for(snap, key, lang)}</div><h3>{e(t["alerts"])}</h3>{table}</section>')
    if not snap["keys"]:
        body.append(f'<p class="muted">{e(t["no_data"])}</p>')
    strings = json.dumps(t, ensure_ascii=False).replace("</", "<\\/")
    script = _SCRIPT.replace("POLL_MS", str(int(poll_seconds * 1000)))
    return (f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><title>{e(t["title"])}</title><style>{_CSS}</style></head>'
            f'<body><main>{head}{"".join(body)}</main><script type="application/json" id="strings">{strings}</script>'
            f'<script>{script}</script></body></html>')
