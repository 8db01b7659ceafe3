"""`domainfit ls methods|tasks|baselines|pii`: what the registries hold, as tables."""

from __future__ import annotations

import typer

from domainfit.i18n import _

__all__ = ["ls_app"]

ls_app = typer.Typer(help="List registered components.", no_args_is_help=True)


@ls_app.command("methods")
def ls_methods() -> None:
    """Adaptation methods, their tasks and options."""
    from rich.table import Table

    from domainfit.cli.ui import console
    from domainfit.registry import methods

    table = Table(title=_("methods (`--method NAME`, options under `method_options:`)"), title_justify="left")
    for col in (_("name"), _("tasks"), "lr", _("description"), _("options (defaults)")):
        table.add_column(col, overflow="fold")
    for name, m in methods.items():
        opts = ", ".join(f"{k}={v!r}" for k, v in m.Options().model_dump().items())
        table.add_row(name, ", ".join(sorted(m.tasks)), f"{getattr(m, 'default_lr', 1e-4):g}", m.description, opts or "—")
    console.print(table)


def _name_table(title: str, registry, extra: tuple[str, ...] = (), cells=lambda item: ()) -> None:
    from rich.table import Table

    from domainfit.cli.ui import console

    table = Table(title=title, title_justify="left")
    for col in (_("name"), *extra, _("description")):
        table.add_column(col, overflow="fold")
    for name, item in registry.items():
        table.add_row(name, *cells(item), item.description)
    console.print(table)


@ls_app.command("tasks")
def ls_tasks() -> None:
    """Tasks, their options (`task_options:`) and default baselines."""
    from domainfit.registry import tasks

    _name_table(_("tasks (`--task NAME`, options under `task_options:`)"), tasks,
                (_("kind / targets"), _("options (defaults)"), _("baselines")),
                lambda t: (f"{getattr(t, 'kind', '?')} / {getattr(t, 'targets', '?')}",
                           ", ".join(f"{k}={v!r}" for k, v in t.Options().model_dump().items()) or "—",
                           ", ".join(t.default_baselines)))


@ls_app.command("baselines")
def ls_baselines() -> None:
    """Baselines every model is compared against, and the tasks (or task kinds / targets) each answers."""
    from domainfit.registry import baselines

    _name_table(_("baselines (`--set baselines=[tfidf]`)"), baselines, (_("tasks"),), lambda b: (", ".join(sorted(b.tasks)),))


@ls_app.command("pii")
def ls_pii() -> None:
    """Kinds of personal data `--redact` and `data redact` replace, and their placeholders."""
    from domainfit.data.pii import DETECTORS

    _name_table(_("personal data (`--redact all` or `--redact phone,email`; config `data.redact`)"), DETECTORS, (_("placeholder"),),
                lambda d: (d.placeholder,))


@ls_app.command("objectives")
def ls_objectives() -> None:
    """Pretraining objectives of `domainfit pretrain`."""
    from domainfit.pretraining.objectives import objectives

    _name_table(_("pretraining objectives (`domainfit pretrain --objective NAME`, several joined by +)"), objectives)

@ls_app.command("detectors")
def ls_detectors() -> None:
    """Out-of-scope detectors of classification bundles (`task_options.out_of_scope.detector`)."""
    from domainfit.ood import ood_detectors

    _name_table(_("out-of-scope detectors (`task_options.out_of_scope: {detector: NAME}`; auto: chosen on validation)"),
                ood_detectors, (_("reads"),), lambda d: (_("pooled embedding") if d.needs_embeddings else "logits",))
