"""`task_options.out_of_scope` of a classification bundle: a mode word or a mapping, checked before any work.

    out_of_scope: flag       (default) every prediction carries out_of_scope, ood_score and ood_threshold; labels kept
    out_of_scope: refuse     the same, and an out-of-scope prediction's label becomes `refusal_label`
    out_of_scope: off        no detector is fitted, predictions carry no out-of-scope fields
    out_of_scope: auto       the same as flag (the detector chosen on validation)
    out_of_scope: {mode: refuse, detector: mahalanobis, keep: 0.95, oos_label: other, objective: accuracy, floor: 0.8}
    out_of_scope: {budget: 0.02}   without out-of-scope examples: refuse what costs at most 2 points of in-scope accuracy
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domainfit.i18n import _

__all__ = ["DEFAULT_OOS_LABELS", "OutOfScopeOptions", "resolve_out_of_scope"]

# Label names that mean "none of the intents" when `oos_label` is left to "auto" (compared case-insensitively).
DEFAULT_OOS_LABELS = ("oos", "out_of_scope", "out-of-scope", "other", "others", "none_of_the_above", "其他", "其它")


class OutOfScopeOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["flag", "refuse", "off"] = Field("flag", description="flag: mark out-of-scope predictions; refuse: also "
                                                   "replace their label by refusal_label; off: no detector")
    detector: str = Field("auto", description="auto (chosen on validation), msp, energy, mahalanobis or knn")
    keep: float = Field(0.95, gt=0.5, le=1.0, description="without out-of-scope examples: the share of in-scope "
                        "validation messages the threshold keeps")
    budget: float | None = Field(None, gt=0.0, lt=1.0, description="without out-of-scope examples, instead of keep: the "
                                 "threshold refuses as many messages as it can while in-scope validation accuracy "
                                 "(a refusal counted as an error) stays within this of the accuracy without refusal")
    oos_label: str | None = Field("auto", description="the label of out-of-scope training examples (used as a class and "
                                  "to calibrate the threshold); auto: one of oos/out_of_scope/other/其他 if present; "
                                  "null: none")
    objective: Literal["accuracy", "recall"] = Field("accuracy", description="with out-of-scope examples: maximise in-scope "
                                                     "accuracy subject to an OOS-recall floor (accuracy) or OOS recall "
                                                     "subject to an in-scope accuracy floor (recall)")
    floor: float = Field(0.8, ge=0.0, le=1.0, description="the floor of the other quantity (see objective)")
    refusal_label: str = Field("out_of_scope", min_length=1, description="the label of a refused prediction (mode refuse)")
    k: int = Field(10, ge=1, le=1000, description="neighbours of the knn detector")
    max_fit_rows: int = Field(20000, ge=100, description="training rows (at most) the embedding detectors are fitted on")

    @field_validator("detector")
    @classmethod
    def _known(cls, value: str) -> str:
        from domainfit.ood.detectors import ood_detectors

        if value != "auto" and value not in ood_detectors:
            raise ValueError(ood_detectors.unknown_message(value) + _(" (or auto)"))
        return value


def resolve_out_of_scope(value: str | dict | OutOfScopeOptions | None) -> OutOfScopeOptions:
    """The options from a mode word (flag, refuse, off, auto) or a mapping; pydantic's error otherwise."""
    if isinstance(value, OutOfScopeOptions):
        return value
    if value is None or value == "auto":
        return OutOfScopeOptions()
    if isinstance(value, str):
        return OutOfScopeOptions(mode=value)
    return OutOfScopeOptions.model_validate(value)


def find_oos_label(option: str | None, labels: list[str]) -> str | None:
    """The label of the out-of-scope examples among `labels` (None: there are none)."""
    if option is None or option == "":
        return None
    if option != "auto":
        return option if option in labels else None
    lowered = {label.lower(): label for label in labels}
    return next((lowered[name] for name in DEFAULT_OOS_LABELS if name in lowered), None)
