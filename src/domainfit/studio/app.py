"""The studio app: `create_studio(settings)` → a FastAPI app of server-rendered pages (Jinja2) with a small script of
our own (static/studio.js) for uploads, live validation, server-sent job progress and the Try page.

Every action is a call of the Python API the CLI uses (`domainfit.api`: check_data, redact_file, train, compare and
compress — in a worker, see jobs.py —, load(...).predict(explain=True), monitor and correct — see monitor_page.py);
the studio adds presentation and jobs, nothing else.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from domainfit import api
from domainfit.errors import ConfigError, DomainfitError
from domainfit.i18n import _, speaking
from domainfit.serving.auth import KeyStore
from domainfit.studio import compare_page, files, monitor_page
from domainfit.studio.auth import COOKIE, StudioGate, is_loopback
from domainfit.studio.forms import form_fields, option_fields, validate_values
from domainfit.studio.i18n import LANGUAGES, choose_language, translator
from domainfit.studio.jobs import FINAL_STATES, JobStore
from domainfit.studio.settings import StudioSettings

__all__ = ["create_studio"]

_MAX_UPLOAD = 200 * 1024 * 1024


def create_studio(settings: StudioSettings | None = None, *, keys: KeyStore | None = None, recover: bool = True) -> FastAPI:
    settings = settings or StudioSettings()
    workdir = Path(settings.workdir).resolve()
    keys = keys if keys is not None else KeyStore.from_sources(settings.api_keys_file)
    auth_on = (not is_loopback(settings.host)) if settings.require_auth is None else settings.require_auth
    if auth_on and not keys.enabled:
        why = _("the studio binds {host}, beyond this machine, so it needs API keys: set DOMAINFIT_API_KEYS or "
                "--api-keys-file (`domainfit keygen` makes one), or bind 127.0.0.1").format(host=settings.host)
        raise ConfigError([("api_keys", why)])
    store = JobStore(settings.store_target, workdir=workdir)
    env = Environment(loader=PackageLoader("domainfit.studio", "templates"), autoescape=select_autoescape(["html"]))
    env.globals["zip"] = zip
    models: dict[str, api.Model] = {}  # loaded once per bundle (and its created time): the Try page answers fast

    app = FastAPI(title="domainfit studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_PageLanguage)
    app.mount("/static", StaticFiles(packages=[("domainfit.studio", "static")]), name="static")
    app.state.store, app.state.settings = store, settings
    if recover:
        app.state.resumed = store.recover()

    def page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        lang = choose_language(request.cookies.get("lang"), request.headers.get("accept-language"))
        html = env.get_template(template).render(t=translator(lang), lang=lang, languages=LANGUAGES, path=request.url.path,
                                                 query=str(request.url.query), auth_on=auth_on, **context)
        return HTMLResponse(html, status_code=status)

    def inside(relative: str, what: str) -> Path:
        return files.resolve_inside(workdir, relative, what=what)

    def model_of(bundle: str) -> api.Model:
        path = inside(bundle, "bundle")
        stamp = f"{path}:{(path / 'domainfit.json').stat().st_mtime_ns}"
        if stamp not in models:
            models[stamp] = api.load(path, variant="torch")
        return models[stamp]

    @app.exception_handler(DomainfitError)
    async def _user_error(request: Request, exc: DomainfitError):
        if "text/html" in request.headers.get("accept", ""):
            return page(request, "error.html", status=422, error=exc)
        return JSONResponse({"error": {"message": exc.message, "where": exc.where, "hint": exc.hint}}, status_code=422)

    # ---- chrome
    @app.get("/", include_in_schema=False)
    async def home():
        return RedirectResponse("/data", status_code=303)

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/lang/{code}")
    async def set_language(code: str, request: Request):
        back, base = request.headers.get("referer") or "", str(request.base_url)
        target = "/" + back[len(base):] if back.startswith(base) else "/"  # back to the page, never to another site
        response = RedirectResponse(target, status_code=303)
        if code in LANGUAGES:
            response.set_cookie("lang", code, max_age=365 * 86400, samesite="lax")
        return response

    @app.get("/login")
    async def login_page(request: Request, next: str = "/"):
        return page(request, "login.html", next=next if next.startswith("/") else "/")

    @app.post("/login")
    async def login(request: Request):
        body = await request.json()
        key = await keys.verify(str(body.get("key") or "").strip())
        if key is None:
            return JSONResponse({"error": {"message": translator(choose_language(request.cookies.get("lang"),
                                                                              request.headers.get("accept-language")))("login.wrong")}},
                                status_code=401)
        response = JSONResponse({"ok": True})
        response.set_cookie(COOKIE, str(body["key"]).strip(), httponly=True, samesite="strict", max_age=12 * 3600)
        return response

    # ---- data
    @app.get("/data")
    async def data_page(request: Request):
        return page(request, "data.html", files=files.data_files(workdir), backbone=settings.backbone or "")

    @app.post("/data/upload")
    async def upload(request: Request):
        name = Path(request.headers.get("x-filename") or "").name
        if not name or Path(name).suffix.lower() not in files.DATA_SUFFIXES:
            raise DomainfitError(_("cannot take {name}").format(name=repr(name or _("a file without a name"))),
                                 where="upload",
                                 hint=_("send a table: {suffixes}").format(suffixes=", ".join(files.DATA_SUFFIXES)))
        body = await request.body()
        if len(body) > _MAX_UPLOAD:
            raise DomainfitError(_("the file is larger than {size} MiB").format(size=_MAX_UPLOAD // 2**20),
                                 where="upload",
                                 hint=_("pick it from the working folder instead"))
        target = workdir / "uploads" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        return {"path": target.relative_to(workdir).as_posix()}

    @app.get("/data/check")
    async def data_check(request: Request, file: str, backbone: str = ""):
        path = inside(file, "file")
        report, error = None, None
        try:
            report = await asyncio.to_thread(api.check_data, path, model=backbone or settings.backbone)
        except DomainfitError as exc:
            error, report = exc, getattr(exc, "report", None)
        return page(request, "check.html", file=file, report=report.to_dict() if report is not None else None, error=error,
                    suggestion=_suggestion(file, report), backbone=backbone or settings.backbone or "")

    @app.get("/data/redacted")
    async def redacted(file: str):
        """A copy of the file with personal data replaced by placeholders ([PHONE], [EMAIL], ...): `domainfit redact`."""
        path = inside(file, "file")
        out = workdir / "uploads" / f"{path.stem}.redacted{path.suffix}"
        await asyncio.to_thread(api.redact_file, path, out)
        return Response(out.read_bytes(), media_type="application/octet-stream",
                        headers={"content-disposition": f'attachment; filename="{out.name}"'})

    @app.get("/data/rejects")
    async def rejects(file: str, backbone: str = ""):
        from domainfit.config import DataConfig
        from domainfit.data import prepare_data, write_rejects

        path = inside(file, "file")
        prepared = await asyncio.to_thread(prepare_data, DataConfig(train=path))
        out = workdir / "uploads" / f"{path.stem}.rejects.csv"
        write_rejects(prepared.rejects, out)
        return Response(out.read_bytes(), media_type="text/csv",
                        headers={"content-disposition": f'attachment; filename="{path.stem}.rejects.csv"'})

    # ---- train
    @app.get("/train")
    async def train_page(request: Request, data: str = "", method: str = "full", text_column: str = "", label_column: str = ""):
        preset = {"data.train": data, "method": method, "model.backbone": settings.backbone or "",
                  "data.text_column": text_column, "data.label_column": label_column,
                  "output": f"runs/{Path(data).stem or 'model'}-{method}"}
        return page(request, "train.html", fields=form_fields(), options=option_fields(method), preset=preset)

    @app.post("/train/validate")
    async def train_validate(request: Request):
        _overrides, problems = validate_values(_relative_paths(await request.json(), workdir))
        return {"problems": [[k, m] for k, m in problems]}

    @app.post("/train")
    async def train_start(request: Request):
        form = _relative_paths(await request.json(), workdir)
        overrides, problems = validate_values(form)
        if problems:
            return JSONResponse({"problems": [[k, m] for k, m in problems]}, status_code=422)
        output = str(form.get("output") or "").strip() or "runs/model"
        job_id = store.create("train", {"overrides": overrides, "form": form}, output)
        await asyncio.to_thread(store.launch, job_id)
        return {"job": job_id, "url": f"/jobs/{job_id}"}

    # ---- jobs
    @app.get("/jobs")
    async def jobs_page(request: Request):
        store.reap()
        return page(request, "jobs.html", jobs=store.all())

    @app.get("/jobs/{job_id}")
    async def job_page(request: Request, job_id: str):
        store.reap()
        job = store.get(job_id)
        if job is None:
            raise DomainfitError(_("no job {job}").format(job=repr(job_id)), where="jobs",
                                 hint=_("the Jobs page lists them"))
        return page(request, "job.html", job=job, final=job["state"] in FINAL_STATES)

    @app.get("/jobs/{job_id}/events")
    async def job_events(job_id: str):
        async def stream():
            last = None
            while True:
                store.reap()
                job = await asyncio.to_thread(store.get, job_id)
                if job is None:
                    return
                state = json.dumps({"state": job["state"], "progress": job["progress"], "error": job["error"]})
                if state != last:
                    yield f"data: {state}\n\n"
                    last = state
                if job["state"] in FINAL_STATES:
                    return
                await asyncio.sleep(0.5)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"cache-control": "no-cache"})

    @app.post("/jobs/{job_id}/cancel")
    async def job_cancel(job_id: str):
        await asyncio.to_thread(store.cancel, job_id)
        return {"state": store.get(job_id)["state"]}

    @app.post("/jobs/{job_id}/resume")
    async def job_resume(job_id: str):
        job = store.get(job_id)
        if job is None or job["state"] not in ("cancelled", "failed"):
            raise DomainfitError(_("only a cancelled or failed job can be resumed"), where=f"job {job_id}")
        await asyncio.to_thread(store.launch, job_id, resume=True)
        return {"state": "running"}

    # ---- models
    @app.get("/models")
    async def models_page(request: Request):
        rows = [_describe(workdir, b) for b in files.bundles(workdir)]
        versions, registry_error = await asyncio.to_thread(_registry_versions, settings.registry)
        return page(request, "models.html", bundles=rows, versions=versions, registry_error=registry_error,
                    actions=store.actions())

    @app.post("/models/alias")
    async def move_alias(request: Request):
        """Promote a version to an alias, or roll the alias back (the page asks for a confirmation first); who and
        when are recorded."""
        from domainfit.model_registry import ModelRegistry

        if not settings.registry:
            raise DomainfitError(_("no registry configured"), where="models",
                                 hint=_("start the studio with --registry URI"))
        body = await request.json()
        registry = ModelRegistry(settings.registry)
        name, alias = str(body.get("name") or ""), str(body.get("alias") or "champion")
        if body.get("action") == "rollback":
            result = await asyncio.to_thread(registry.rollback, name, alias)
        else:
            result = await asyncio.to_thread(registry.promote, name, body.get("version"), alias)
        who = request.scope.get("state", {}).get("key_name") or "local user"
        store.record(who, str(body.get("action") or "promote"), {"name": name, **result})
        return result

    @app.post("/models/compress")
    async def compress_start(request: Request):
        """Compress a bundle as a job (`domainfit compress`); its page shows the parity gate's verdict."""
        body = await request.json()
        bundle = str(body.get("bundle") or "")
        inside(bundle, "bundle")
        to, quantize = str(body.get("to") or "onnx"), str(body.get("quantize") or "int8")
        try:
            tolerance = float(body.get("tolerance", 1.0))
        except (TypeError, ValueError):
            raise ConfigError([("--tolerance", _("{tolerance} is not a number of points").format(
                tolerance=repr(body.get("tolerance"))))]) from None
        form = {"method": f"compress: {to} {quantize}", "data.train": ""}
        job_id = store.create("compress", {"form": form, "compress": {"bundle": bundle, "to": to, "quantize": quantize,
                                                                      "tolerance": tolerance}}, bundle)
        await asyncio.to_thread(store.launch, job_id)
        return {"job": job_id, "url": f"/jobs/{job_id}"}

    @app.get("/models/report")
    async def model_report(bundle: str):
        report = inside(bundle, "bundle") / "report.html"
        if not report.is_file():
            raise DomainfitError(_("{bundle} has no report.html").format(bundle=bundle), where="bundle",
                                 hint=_("bundles trained with test rows have one"))
        return HTMLResponse(report.read_text(encoding="utf-8"))

    # ---- try it
    @app.get("/try")
    async def try_page(request: Request, bundle: str = ""):
        return page(request, "try.html", bundles=files.bundles(workdir), chosen=bundle)

    @app.post("/try")
    async def try_predict(request: Request):
        from domainfit.evaluation.explain.html import highlight_html

        body = await request.json()
        texts = [t for t in str(body.get("texts") or "").splitlines() if t.strip()][:50]
        if not texts:
            raise DomainfitError(_("nothing to predict"), where="texts", hint=_("type or paste one text per line"))
        model = await asyncio.to_thread(model_of, str(body.get("bundle") or ""))
        explain = bool(body.get("explain", True))
        try:
            preds = await asyncio.to_thread(model.predict, texts, top_k=3, explain=explain)
        except DomainfitError:  # a model that cannot be explained (entities) still answers
            preds = await asyncio.to_thread(model.predict, texts, top_k=3)
        for p in preds:
            if "explanation" in p:
                p["highlight"] = Markup(highlight_html(p["explanation"]))
        return page(request, "predictions.html", texts=texts, preds=preds, task=model.task)

    compare_page.register(app, page=page, store=store, settings=settings, workdir=workdir)
    monitor_page.register(app, page=page, inside=inside, settings=settings, workdir=workdir)
    if auth_on:
        app.add_middleware(StudioGate, keys=keys)
    return app


def _relative_paths(form: dict, workdir: Path) -> dict:
    """Data and output paths typed relative to the working folder, as the worker (run there) reads them; a path
    leading out of the working folder is refused."""
    out = dict(form)
    for key in ("data.train", "data.val", "data.test", "output"):
        if out.get(key):
            files.resolve_inside(workdir, str(out[key]), what=key)
    return out


def _suggestion(file: str, report) -> dict:
    if report is None:
        return {}
    cols = report.columns if hasattr(report, "columns") else {}
    from domainfit.interfaces import infer_task

    return {"task": infer_task(file) or "classification", "text_column": cols.get("text"), "label_column": cols.get("label"),
            "method": "head" if (report.counts.get("rows_kept") or 0) < 2000 else "full"}


def _describe(workdir: Path, bundle: str) -> dict:
    from domainfit.bundle import read_meta

    path = workdir / bundle
    try:
        meta = read_meta(path)
    except DomainfitError as exc:
        return {"path": bundle, "error": exc.message}
    metrics = {}
    if (path / "metrics.json").is_file():
        model = (json.loads((path / "metrics.json").read_text(encoding="utf-8")).get("model") or {})
        metrics = {k: v for k, v in model.items() if isinstance(v, (int, float)) and k in ("accuracy", "macro_f1", "mae", "f1", "recall_at_1")}
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    variants = []
    for spec in sorted((path / "variants").glob("*/variant.json")):
        v = json.loads(spec.read_text(encoding="utf-8"))
        variants.append({"name": v.get("name", spec.parent.name), "passed": v.get("parity_passed"), "size_mb": v.get("size_mb")})
    return {"path": bundle, "task": meta.task, "method": meta.method, "labels": len(meta.labels), "metrics": metrics,
            "size_mb": round(size / 2**20, 1), "created": meta.created, "report": (path / "report.html").is_file(),
            "quoted": quote(bundle), "variants": variants}


def _registry_versions(uri: str | None) -> tuple[list[dict], str | None]:
    if not uri:
        return [], None
    try:
        from domainfit.model_registry import ModelRegistry

        registry = ModelRegistry(uri)
        return [{"name": m["name"], **v} for m in registry.models() for v in registry.versions(m["name"])], None
    except Exception as exc:  # noqa: BLE001 - the registry may be away: the page shows the bundles anyway
        return [], f"{type(exc).__name__}: {exc}"


class _PageLanguage:
    """Each request is handled in its page's language (the `lang` cookie, else Accept-Language), so the errors
    domainfit raises while handling it (a config problem, a data check) read as the page does."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.requests import HTTPConnection

        conn = HTTPConnection(scope)
        with speaking(choose_language(conn.cookies.get("lang"), conn.headers.get("accept-language"))):
            await self.app(scope, receive, send)
