"""The ``escalator`` command: validate, schema, simulate, plan, sync, run, demo."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from escalator.config import Config, ConfigError, config_schema, load_config

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


@app.command()
def validate(
    path: Annotated[Path, typer.Argument(help="config file or directory")] = DEFAULT_CONFIG,
    secrets: Annotated[bool, typer.Option(help="check that every ${ENV} secret is set")] = True,
) -> None:
    """Check the config; print a one-line summary, or every problem as file:line:column."""
    config = load_or_exit(path)
    if secrets:
        problems = config.secret_problems()
        if problems:
            raise fail_with(ConfigError(problems))
    m = config.model
    out.print(
        f"{path}: ok — {len(m.calendars)} calendars, {len(m.sla.policies)} SLA policies, "
        f"{len(m.levels)} levels, {len(m.rules)} rules, {len(m.templates)} templates, "
        f"{len(m.channels)} channels, {len(m.sources)} sources (version {config.policy.version})",
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


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:  # pragma: no cover - interactive
        raise SystemExit(130) from None
if __name__ == "__main__":
    main()
