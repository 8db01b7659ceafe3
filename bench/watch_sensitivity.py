"""Detector settings against the stories of a finished backtest: the end-to-end run's stored items (its classifier
outputs, its duplicate collapsing) fed again to the detector alone under other settings, scored as the backtest is.

    python bench/watch_sensitivity.py /tmp/watch-bench [ROWS NAME]   # after bench/watch_backtest.py --work /tmp/watch-bench
    (ROWS: positions in GRID, "0,5"; NAME: the results file, default watch_sensitivity)

The settings are compared on the very stream they are scored on, so the best row is optimistic: a choice made here
must be checked on another stream (another --seed) before it is trusted.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import pandas as pd
import watch_backtest as wb

from domainfit.apps.watch.config import DetectConfig, WindowConfig
from domainfit.apps.watch.detect import Detector, Story
from domainfit.apps.watch.store import WatchStore

def _with(**changes) -> dict:
    """The backtest's own detector settings (watch_backtest.DETECT) with some values changed: {"cusum.shift": 0.2}."""
    detect = copy.deepcopy(wb.DETECT)
    for key, value in changes.items():
        group, name = key.split(".")
        detect[group][name] = value
    return detect


# One axis at a time around the backtest's settings. `cusum.weekly_false_alarm` is the false-alarm budget per key: the
# trade-off between delay and false alarms that the information bound in watch_backtest.md is about.
GRID = [
    {"name": "as run", "detect": _with()},
    {"name": "CUSUM budget 0.2 a week per key", "detect": _with(**{"cusum.weekly_false_alarm": 0.2})},
    {"name": "CUSUM budget 0.5 a week per key", "detect": _with(**{"cusum.weekly_false_alarm": 0.5})},
    {"name": "CUSUM shift 0.10", "detect": _with(**{"cusum.shift": 0.10})},
    {"name": "CUSUM shift 0.20", "detect": _with(**{"cusum.shift": 0.20})},
    {"name": "window alpha 1e-3", "detect": _with(**{"negative_share.alpha": 1e-3})},
    {"name": "window alpha 1e-2", "detect": _with(**{"negative_share.alpha": 1e-2})},
]


def main() -> None:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/watch-bench")
    rows = sys.argv[2].split(",") if len(sys.argv) > 2 else None  # a subset of GRID by position: "0,5"
    grid = [g for i, g in enumerate(GRID) if rows is None or str(i) in rows]
    name = sys.argv[3] if len(sys.argv) > 3 else "watch_sensitivity"
    result = json.loads((work / "result.json").read_text())
    args = result["args"]
    frames = [pd.read_csv(wb.SHARED / f, dtype=str, keep_default_na=False) for f in ("train.csv", "test.csv")]
    data = pd.concat(frames).drop_duplicates("text").reset_index(drop=True)
    train = data.groupby("label", group_keys=False).sample(frac=args["train_size"] / len(data), random_state=args["seed"])
    stream_seed = args["seed"] if args.get("stream_seed") is None else args["stream_seed"]
    _, events, start = wb.build_stream(data.drop(train.index), days=args["days"], per_day=args["per_day"], seed=stream_seed,
                                       event_gap=args["event_gap"])
    rows = [r for r in WatchStore(str(work / "out" / "watch.db")).item_rows() if r["story"] == r["item_id"]]
    out = []
    for setting in grid:
        alerts = []
        det = DetectConfig(**setting["detect"])
        windows = [WindowConfig(**w) for w in wb.WINDOWS]
        d = Detector(windows, det, on_alert=lambda e, r, _a=alerts: _a.append(dict(r)) if e == "open" else None)
        for r in rows:
            d.add_story(Story(r["item_id"], r["time"], r["text"], bool(r["negative"]), r["score"], list(r["keys"])))
            d.advance(r["time"])
        scores = wb.score(alerts, events, start, args["days"], 7)
        out.append({"setting": setting["name"], **{k: v for k, v in scores.items() if k != "surges"}})
        print(json.dumps(out[-1]["by_size"]), out[-1]["false_alarms_per_week_quiet"], out[-1]["false_alarms_on_bursts"], flush=True)
    (wb.RESULTS / f"{name}.json").write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")
    lines = ["# Detector settings on the backtest's own stories (optimistic: chosen on the stream they are scored on)", "",
             "Each row changes one setting of the backtest's (`watch_backtest.DETECT`); the first row is the backtest itself.", "",
             (f"Stories of `{work}` (the end-to-end backtest, {args['days']} days, {args['per_day']} a day), fed to the "
              "detector alone; command: `python bench/watch_sensitivity.py`."), "",
             "| setting | +10 recall | +20 recall | +20 ≥2h recall | +20 ≥2h median delay (min) | +40 recall | false alarms / week (quiet) | on bursts |",
             "|---|---|---|---|---|---|---|---|"]
    for o in out:
        b = o["by_size"]

        def rec(k, b=b):
            return f"{b[k]['caught']}/{b[k]['surges']}" if k in b else "—"

        delay = b.get("+20 ≥2h", {}).get("median_delay_min")
        lines.append(f"| {o['setting']} | {rec('+10')} | {rec('+20')} | {rec('+20 ≥2h')} | "
                     f"{'—' if delay is None else f'{delay:.0f}'} | {rec('+40')} | {o['false_alarms_per_week_quiet']:.2f} | "
                     f"{o['false_alarms_on_bursts']} |")
    (wb.RESULTS / f"{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
