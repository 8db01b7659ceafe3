"""Recommendation data: the item catalogue and the interactions, read, checked (every problem with file and row,
rejects kept) and split by time, never at random.

    catalogue     id, text (+ optional category, brand, price, created and any other column): `data.items`
    interactions  user, item, time (+ optional event, weight): `data.train`

Checks: an item without id or text, a repeated item id (rejected); an interaction naming an unknown item, without
user or item, with an unreadable time, or repeating an earlier event (rejected); a user with one interaction only
(kept for training, never evaluated) and a user whose rows go back in time in the file (sorted; a warning).

Splits (`task_options.split`): `leave_last_out` — each user's last interaction is the test case, the one before it the
validation case, the rest trains; `time_cut` — one global cut at the time quantiles (1 - test_size) and
(1 - test_size - val_size): a user's first interaction after a cut is that split's case. A case is (user, history
before it, target). `task_options.cold_items` holds a seeded share of the items out of training entirely (neither
target nor history while training): the cold-start evaluation.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from domainfit.config.schema import DataConfig
from domainfit.data import DataReport, Issue, read_table
from domainfit.data.clean import make_cleaner
from domainfit.data.columns import column_key
from domainfit.errors import ColumnError, ConfigError, EmptyDataError
from domainfit.i18n import _

__all__ = ["Case", "RecommendData", "last_cases", "prepare_recommend", "read_catalogue", "read_interactions", "split_cases"]

ITEM_ID_NAMES = ("id", "item", "item_id", "itemid", "product_id", "product", "sku", "asin", "offer_id", "商品", "编号")
ITEM_TEXT_NAMES = ("text", "title", "description", "name", "item_text", "content", "标题", "描述", "名称")
USER_NAMES = ("user", "user_id", "userid", "customer", "customer_id", "client_id", "reviewer_id", "用户", "客户")
INTER_ITEM_NAMES = ("item", "item_id", "itemid", "product_id", "product", "sku", "asin", "offer_id", "商品")
TIME_NAMES = ("time", "timestamp", "ts", "date", "datetime", "event_time", "created", "时间", "日期")
EVENT_NAMES = ("event", "event_type", "action", "type", "行为")
WEIGHT_NAMES = ("weight", "rating", "count", "quantity", "权重")
KNOWN_EXTRA = {"category": ("category", "categories", "cat", "类目", "类别"), "brand": ("brand", "品牌"),
               "price": ("price", "amount", "价格"), "created": ("created", "created_at", "release_date", "上架时间")}


@dataclass
class Case:
    """One evaluation case: the user, the items before it (oldest first) and the item that came next."""

    user: str
    history: list[str]
    target: str


@dataclass
class RecommendData:
    items: pd.DataFrame  # id, text, category, brand, price, created, the other columns, _file, _row
    interactions: pd.DataFrame  # user, item, time (float), event, weight, _file, _row — kept rows, sorted by user, time
    train: pd.DataFrame  # the interactions training sees (cold items removed)
    val: list[Case]
    test: list[Case]
    cold: list[str]  # item ids held out of training
    rejects: pd.DataFrame
    report: DataReport
    numeric: list[str] = field(default_factory=list)  # numeric catalogue columns (the re-ranker's features)

    @property
    def labels(self) -> list[str]:
        return self.items["id"].tolist()


def _pick(columns: list[str], given: str | None, names: tuple[str, ...], what: str, path: str, key: str,
          required: bool = True) -> str | None:
    if given:
        if given in columns:
            return given
        close = difflib.get_close_matches(given, columns, n=1, cutoff=0.6)
        raise ColumnError(_("no {role} column {name}.{guess} The file has: {columns}").format(
            role=what, name=repr(given), guess=_(" Did you mean {name}?").format(name=repr(close[0])) if close else "",
            columns=", ".join(map(repr, columns))), where=path, hint=_("set {key}").format(key=key))
    keys = {column_key(c): c for c in columns}
    found = next((keys[column_key(n)] for n in names if column_key(n) in keys), None)
    if found is None and required:
        raise ColumnError(_("cannot tell which column holds the {what}; the file has: {columns}").format(
            what=what, columns=", ".join(map(repr, columns))), where=path, hint=_("name it with {key}").format(key=key))
    return found


def _loc(frame: pd.DataFrame, unit: str) -> pd.Series:
    return frame["_file"].astype(str) + f":{unit} " + frame["_row"].astype(str)


def _issue(issues: list, reason: pd.Series, loc: pd.Series, code: str, what: str, fix: str, severity: str = "error") -> None:
    bad = reason.str.startswith(code)
    if bad.any():
        issues.append(Issue(code, severity, f"{what}: {int(bad.sum())} row(s) with {code.replace('_', ' ')}; rejected",
                            loc[bad].tolist()[:50], hint=fix))


def _read_rejects(read, what: str) -> pd.DataFrame:
    r = read.rejects
    return pd.DataFrame({"_file": r["_file"], "_row": r["_row"], "text": r["_raw"], "label": "",
                         "reason": "unreadable: " + r["_reason"].astype(str)}) if len(r) else _empty_rejects()


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({"_file": [], "_row": [], "text": [], "label": [], "reason": []})


def read_catalogue(path: str | Path, *, id_column: str | None = None, text_column: str | None = None,
                   encoding: str | None = None, clean=None) -> tuple[pd.DataFrame, pd.DataFrame, list[Issue], dict, list[str]]:
    """(items, rejects, issues, the file's report entry, numeric columns). The text is cleaned as every text is."""
    clean = clean or make_cleaner(True, False)
    read = read_table(path, encoding=encoding, bad_rows="reject")
    shown, frame = str(path), read.frame
    columns = [c for c in frame.columns if c not in ("_file", "_row")]
    ident = _pick(columns, id_column, ITEM_ID_NAMES, _("item id"), shown, "task_options.item_id_column")
    text = _pick([c for c in columns if c != ident], text_column, ITEM_TEXT_NAMES, _("item text"), shown,
                 "task_options.item_text_column")
    items = pd.DataFrame({"id": frame[ident].astype(str).str.strip(), "text": frame[text].astype(str).map(clean)})
    extra = {}
    for name, names in KNOWN_EXTRA.items():
        col = _pick([c for c in columns if c not in (ident, text)], None, names, name, shown, "", required=False)
        if col is not None:
            extra[name] = col
            items[name] = frame[col].astype(str).str.strip()
    others = [c for c in columns if c not in (ident, text, *extra.values())]
    for c in others:
        items[c] = frame[c].astype(str)
    numeric = []
    for c in [n for n in items.columns if n not in ("id", "text", "category", "brand", "created")]:
        values = pd.to_numeric(items[c].replace("", np.nan), errors="coerce")
        if values.notna().mean() >= 0.9 and values.notna().any():
            items[c], numeric = values.astype(float), [*numeric, c]
    if "created" in items:
        items["created"] = _times(items["created"])
    items["_file"], items["_row"] = frame["_file"].astype(str), frame["_row"].astype("int64")
    loc = _loc(items, read.unit)
    reason = pd.Series("", index=items.index, dtype=object)
    first = loc.groupby(items["id"]).transform("first")
    reason[items["id"].duplicated() & (items["id"] != "")] = "duplicate_item: the id is already used at " + first
    reason[items["text"].str.strip() == ""] = "item_without_text"
    reason[items["id"] == ""] = "missing_item_id"
    issues: list[Issue] = []
    _issue(issues, reason, loc, "missing_item_id", "catalogue", "give every item an id")
    _issue(issues, reason, loc, "item_without_text", "catalogue",
           "write a title or description for these items (the model knows an item only by its text)")
    _issue(issues, reason, loc, "duplicate_item", "catalogue", "give each item one row; the first was kept")
    rejects = pd.concat([_read_rejects(read, "catalogue"),
                         pd.DataFrame({"_file": items["_file"], "_row": items["_row"], "text": items["text"],
                                       "label": items["id"], "reason": reason})[reason != ""]], ignore_index=True)
    kept = items[reason == ""].reset_index(drop=True)
    if len(kept) < 2:
        raise EmptyDataError(_("the catalogue has {n} usable item(s); recommendation needs at least 2").format(n=len(kept)),
                             where=shown,
                             hint=_("check the id and text columns (task_options.item_id_column / item_text_column)"))
    entry = {"path": shown, "role": "items", "format": read.format, "encoding": read.encoding, "delimiter": read.delimiter,
             "rows": len(items) + len(read.rejects), "rows_kept": len(kept), "rows_rejected": len(rejects),
             "columns": {"id": ident, "text": text, **extra}}
    return kept, rejects, issues, entry, numeric


def _times(values: pd.Series) -> pd.Series:
    """Times as float seconds (numbers stay as they are; dates and datetimes become epoch seconds); NaN if unreadable."""
    raw = values.astype(str).str.strip().replace("", np.nan)
    numbers = pd.to_numeric(raw, errors="coerce")
    if numbers.notna().sum() * 2 >= raw.notna().sum():  # mostly numbers: numbers (the rest unreadable)
        return numbers.astype(float)
    dates = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
    return pd.Series(np.where(dates.notna(), dates.astype("int64") / 1e9, np.nan), index=values.index, dtype=float)


def read_interactions(path: str | Path, known: set[str], *, user_column: str | None = None, item_column: str | None = None,
                      time_column: str | None = None, encoding: str | None = None
                      ) -> tuple[pd.DataFrame, pd.DataFrame, list[Issue], dict]:
    """(interactions sorted by user and time, rejects, issues, the file's report entry)."""
    read = read_table(path, encoding=encoding, bad_rows="reject")
    shown, frame = str(path), read.frame
    columns = [c for c in frame.columns if c not in ("_file", "_row")]
    user = _pick(columns, user_column, USER_NAMES, _("user"), shown, "task_options.user_column")
    item = _pick([c for c in columns if c != user], item_column, INTER_ITEM_NAMES, _("item"), shown, "task_options.item_column")
    when = _pick([c for c in columns if c not in (user, item)], time_column, TIME_NAMES, _("time"), shown,
                 "task_options.time_column")
    rest = [c for c in columns if c not in (user, item, when)]
    event = _pick(rest, None, EVENT_NAMES, "event", shown, "", required=False)
    weight = _pick([c for c in rest if c != event], None, WEIGHT_NAMES, "weight", shown, "", required=False)
    rows = pd.DataFrame({"user": frame[user].astype(str).str.strip(), "item": frame[item].astype(str).str.strip(),
                         "time": _times(frame[when]), "event": frame[event].astype(str).str.strip() if event else "",
                         "weight": pd.to_numeric(frame[weight], errors="coerce").fillna(1.0) if weight else 1.0,
                         "_file": frame["_file"].astype(str), "_row": frame["_row"].astype("int64")})
    loc = _loc(rows, read.unit)
    reason = pd.Series("", index=rows.index, dtype=object)
    reason[rows.duplicated(["user", "item", "time", "event"])] = "duplicate_event: the same user, item, time and event as an earlier row"
    reason[~rows["item"].isin(known)] = "unknown_item: the item is not in the catalogue (or was rejected there)"
    reason[rows["time"].isna()] = "bad_time: the time is empty or not a number or date"
    reason[rows["item"] == ""] = "missing_item"
    reason[rows["user"] == ""] = "missing_user"
    issues: list[Issue] = []
    what = "interactions"
    _issue(issues, reason, loc, "missing_user", what, "fill in the user id")
    _issue(issues, reason, loc, "missing_item", what, "fill in the item id")
    _issue(issues, reason, loc, "bad_time", what, "write the time as a number (epoch seconds, a sequence position) or a date")
    _issue(issues, reason, loc, "unknown_item", what, "add the items to the catalogue (data.items), or fix the ids")
    _issue(issues, reason, loc, "duplicate_event", what, "drop the repeated rows; the first was kept", severity="warning")
    kept = rows[reason == ""]
    backwards = kept.groupby("user", sort=False)["time"].diff() < 0
    if backwards.any():
        issues.append(Issue("time_backwards", "warning", f"{what}: {int(backwards.sum())} row(s) earlier in time than the "
                            "row of the same user before them in the file; sorted by time", loc[kept.index[backwards]].tolist()[:50],
                            hint="nothing to do if the file is not in time order; else check the time column"))
    counts = kept["user"].value_counts()
    single = kept["user"].map(counts) == 1
    if single.any():
        issues.append(Issue("single_interaction_user", "warning", f"{what}: {int(single.sum())} user(s) with one interaction: "
                            "kept for training, never evaluated (a case needs a history)", loc[kept.index[single]].tolist()[:50],
                            hint="nothing to do; more interactions per user make the evaluation broader"))
    rejects = pd.concat([_read_rejects(read, what), pd.DataFrame({
        "_file": rows["_file"], "_row": rows["_row"], "text": rows["user"] + " → " + rows["item"], "label": rows["item"],
        "reason": reason})[reason != ""]], ignore_index=True)
    kept = kept.sort_values(["user", "time", "_file", "_row"], kind="stable").reset_index(drop=True)
    if kept.empty:
        raise EmptyDataError(_("no usable interaction"), where=shown, hint=_("see rejects.csv for why every row was rejected"))
    entry = {"path": shown, "role": "interactions", "format": read.format, "encoding": read.encoding,
             "delimiter": read.delimiter, "rows": len(rows) + len(read.rejects), "rows_kept": len(kept),
             "rows_rejected": len(rejects), "columns": {"user": user, "item": item, "time": when, "event": event, "weight": weight}}
    return kept, rejects, issues, entry


def cold_items(ids: list[str], share: float, seed: int) -> list[str]:
    """The seeded share of item ids held out of training."""
    if share <= 0:
        return []
    rng = np.random.default_rng(seed)
    n = max(1, round(share * len(ids)))
    return sorted(rng.choice(np.array(ids, dtype=object), size=n, replace=False).tolist())


def split_cases(inter: pd.DataFrame, *, how: str, val_size: float, test_size: float) -> tuple[pd.DataFrame, list[Case], list[Case]]:
    """(training interactions, validation cases, test cases) by time, never at random (see the module docstring)."""
    val, test = [], []
    if how == "leave_last_out":
        position = inter.groupby("user").cumcount(ascending=False)  # 0 = the user's last interaction
        n = inter["user"].map(inter["user"].value_counts())
        is_test, is_val = (position == 0) & (n >= 2), (position == 1) & (n >= 3)
        train = inter[~is_test & ~is_val]
        for user, group in inter.groupby("user", sort=True):
            items = group["item"].tolist()
            if len(items) >= 2:
                test.append(Case(user, items[:-1], items[-1]))
            if len(items) >= 3:
                val.append(Case(user, items[:-2], items[-2]))
        return train.reset_index(drop=True), val, test
    t_test = float(np.quantile(inter["time"], 1 - test_size))
    t_val = float(np.quantile(inter["time"], 1 - test_size - val_size))
    train = inter[inter["time"] < t_val]
    for user, group in inter.groupby("user", sort=True):
        items, times = group["item"].tolist(), group["time"].to_numpy()
        for lo, hi, out in ((t_val, t_test, val), (t_test, np.inf, test)):
            at = np.flatnonzero((times >= lo) & (times < hi))
            if len(at):
                out.append(Case(user, items[: at[0]], items[at[0]]))
    return train.reset_index(drop=True), val, test


def last_cases(rows: pd.DataFrame) -> list[Case]:
    """One case per user of a held-out interactions file: the user's last row, the earlier rows its history."""
    return [Case(user, items[:-1], items[-1]) for user, items in
            ((u, g["item"].tolist()) for u, g in rows.groupby("user", sort=True)) if len(items)]


def prepare_recommend(cfg: DataConfig, *, task) -> RecommendData:
    """Read, check and split the catalogue and the interactions (`data.items`, `data.train`)."""
    opts = task.options
    missing = [(key, why) for key, value, why in (
        ("data.items", cfg.items, _("the item catalogue (id, text, ...) is needed: name its file")),
        ("data.train", cfg.train, _("the interactions (user, item, time) are needed: name their file")),
    ) if value is None]
    if missing:
        raise ConfigError(missing)
    clean = make_cleaner(cfg.normalize, cfg.redact)
    items, item_rejects, issues, item_entry, numeric = read_catalogue(
        cfg.items, id_column=opts.item_id_column, text_column=opts.item_text_column, encoding=cfg.encoding, clean=clean)
    inter, inter_rejects, more, inter_entry = read_interactions(
        cfg.train, set(items["id"]), user_column=opts.user_column, item_column=opts.item_column,
        time_column=opts.time_column, encoding=cfg.encoding)
    issues += more
    if opts.events:
        inter = inter[inter["event"].isin(opts.events)].reset_index(drop=True)
    if cfg.test is not None:  # the user's own held-out sequences: each user's last row there is the case
        train, val, test = inter, [], []
        for role, path in (("val", cfg.val), ("test", cfg.test)):
            if path is not None:
                rows, bad, found, entry = read_interactions(path, set(items["id"]), user_column=opts.user_column,
                                                            item_column=opts.item_column, time_column=opts.time_column,
                                                            encoding=cfg.encoding)
                issues += found
                inter_rejects = pd.concat([inter_rejects, bad], ignore_index=True)
                inter_entry = {**inter_entry, f"{role}_file": entry["path"]}
                (val if role == "val" else test).extend(last_cases(rows))
    else:
        train, val, test = split_cases(inter, how=opts.split, val_size=cfg.val_size, test_size=cfg.test_size)
    cold = cold_items(items["id"].tolist(), opts.cold_items, cfg.seed)
    if cold:
        train = train[~train["item"].isin(set(cold))].reset_index(drop=True)
    if train.empty:
        raise EmptyDataError(_("no training interaction is left after the split"), where=str(cfg.train),
                             hint=_("each user needs 3+ interactions for leave_last_out (or use split: time_cut)"))
    rejects = pd.concat([item_rejects, inter_rejects], ignore_index=True)
    counts = {"items": len(items), "interactions_in": inter_entry["rows"], "interactions_kept": len(inter),
              "rows_in": item_entry["rows"] + inter_entry["rows"], "rows_kept": len(items) + len(inter),
              "rows_rejected": len(rejects), "users": int(inter["user"].nunique()), "train": len(train),
              "val": len(val), "test": len(test), "cold_items": len(cold),
              "test_cold": sum(c.target in set(cold) for c in test)}
    report = DataReport(issues=issues, files=[item_entry, inter_entry],
                        columns={"text": item_entry["columns"]["text"], "label": inter_entry["columns"]["item"]},
                        counts=counts, labels=[])
    return RecommendData(items=items, interactions=inter, train=train, val=val, test=test, cold=cold, rejects=rejects,
                         report=report, numeric=numeric)
