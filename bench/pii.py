"""Personal-data detectors on real text: what they find in public data sets, how fast, and whether they flag
ordinary customer messages (they should not).

Data from ../shared/datasets: Banking77 (English bank-customer queries), Waimai 10k (Chinese food-delivery reviews),
Financial PhraseBank (English financial news, whose press releases name people and give phone numbers).
Every finding is listed masked (first and last characters only) with a few characters of context, for a person to
judge whether it is personal data.

Run by hand:  .venv/bin/python bench/pii.py      Writes bench/results/pii.{md,json}.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, SHARED  # noqa: E402

SETS = {
    "banking77": ["banking77/train.csv", "banking77/test.csv"],
    "waimai_10k": ["waimai_10k/train.csv", "waimai_10k/test.csv"],
    "financial_phrasebank (50agree)": ["financial_phrasebank/50agree/train.csv", "financial_phrasebank/50agree/test.csv"],
}


def main() -> None:
    from domainfit.data.pii import Redactor, find_pii, mask

    if not (SHARED / "banking77").is_dir():
        sys.exit(f"skipped: {SHARED} is absent (the shared datasets live beside the project)")
    redactor = Redactor(True)
    rows, examples = [], {}
    for name, files in SETS.items():
        texts = pd.concat([pd.read_csv(SHARED / f, dtype=str, keep_default_na=False) for f in files])["text"].tolist()
        redactor(texts[0])  # compile once
        start = time.perf_counter()
        found = [(t, f) for t in texts for f in find_pii(t)]
        seconds = time.perf_counter() - start
        kinds = Counter(f.kind for _, f in found)
        rows.append({"data": name, "texts": len(texts), "findings": dict(kinds), "texts_with_findings": len({t for t, _ in found}),
                     "us_per_text": round(1e6 * seconds / len(texts), 1)})
        examples[name] = [{"kind": f.kind, "context": t[max(0, f.start - 25):f.start] + mask(t[f.start:f.end]) + t[f.end:f.end + 15]}
                          for t, f in found[:40]]
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "pii.json").write_text(json.dumps({"rows": rows, "examples": examples}, indent=2, ensure_ascii=False))
    lines = ["# Personal data in public data sets (bench/pii.py)", "",
             "Every detector on (`find_pii`, all kinds), one CPU core.", "",
             "| data | texts | texts with findings | findings by kind | µs per text |", "|---|---|---|---|---|"]
    for r in rows:
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(r["findings"].items())) or "none"
        lines.append(f"| {r['data']} | {r['texts']} | {r['texts_with_findings']} | {kinds} | {r['us_per_text']} |")
    for name, found in examples.items():
        if found:
            lines += ["", f"## {name}: the findings (values masked)", "", "| kind | context |", "|---|---|"]
            lines += [f"| {e['kind']} | {e['context'].replace('|', '/')} |" for e in found]
    (RESULTS / "pii.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
