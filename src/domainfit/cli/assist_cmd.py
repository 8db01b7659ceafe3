"""`domainfit assist serve|eval`: the support assistant (a thin shell over domainfit.apps.assistant)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from domainfit.i18n import _

__all__ = ["assist_app"]

assist_app = typer.Typer(help="The support assistant (智能客服): intent answers, FAQ, hand-off to a person, chat page.",
                         no_args_is_help=True)
Opt = typer.Option


@assist_app.command("serve")
def serve(
    config: Annotated[Path, typer.Argument(help="assistant.yaml")],
    host: Annotated[Optional[str], Opt("--host", help="address (default: serve.host of the config, 127.0.0.1)")] = None,
    port: Annotated[Optional[int], Opt("--port", help="port (default: serve.port of the config, 8000)")] = None,
    api_keys: Annotated[Optional[Path], Opt("--api-keys", help="YAML of hashed API keys (`domainfit keygen`); or set DOMAINFIT_API_KEYS")] = None,
    insecure_no_auth: Annotated[bool, Opt("--insecure-no-auth", help="serve without API keys on a non-loopback --host")] = False,
) -> None:
    """Serve the assistant: POST /v1/assist, GET /v1/handoffs, the chat page at /chat/, and the model service's
    routes (/v1/predict, /v1/feedback, /metrics, ...)."""
    from pydantic import ValidationError

    from domainfit.apps.assistant.config import load_assistant_config
    from domainfit.apps.assistant.service import serve_assistant
    from domainfit.config.load import validation_problems
    from domainfit.errors import ConfigError
    from domainfit.serving import ServeSettings

    loaded = load_assistant_config(config)
    flags = {"host": host, "port": port, "api_keys_file": api_keys, "insecure_no_auth": insecure_no_auth or None}
    try:
        settings = ServeSettings(**{**loaded.serve.model_dump(), **{k: v for k, v in flags.items() if v is not None}})
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, ServeSettings), source=_("assist serve options"),
                          hint=_("fix these options on the command line or under serve: in the assistant's YAML file; "
                                 "`domainfit assist serve --help` lists them")) from None
    typer.echo(_("chat page: {url}  (agent view: /chat/#agent)").format(url=f"http://{settings.host}:{settings.port}/chat/"), err=True)
    serve_assistant(loaded, settings)


@assist_app.command("eval")
def evaluate(
    config: Annotated[Path, typer.Argument(help="assistant.yaml")],
    data: Annotated[Path, Opt("--data", help="labelled messages: message/text, intent/label [, conversation_id, faq_id]")],
    text: Annotated[Optional[str], Opt("--text", help="message column")] = None,
    label: Annotated[Optional[str], Opt("--label", help="intent column")] = None,
    conversation: Annotated[Optional[str], Opt("--conversation", help="conversation id column")] = None,
    oos_label: Annotated[Optional[list[str]], Opt("--oos-label", help="a label meaning 'should go to a person' (repeatable; "
                                                  "default: oos, out_of_scope, other, 其他, human, handoff)")] = None,
    output: Annotated[Optional[Path], Opt("-o", "--output", help="write the report as JSON to this file")] = None,
    as_json: Annotated[bool, Opt("--json", help="print the report as JSON")] = False,
) -> None:
    """Replay labelled messages through the assistant: automation rate, answer accuracy, wrong-answer rate,
    hand-off precision, overall and per intent."""
    from domainfit.apps.assistant.evaluate import DEFAULT_OOS_LABELS, evaluate_assistant

    report = evaluate_assistant(config, data, text_column=text, label_column=label, conversation_column=conversation,
                                oos_labels=tuple(oos_label) if oos_label else DEFAULT_OOS_LABELS)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    _print(report)


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _print(report: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=_("assistant on {data} ({messages} messages)").format(data=report["data"], messages=report["messages"]))
    for column in (_("intent"), _("messages"), _("automation"), _("accuracy"), _("wrong"), _("hand-offs"), _("hand-off precision")):
        table.add_column(column, justify="left" if column == _("intent") else "right")
    rows = [(_("all"), report)] + list(report["per_intent"].items())
    for name, r in rows:
        table.add_row(name, str(r["messages"]), _pct(r["automation_rate"]), _pct(r["answer_accuracy"]),
                      _pct(r["wrong_answer_rate"]), str(r["handoffs"]), _pct(r["handoff_precision"]),
                      end_section=name == _("all"))
    console.print(table)
    console.print(_("automation {automation} · answer accuracy {accuracy} · wrong answers {wrong} · hand-off precision "
                    "{precision}").format(automation=_pct(report["automation_rate"]), accuracy=_pct(report["answer_accuracy"]),
                                          wrong=_pct(report["wrong_answer_rate"]), precision=_pct(report["handoff_precision"])),
                  soft_wrap=True)
    if report["handoff_reasons"]:
        console.print(_("hand-off reasons:") + " " + ", ".join(f"{k} {v}" for k, v in report["handoff_reasons"].items()), soft_wrap=True)
