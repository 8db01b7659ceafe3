"""The Compare page: pick a file, methods and budgets (labelled examples per class); the studio runs
`domainfit.compare` — the CLI's function — as a job, whose page draws the learning curve as each run lands and ends
with the recommendation and a link to compare's own report.html.

The form is checked first, every problem at once, by the functions `domainfit compare` itself uses (`parse_shots`,
`check_methods`, `load_config` on the `--set` values), so a value the CLI refuses is refused here under its flag.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from fastapi import Request
from fastapi.responses import JSONResponse

from domainfit.comparison import check_methods, parse_shots
from domainfit.comparison.run import DEFAULT_METHODS
from domainfit.config.load import load_config
from domainfit.errors import ConfigError, DomainfitError
from domainfit.interfaces import infer_task
from domainfit.registry import methods
from domainfit.studio import files

__all__ = ["register", "validate_compare"]

PICKED = ("tfidf", "head")  # ticked at first: the cheap pair; the user adds the costly ones


def method_choices() -> list[str]:
    return list(dict.fromkeys([*DEFAULT_METHODS, *methods.names()]))


def validate_compare(body: dict, workdir: Path, backbone: str | None) -> tuple[dict, list[tuple[str, str]]]:
    """(the compare job's arguments, the problems found in the form: [(flag, message)])."""
    problems: list[tuple[str, str]] = []
    data = str(body.get("data") or "").strip()
    try:
        if not data or not files.resolve_inside(workdir, data, what="data").is_file():
            problems.append(("data", f"no file {data!r} in the working folder"))
    except DomainfitError as exc:
        problems.append(("data", exc.message))
    picked = [str(m).strip() for m in body.get("methods") or [] if str(m).strip()]
    if not picked:
        problems.append(("--methods", "pick at least one method"))
    else:
        try:
            check_methods(picked, infer_task(data) or "classification")
        except ConfigError as exc:
            problems += exc.problems
    shots = str(body.get("shots") or "").strip()
    try:
        parse_shots(shots)
    except ConfigError as exc:
        problems += exc.problems
    seeds = str(body.get("seeds") or "1").strip()
    if not seeds.isdigit() or int(seeds) < 1:
        problems.append(("--seeds", f"{seeds!r} is not a whole number of seeds, 1 or more"))
    overrides = [line.strip() for line in str(body.get("settings") or "").splitlines() if line.strip()]
    columns = {"data.text_column": body.get("text_column"), "data.label_column": body.get("label_column")}
    try:  # the same check the compare's first load_config makes (the keys named as `--set` keys)
        load_config(None, overrides=[f"data.train={data or 'data.csv'}", *overrides,
                                     *(f"{k}={v}" for k, v in columns.items() if v)])
    except ConfigError as exc:
        problems += exc.problems
    spec = {"data": data, "methods": picked, "shots": shots, "seeds": int(seeds) if seeds.isdigit() else 1,
            "text_column": columns["data.text_column"] or None, "label_column": columns["data.label_column"] or None,
            "backbone": str(body.get("backbone") or "").strip() or backbone, "overrides": overrides}
    return spec, problems


def register(app, *, page, store, settings, workdir: Path) -> None:
    @app.get("/compare")
    async def compare_page(request: Request, data: str = ""):
        return page(request, "compare.html", files=files.data_files(workdir), chosen=data, methods=method_choices(),
                    picked=PICKED, backbone=settings.backbone or "")

    @app.post("/compare")
    async def compare_start(request: Request):
        spec, problems = await asyncio.to_thread(validate_compare, await request.json(), workdir, settings.backbone)
        if problems:
            return JSONResponse({"problems": [[k, m] for k, m in problems]}, status_code=422)
        form = {"method": "compare: " + ", ".join(spec["methods"]), "data.train": spec["data"], "shots": spec["shots"]}
        job_id = store.create("compare", {"form": form, "compare": spec}, f"runs/compare-{Path(spec['data']).stem}")
        await asyncio.to_thread(store.launch, job_id)
        return {"job": job_id, "url": f"/jobs/{job_id}"}
