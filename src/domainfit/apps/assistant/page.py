"""The chat page, served by the assistant's process from files shipped in the package (no CDN, works offline):
`/chat/` (customer view and agent view), its script, style sheet and one JSON catalogue of strings per language.

The page itself holds no data, so it needs no API key (with keys on, the page asks for one and sends it with each
API call)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from fastapi.responses import RedirectResponse, Response

from domainfit.serving.app import ApiError

__all__ = ["LANGUAGES", "PAGE_FILES", "PAGE_PREFIX", "page_router", "read_catalogue"]

PAGE_PREFIX = "/chat"
LANGUAGES = ("en", "zh")
PAGE_FILES = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
              "style.css": "text/css; charset=utf-8", **{f"i18n/{lang}.json": "application/json" for lang in LANGUAGES}}


def _page_file(name: str) -> bytes:
    return files("domainfit.apps.assistant").joinpath("page", *name.split("/")).read_bytes()


def read_catalogue(language: str) -> dict:
    import json

    return json.loads(_page_file(f"i18n/{language}.json"))


def page_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(PAGE_PREFIX)
    async def to_page():
        return RedirectResponse(f"{PAGE_PREFIX}/")

    @router.get(PAGE_PREFIX + "/{name:path}")
    async def page(name: str):
        name = name or "index.html"
        if name not in PAGE_FILES:  # a fixed list: nothing else in the package can be read through this route
            raise ApiError(404, "not_found", f"no page file {name!r}")
        return Response(_page_file(name), media_type=PAGE_FILES[name], headers={"cache-control": "no-cache"})

    return router
