"""What a served model promises its clients (its task and its labels, in order), and why a new version is refused.

The server builds its response schema (`/openapi.json`, the `enum` of labels) once, from the version it starts with;
a hot swap keeps that schema true only if the new version has the same task and the same labels in the same order
(the order is the model's output order), and, for a classification bundle, the same out-of-scope fields (a detector
or none; the refusal label, which `refuse` adds to the label enum). A refusal carries two texts: `message`, for `/readyz`, which says why in
words and names bundle files only by their place inside the bundle (never a path on the server's disk, never the
text of an exception from a library: at most domainfit's own message on a bundle, its paths taken out); and
`fields`, for the server's JSON log, which may say everything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["REASONS", "Contract", "Refusal", "breach", "failed_check", "failed_load"]

# The values of `domainfit_reload_refused_total{reason=...}`.
REASONS = ("task_differs", "labels_differ", "out_of_scope_differs", "invalid_bundle", "load_failed")
_SHOWN = 10  # labels listed in a message; the rest are counted
_ABSOLUTE_PATH = re.compile(r"(?<![\w.:/~])/[^\s'\"(),;]+")  # `/srv/x/y` but not `models:/name` nor `model/head...`


@dataclass(frozen=True)
class Contract:
    task: str
    labels: tuple[str, ...]
    out_of_scope: str | None = None  # "flag", or "refuse:<refusal label>" (None: predictions carry no such fields)

    @classmethod
    def of(cls, bundle: Any) -> Contract:
        """The contract of a loaded `domainfit.bundle.Bundle`."""
        task = bundle.make_task()
        ood = None
        if getattr(task, "out_of_scope", None) is not None:
            ood = "flag" if task.ood_options.mode == "flag" else f"refuse:{task.ood_options.refusal_label}"
        return cls(bundle.task, tuple(bundle.labels), ood)


@dataclass(frozen=True)
class Refusal:
    reason: str
    message: str
    fields: dict = field(default_factory=dict)
    final: bool = True  # the same version would be refused again (its task and labels cannot change): not retried


def _listed(labels) -> str:
    labels = list(labels)
    shown = ", ".join(repr(x) for x in labels[:_SHOWN])
    return f"[{shown}{f', ... and {len(labels) - _SHOWN} more' if len(labels) > _SHOWN else ''}]"


def breach(served: Contract, served_version: str, new: Contract, version: str) -> Refusal | None:
    """Why version `version` (contract `new`) cannot replace the served one; None when it can."""
    keeps = f"; version {served_version} keeps serving"
    if new.task != served.task:
        return Refusal("task_differs", f"version {version} has task {new.task!r}, the served version {served_version} has "
                                       f"{served.task!r}{keeps}",
                       {"task": new.task, "served_task": served.task})
    if new.labels == served.labels:
        if new.out_of_scope != served.out_of_scope:
            return Refusal("out_of_scope_differs", f"version {version} answers with {_ood_said(new.out_of_scope)}, the "
                                                   f"served version {served_version} with {_ood_said(served.out_of_scope)}: "
                                                   f"the response schema would change{keeps}",
                           {"out_of_scope": new.out_of_scope, "served_out_of_scope": served.out_of_scope})
        return None
    added = [x for x in new.labels if x not in set(served.labels)]
    removed = [x for x in served.labels if x not in set(new.labels)]
    if added or removed:
        why = ", ".join(part for part in (f"added {_listed(added)}" if added else "",
                                          f"removed {_listed(removed)}" if removed else "") if part)
    elif sorted(new.labels) == sorted(served.labels):
        why = f"the same labels in another order, {_listed(new.labels)} (served: {_listed(served.labels)})"
    else:  # the same names, some repeated
        why = f"{len(new.labels)} labels (served: {len(served.labels)})"
    return Refusal("labels_differ", f"version {version} has other labels than the served version {served_version}: "
                                    f"{why}{keeps}",
                   {"added": added[:100], "removed": removed[:100], "labels": len(new.labels),
                    "served_labels": len(served.labels)})


def _ood_said(value: str | None) -> str:
    if value is None:
        return "no out-of-scope fields"
    return "out-of-scope flags" if value == "flag" else f"out-of-scope refusals (label {value.split(':', 1)[1]!r})"


def _scrub(text: str, paths: list[Path]) -> str:
    """`text` with the bundle's own path said as "the bundle" and any other absolute path as "<path>"."""
    for p in sorted({str(q) for path in paths for q in (path, path.resolve())}, key=len, reverse=True):
        text = text.replace(p, "the bundle")
    return _ABSOLUTE_PATH.sub("<path>", text)


def failed_check(version: str, served_version: str, exc: Exception, path: Path | None) -> Refusal:
    """A version whose bundle fails `load_bundle` (format version, missing files, files that differ from the manifest):
    domainfit's own message, with paths taken out. Retried at the next poll (a bundle can be copied again)."""
    what = _scrub(getattr(exc, "message", None) or type(exc).__name__, [path] if path is not None else [])
    return Refusal("invalid_bundle", f"version {version} failed the bundle checks: {what[:400]}; version {served_version} "
                                     "keeps serving", {"error": f"{type(exc).__name__}: {exc}"}, final=False)


def failed_load(version: str, served_version: str, exc: Exception) -> Refusal:
    """A version that could not be fetched or loaded for any other reason: the exception's type only (its text, which
    may hold paths or library internals, goes to the log). Retried at the next poll."""
    return Refusal("load_failed", f"version {version} could not be loaded ({type(exc).__name__}); version "
                                  f"{served_version} keeps serving; the server log has the details",
                   {"error": f"{type(exc).__name__}: {exc}"}, final=False)
