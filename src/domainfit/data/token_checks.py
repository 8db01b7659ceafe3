"""The data checks that need the backbone's tokenizer: texts cut at `model.max_length` (truncation), and how much of the
text the vocabulary covers (a Chinese text through an English model turns into [UNK]s), plus the token summary of the
data report. Report checks of `domainfit.data.checks`, registered when this module is imported (the data package
imports it)."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from domainfit.data.checks import CheckContext, Issue, _model, report_check, token_counts
from domainfit.i18n import _

__all__ = ["CHINESE_MODELS", "MULTILINGUAL_MODELS", "check_tokenizer_coverage", "check_truncation", "token_counts",
           "token_summary"]


_SIZES = (64, 128, 256, 384, 512, 768, 1024, 2048, 4096, 8192)


@report_check("truncation")
def check_truncation(kept: pd.DataFrame, ctx: CheckContext) -> list[Issue]:
    if "_n_tokens" not in kept or kept.empty:
        return []
    n = kept["_n_tokens"]
    long = kept[n > ctx.max_length]
    if long.empty:
        return []
    longest = int(n.max())
    p99 = int(np.percentile(n, 99))
    limit = getattr(ctx.tokenizer, "model_max_length", None)
    limit = limit if isinstance(limit, int) and limit < 1_000_000 else 8192
    suggest = next((s for s in _SIZES if s >= max(p99, ctx.max_length + 1)), _SIZES[-1])
    suggest = min(suggest, limit)
    fits = _("; {model} reads at most {limit}").format(model=_model(ctx), limit=limit) if suggest == limit else ""
    return [Issue(
        "truncation",
        "warning",
        _("{n} of {total} texts ({share}) exceed max_length={max_length} tokens "
          "and will be truncated; the longest has {longest} tokens").format(
            n=len(long), total=len(kept), share=f"{len(long) / len(kept):.1%}", max_length=ctx.max_length,
            longest=longest),
        long["_loc"].tolist(),
        hint=_("raise model.max_length (e.g. to {suggest}{fits}) if the ends of long texts matter; time grows with "
               "it").format(suggest=suggest, fits=fits),
    )]  # fmt: skip


_HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")
_KANA_HANGUL = re.compile("[\u3040-\u30ff\u31f0-\u31ff\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")
_LETTER = re.compile(r"[^\W\d_]")
_NON_LATIN_LETTER = re.compile(r"[^\W\d_\x00-\u024f\u1e00-\u1eff]")

CHINESE_MODELS = ("BAAI/bge-small-zh-v1.5", "shibing624/text2vec-base-chinese")
MULTILINGUAL_MODELS = ("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2",)


def _count(pattern: re.Pattern, text: str) -> int:
    return pattern.subn("", text)[1]


@report_check("tokenizer_coverage")
def check_tokenizer_coverage(kept: pd.DataFrame, ctx: CheckContext) -> list[Issue]:
    """How much of the data the tokenizer can see: an English vocabulary maps most Chinese characters to [UNK]."""
    if "_n_tokens" not in kept or kept.empty:
        return []
    special = _special_count(ctx.tokenizer)
    tokens = int((kept["_n_tokens"] - special).clip(lower=0).sum())
    unknown = int(kept["_n_unk"].sum())
    share = unknown / tokens if tokens else 0.0
    joined = "".join(kept["text"].tolist())
    letters = _count(_LETTER, joined)
    han, kana_hangul = _count(_HAN, joined), _count(_KANA_HANGUL, joined)
    cjk = (han + kana_hangul) / letters if letters else 0.0
    other = (_count(_NON_LATIN_LETTER, joined) - han - kana_hangul) / letters if letters else 0.0
    per_letter = tokens / letters if letters else 0.0

    chinese = cjk >= 0.3 and kana_hangul < 0.1 * (han + kana_hangul)
    if cjk >= 0.3:
        poor = share > 0.005
        script = _("Chinese") if chinese else _("Chinese/Japanese/Korean")
    else:
        # Without [UNK]s a vocabulary can still be poor: Cyrillic or Arabic split into one token per letter.
        poor = share > 0.02 or (other >= 0.5 and per_letter > 0.5)
        script = _("non-Latin") if other >= 0.5 else _("Latin-script")
    measured = _(
        "{share} of the {tokens} tokens the tokenizer of {model} makes from this data are unknown "
        "([UNK]); {cjk} of the letters are Chinese/Japanese/Korean"
    ).format(share=f"{share:.1%}", tokens=tokens, model=_model(ctx), cjk=f"{cjk:.0%}")
    if not poor:
        return [Issue("tokenizer_coverage", "info", measured, [])]
    alternatives = CHINESE_MODELS if chinese else MULTILINGUAL_MODELS
    rows = kept[kept["_n_unk"] > 0.02 * (kept["_n_tokens"] - special).clip(lower=1)]
    why = _("the text is mostly {script}").format(script=script) + (
        _(" and takes {n} tokens per letter").format(n=f"{per_letter:.1f}") if share <= 0.02 else "")
    use = (_("use a backbone made for Chinese: model.backbone: {models} (download it once, then give its local folder "
             "to work offline)") if chinese else
           _("use a backbone made for many languages: model.backbone: {models} (download it once, then give its local "
             "folder to work offline)")).format(models=_(" or ").join(alternatives))
    return [Issue(
        "tokenizer_coverage",
        "warning",
        _("{measured}: {model} covers this data poorly ({why}) and cannot learn from what it cannot see").format(
            measured=measured, model=_model(ctx), why=why),
        rows["_loc"].tolist(),
        hint=use + (_pretrain_hint(kept) if chinese else ""),
    )]  # fmt: skip


def _pretrain_hint(kept: pd.DataFrame) -> str:
    """The offline fix, with the command: extend this model's vocabulary and pretrain it on the user's own texts."""
    files = kept["_file"].dropna().unique().tolist() if "_file" in kept else []
    source = files[0] if files else "your_texts.txt"
    return _("; or, offline, teach this model the characters it lacks from your own (unlabelled) texts: "
             "`domainfit pretrain {source} --extend-vocab auto -o backbones/zh` then "
             "`domainfit train {source} --model backbones/zh`").format(source=source)


def _special_count(tokenizer: Any) -> int:
    try:
        return int(tokenizer.num_special_tokens_to_add(pair=False))
    except Exception:
        return 0


def token_summary(kept: pd.DataFrame, ctx: CheckContext) -> dict | None:
    """Token statistics for the report (None without a tokenizer)."""
    if "_n_tokens" not in kept:
        return None
    n = kept["_n_tokens"]
    special = _special_count(ctx.tokenizer)
    total = int((n - special).clip(lower=0).sum())
    unknown = int(kept["_n_unk"].sum())
    return {
        "max_length": ctx.max_length,
        "texts": len(kept),
        "over_max_length": int((n > ctx.max_length).sum()),
        "max_tokens": int(n.max()) if len(n) else 0,
        "mean_tokens": round(float(n.mean()), 2) if len(n) else 0.0,
        "tokens": total,
        "unknown_tokens": unknown,
        "unknown_share": round(unknown / total, 6) if total else 0.0,
    }


# ---------------------------------------------------------------------------------------------------- runner
