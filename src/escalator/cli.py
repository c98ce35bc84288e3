"""The ``escalator`` command: validate, schema, simulate, plan, sync, run, demo."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from engine.model import Action
from escalator.config import Config, ConfigError, config_schema, load_config
from escalator.cycle import Sidecar
from escalator.store import StateStore

app = typer.Typer(
    name="escalator",
    help="Escalation matrix and SLA clock beside Zendesk, Jira and HubSpot.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_CONFIG = Path(os.environ.get("ESCALATOR_CONFIG", "config"))
ConfigOption = Annotated[
    Path, typer.Option("--config", "-c", help="config file or directory of *.yaml")
]
EXIT_CONFIG = 2

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


def fail_with(problems: ConfigError) -> typer.Exit:
    for problem in problems.problems:
        err.print(str(problem), markup=False, soft_wrap=True)
    return typer.Exit(EXIT_CONFIG)


def load_or_exit(path: Path) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise fail_with(exc) from None


def ready_or_exit(path: Path) -> Config:
    """The config, with every secret and source setting that ``plan``/``sync``/``run`` need
    checked at once (not one source per attempt); warnings are printed, not fatal."""
    from escalator.notify.channel import channel_problems
    from escalator.sources import source_problems

    config = load_or_exit(path)
    problems = config.secret_problems() + source_problems(config) + channel_problems(config)
    if problems:
        raise fail_with(ConfigError([*problems, *config.warnings]))
    for warning in config.warnings:
        err.print(str(warning), markup=False, soft_wrap=True)
    return config


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="config file or directory")] = DEFAULT_CONFIG,
    secrets: Annotated[
        bool, typer.Option(help="check that every ${ENV} secret is set (settings always are)")
    ] = True,
    strict: Annotated[bool, typer.Option("--strict", help="treat warnings as errors")] = False,
) -> None:
    """Check the config; print a one-line summary, or every problem as file:line:column."""
    config = load_or_exit(path)
    from escalator.sources import source_problems

    problems = config.secret_problems() if secrets else []
    problems += source_problems(config, None if secrets else {})
    from escalator.notify.channel import channel_problems

    problems += channel_problems(config, None if secrets else {})
    warnings = [w.as_error() if strict else w for w in config.warnings]
    if problems or (strict and warnings):
        raise fail_with(ConfigError([*problems, *warnings]))
    for warning in warnings:
        err.print(str(warning), markup=False, soft_wrap=True)
    m = config.model
    out.print(
        f"{path}: ok — {len(m.calendars)} calendars, {len(m.sla.policies)} SLA policies, "
        f"{len(m.levels)} levels, {len(m.rules)} rules, {len(m.templates)} templates, "
        f"{len(m.channels)} channels, {len(m.sources)} sources (version {config.policy.version})"
        + (f", {len(warnings)} warnings" if warnings else ""),
        markup=False,
    )


@app.command()
def schema() -> None:
    """Print the JSON Schema of the config, for editors' autocompletion."""
    sys.stdout.write(json.dumps(config_schema(), indent=2) + "\n")


@app.command()
def simulate(
    timeline: Annotated[Path, typer.Argument(help="timeline YAML to replay")],
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Replay a timeline through the engine with exact, event-driven time."""
    from engine.simulation import SimulationError
    from engine.simulation import simulate as run_simulation
    from escalator.simulate_report import print_timeline, result_json
    from escalator.timeline import load_timeline

    cfg = load_or_exit(config)
    try:
        tl = load_timeline(timeline)
    except ConfigError as exc:
        raise fail_with(exc) from None
    try:
        result = run_simulation(cfg.policy, tl.tickets, tl.events, tl.until)
    except SimulationError as exc:
        err.print(f"{timeline}: {exc}", markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    if as_json:
        sys.stdout.write(json.dumps(result_json(result, tl.ids), indent=2) + "\n")
    else:
        print_timeline(result, tl.ids, out)


def open_or_exit(config: Config) -> contextlib.AbstractContextManager[Sidecar]:
    from escalator.app import open_sidecar

    return open_sidecar(config)


def _print_actions(actions: Sequence[Action], as_json: bool) -> None:
    from engine.codec import action_to_dict
    from escalator.simulate_report import describe

    if as_json:
        sys.stdout.write(json.dumps([action_to_dict(a) for a in actions], indent=2) + "\n")
        return
    table = Table(title="Write-backs")
    for column in ("ticket", "rule", "level", "action"):
        table.add_column(column)
    for a in actions:
        table.add_row(a.ticket, a.rule, str(a.level or ""), describe(a))
    out.print(table)


@app.command()
def plan(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="print the actions as JSON")] = False,
    pull: Annotated[bool, typer.Option(help="pull changes from the sources first")] = True,
) -> None:
    """Show the write-backs the next sync would make, without making them."""
    cfg = ready_or_exit(config)
    try:
        with open_or_exit(cfg) as sidecar:
            preview, _ = sidecar.preview(pull=pull)
    except ConfigError as exc:
        raise fail_with(exc) from None
    _print_actions(preview.actions, as_json)
    if not as_json:
        out.print(f"{len(preview.actions)} write-backs planned for {len(preview.tickets)} tickets.")


@app.command()
def sync(
    config: ConfigOption = DEFAULT_CONFIG,
    once: Annotated[bool, typer.Option("--once", help="one cycle, then exit")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print what was written as JSON")] = False,
) -> None:
    """Pull, plan and write back (one cycle with --once; otherwise cycle at the poll interval)."""
    import time

    cfg = ready_or_exit(config)
    try:
        with open_or_exit(cfg) as sidecar:
            while True:
                report = sidecar.cycle()
                written = [a for a, _ in report.written]
                _print_actions(written, as_json)
                if not as_json:
                    failed = [r for _, r in report.written if r.status.value == "failed"]
                    out.print(
                        f"{len(report.applied)} written, {report.recorded} already shown, "
                        f"{len(failed)} failed; pulled "
                        + ", ".join(f"{n}: {c}" for n, c in report.pulled.items())
                    )
                    for name, error in report.failed_sources.items():
                        err.print(f"source {name} failed: {error}", markup=False)
                if once:
                    raise typer.Exit(1 if report.failed_sources else 0)
                interval = min((s.poll_interval for s in sidecar.sources.values()), default=60)
                time.sleep(interval)
    except ConfigError as exc:
        raise fail_with(exc) from None


@app.command()
def run(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Run the sidecar: scheduled polls, the SLA clock, webhooks, health and metrics."""
    import signal

    import uvicorn

    from escalator.http import create_app
    from escalator.runner import Runner

    cfg = ready_or_exit(config)
    service = cfg.model.service
    host = os.environ.get("ESCALATOR_LISTEN_HOST", service.listen_host)
    port = int(os.environ.get("ESCALATOR_LISTEN_PORT", str(service.listen_port)))
    try:
        with open_or_exit(cfg) as sidecar:
            runner = Runner(sidecar, config_path=config)
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(runner),
                    host=host,
                    port=port,
                    log_level="warning",
                    access_log=False,
                    lifespan="off",
                    timeout_graceful_shutdown=5,
                )
            )
            signal.signal(signal.SIGHUP, lambda *_: runner.reload())
            # uvicorn re-raises the signal it shut down on, after restoring this handler:
            # a no-op here lets us stop the scheduler and flush the store, then exit 0
            signal.signal(signal.SIGTERM, lambda *_: None)
            runner.start()
            sidecar.log.info("http.listening", host=host, port=port)
            try:
                server.run()  # returns on SIGTERM / SIGINT
            finally:
                runner.stop()
    except ConfigError as exc:
        raise fail_with(exc) from None


@app.command()
def audit(
    config: ConfigOption = DEFAULT_CONFIG,
    ticket: Annotated[str | None, typer.Option(help="one ticket key, e.g. zendesk:42")] = None,
    limit: Annotated[int, typer.Option(help="how many entries, newest first")] = 50,
) -> None:
    """Explain what the sidecar decided and wrote, and why (the audit log in the store)."""
    from escalator.storeaccess import AmbiguousTicket, resolve_ticket_key

    with open_read_only(config) as store:
        if ticket is not None:
            try:
                ticket = resolve_ticket_key(ticket, (t.key for t in store.load_tickets()))
            except AmbiguousTicket as exc:
                err.print(str(exc), markup=False)
                raise typer.Exit(EXIT_CONFIG) from None
        entries = store.audit_log(ticket, limit)
    table = Table(title="Audit log" + (f" of {ticket}" if ticket else ""))
    for column in ("at (UTC)", "ticket", "event", "detail"):
        table.add_column(column)
    for e in entries:
        d = e.detail
        if e.event == "decision":
            text = f"{d.get('rule')}: {d.get('reason')}"
        elif e.event == "write":
            text = f"{d.get('kind')} ({d.get('rule')}) {d.get('status')} {d.get('detail') or ''}"
        else:
            text = json.dumps(d, default=str)
        table.add_row(e.at.strftime("%Y-%m-%d %H:%M:%S"), e.ticket or "", e.event, text)
    out.print(table)


@app.command()
def quarantine(
    config: ConfigOption = DEFAULT_CONFIG,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
    retry: Annotated[
        bool, typer.Option("--retry", help="fetch each record again now (needs the sources)")
    ] = False,
) -> None:
    """Records a helpdesk sent that could not be understood: what was wrong, and since when."""
    from escalator.quarantine import print_quarantine

    if retry:
        cfg = load_or_exit(config)
        with open_or_exit(cfg) as sidecar:
            released = sidecar.retry_quarantined()
            err.print(f"{released} records left quarantine and will be planned.")
    with open_read_only(config) as store:
        entries = store.quarantined()
    print_quarantine(entries, as_json, out)


@app.command("migrate-policy")
def migrate_policy(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Judge every open ticket by the current policy from now on (by default a ticket keeps
    the policy version it started under until it is solved)."""
    from escalator.logs import EventLog
    from escalator.policies import PolicyBook

    cfg = load_or_exit(config)
    with open_read_only(config) as store:
        book = PolicyBook(store, cfg, EventLog(level="warning"))
        moved = book.migrate_open(store.load_tickets())
    out.print(
        f"{moved} open ticket{'s' if moved != 1 else ''} now judged by policy "
        f"{cfg.policy.version}."
    )


def open_read_only(config: Path) -> contextlib.AbstractContextManager[StateStore]:
    """The configured store, which must exist: exit 2 with a message otherwise."""
    from escalator.app import store_url
    from escalator.storeaccess import StoreMissing, open_existing_store

    cfg = load_or_exit(config)
    try:
        return open_existing_store(store_url(cfg, os.environ))
    except StoreMissing as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(EXIT_CONFIG) from None


@app.command()
def demo(
    config: ConfigOption = DEFAULT_CONFIG,
    seconds: Annotated[float, typer.Option(help="how long to let the sidecar run")] = 40.0,
) -> None:
    """Run the sidecar on the built-in emulators of Zendesk, Jira and HubSpot, live."""
    from escalator.live import run_demo

    cfg_path = config
    raise typer.Exit(run_demo(cfg_path, seconds, out))


@app.command()
def explain(
    ticket: Annotated[str, typer.Argument(help="SYSTEM:ID (e.g. zendesk:42), or an ID alone")],
    config: ConfigOption = DEFAULT_CONFIG,
    at: Annotated[
        str | None, typer.Option(help="as of this instant (ISO 8601); default: now")
    ] = None,
    timeline: Annotated[
        Path | None, typer.Option(help="explain from a simulated timeline, not the store")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
) -> None:
    """Why the sidecar did, or did not, escalate a ticket: SLA, rules, writes, people."""
    from escalator.explain_command import run_explain

    cfg = load_or_exit(config)
    raise typer.Exit(run_explain(cfg, ticket, at, timeline, as_json, out, err))


@app.command()
def report(
    config: ConfigOption = DEFAULT_CONFIG,
    since: Annotated[str | None, typer.Option(help="the last 30d, 12h, 4w (default 30d)")] = None,
    month: Annotated[str | None, typer.Option(help="one calendar month, e.g. 2026-11")] = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html, csv or json")] = "md",
    out_file: Annotated[Path | None, typer.Option("--out", help="write here, not stdout")] = None,
) -> None:
    """Escalation KPIs, SLA attainment, breaches and service credits, from the store."""
    from datetime import UTC, datetime

    from escalator.app import store_url
    from escalator.report import FORMATS, parse_period, render, report_from_store
    from escalator.store import open_store

    cfg = load_or_exit(config)
    now = datetime.now(UTC)
    if fmt not in FORMATS:
        err.print(f"--format {fmt!r}: one of {', '.join(FORMATS)}", markup=False)
        raise typer.Exit(EXIT_CONFIG)
    try:
        period = parse_period(since, month, now)
    except ValueError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(EXIT_CONFIG) from None
    with open_store(store_url(cfg, os.environ)) as store:
        text = render(report_from_store(store, cfg, period, now), fmt)
    if out_file is None:
        sys.stdout.write(text)
    else:
        out_file.write_text(text, encoding="utf-8")
        err.print(f"wrote {out_file}", markup=False)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
