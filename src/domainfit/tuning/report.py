"""The tuning report: tune.json (every trial, the best, the defaults, parameter importances) and a self-contained
report.html with Optuna's own matplotlib plots (optimisation history, parameter importances) embedded as PNG, in
English and Chinese. Offline: no plotly, no CDN."""

from __future__ import annotations

import base64
import io
import json
import warnings
from html import escape
from pathlib import Path

__all__ = ["write_report"]


def _png(plot, study) -> str | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import optuna

    try:
        with warnings.catch_warnings():  # Optuna marks its matplotlib plots experimental
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            axes = plot(study)
    except (ValueError, RuntimeError):  # too few finished trials for this plot
        return None
    figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
    figure.set_size_inches(7, 4)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _num(value) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_report(study, summary: dict, folder: Path) -> Path:
    from optuna.visualization.matplotlib import plot_optimization_history, plot_param_importances

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tune.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    plots = [("Optimisation history / 优化历史", _png(plot_optimization_history, study)),
             ("Parameter importances / 参数重要性", _png(plot_param_importances, study) if summary["importances"] else None)]
    best, defaults = summary["best"], summary["defaults"]
    rows = "".join(
        f"<tr><td>{t['number']}{' (defaults / 默认)' if t['defaults'] else ''}</td><td>{t['state']}</td>"
        f"<td>{_num(t['value'])}</td><td>{escape(', '.join(f'{k}={_num(v)}' for k, v in t['params'].items()))}</td></tr>"
        for t in summary["trials"])
    compare = ""
    if defaults:
        compare = (f"<p>Best trial {best['number']}: {summary['metric']} {best['value']:.4f} against the defaults' "
                   f"{defaults['value']:.4f}. / 最佳试验 {best['number']}：验证集 {best['value']:.4f}，默认配置 "
                   f"{defaults['value']:.4f}。</p>")
    images = "".join(f"<h2>{escape(title)}</h2><img alt='{escape(title)}' src='data:image/png;base64,{data}'>"
                     for title, data in plots if data)
    html = (f"<!doctype html><html lang='en'><meta charset='utf-8'><title>domainfit tune: {escape(summary['study'])}</title>"
            "<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{border-bottom:1px solid #ddd;"
            "padding:.2em .6em;text-align:left}</style>"
            f"<h1>Tuning {escape(summary['study'])} ({escape(summary['method'])}) / 超参数搜索</h1>"
            f"<p>Storage / 存储: {escape(summary['storage'])}; counts / 统计: {escape(str(summary['counts']))}</p>{compare}"
            f"{images}<h2>Trials / 试验</h2><table><tr><th>#</th><th>state / 状态</th><th>{escape(summary['metric'])}</th>"
            f"<th>values / 取值</th></tr>{rows}</table></html>")
    path = folder / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
