"""The dashboard's charts: small hand-written SVG (stories per hour as bars, negative share as a line, alert spans
shaded), rendered on the server so the page needs no script library and no network. Hand-written rather than
matplotlib because the page redraws every few seconds and these are a few dozen shapes."""

from __future__ import annotations

from html import escape

__all__ = ["chart_svg"]

W, H, PAD_L, PAD_R, PAD_T, PAD_B = 760, 200, 44, 44, 12, 26


def chart_svg(buckets: list[dict], alerts: list[dict], *, start: float, end: float, labels: dict[str, str]) -> str:
    """buckets: [{t, stories, negative}] per hour; alerts: [{start, end, kind}] (epoch seconds)."""
    span = max(end - start, 1.0)
    inner_w, inner_h = W - PAD_L - PAD_R, H - PAD_T - PAD_B

    def x(t: float) -> float:
        return PAD_L + (t - start) / span * inner_w

    top = max([b["stories"] for b in buckets] + [1])
    parts = [(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" role="img" class="chart" '
              f'aria-label="{escape(labels["stories"])} / {escape(labels["negative_share"])}">'),
             f'<rect x="{PAD_L}" y="{PAD_T}" width="{inner_w}" height="{inner_h}" fill="#f9fafb"/>']
    for a in alerts:
        a0, a1 = max(a["start"], start), min(a["end"], end)
        if a1 > a0:
            color = "#fecaca" if a["kind"] == "negative_share" else "#bfdbfe"
            parts.append(f'<rect class="alert-span" x="{x(a0):.1f}" y="{PAD_T}" width="{max(x(a1) - x(a0), 1.5):.1f}" '
                         f'height="{inner_h}" fill="{color}" opacity="0.8"/>')
    bar_w = max(inner_w / max(span / 3600, 1) - 1, 1)
    points = []
    for b in buckets:
        h = b["stories"] / top * inner_h
        parts.append(f'<rect x="{x(b["t"]):.1f}" y="{PAD_T + inner_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="#93c5fd"/>')
        if b["stories"]:
            share = b["negative"] / b["stories"]
            points.append(f'{x(b["t"]) + bar_w / 2:.1f},{PAD_T + inner_h * (1 - share):.1f}')
    if points:
        parts.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="#b91c1c" stroke-width="1.5"/>')
    parts.append(f'<text x="4" y="{PAD_T + 10}" font-size="10" fill="#2563eb">{top}</text>'
                 f'<text x="4" y="{PAD_T + inner_h}" font-size="10" fill="#2563eb">0</text>'
                 f'<text x="{W - PAD_R + 4}" y="{PAD_T + 10}" font-size="10" fill="#b91c1c">100%</text>'
                 f'<text x="{W - PAD_R + 4}" y="{PAD_T + inner_h}" font-size="10" fill="#b91c1c">0%</text>')
    import datetime as _dt

    for i in range(5):
        t = start + span * i / 4
        stamp = _dt.datetime.fromtimestamp(t, _dt.UTC).strftime("%m-%d %H:%M")
        parts.append(f'<text x="{x(t):.1f}" y="{H - 8}" font-size="10" text-anchor="middle" fill="#6b7280">{stamp}</text>')
    parts.append(f'<text x="{PAD_L + 4}" y="{H - 8 - 12}" font-size="10" fill="#2563eb" opacity="0">{escape(labels["stories"])}</text>')
    parts.append("</svg>")
    return "".join(parts)
