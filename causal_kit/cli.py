"""The ``causal-kit`` command line: estimate, design, report, portfolio, history, registry, calendar, schema,
serve-mcp, demo.

Built for people and for schedulers (cron, Airflow). Every run can append to the results
registry; ``--json`` (before or after the command) prints one machine-readable JSON object
on stdout, and ``--json-out FILE`` writes the result itself to a file. Exit codes:

* ``0`` success;
* ``2`` a spec or data problem (``SpecError``, ``DataError``, ``IdentificationError``, a
  missing or unreadable file, an output path that is a folder, a registry path that is not a
  DuckDB file, an SQL error, an empty result): one clear line on stderr, no traceback;
* ``3`` the estimate ran but a diagnostic failed and ``--fail-on-diagnostic`` was given;
* ``1`` anything else (``--debug`` shows the traceback).

Examples
--------
::

    causal-kit estimate geo_test.yaml --data sales.csv --out report.html --json-out result.json
    causal-kit estimate geo_test.yaml --data "duckdb://sales.duckdb?query=SELECT * FROM weekly"
    causal-kit design geo_test.yaml --history sales_2023.csv --out design.html
    causal-kit history geo_test --out history.html
    causal-kit design geo_test.yaml --history sales_2023.csv --register
    causal-kit calendar list
    causal-kit portfolio promo.json checkout.json --out portfolio.html
    causal-kit --json estimate geo_test.yaml --data sales.parquet --fail-on-diagnostic

A consumer that stops reading (``causal-kit --json ... | head -c 700``) ends the run quietly
with exit code 141 (128 + SIGPIPE), as other command-line tools do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._parallel import use_execution
from .errors import CausalKitError, DataError, IdentificationError, SpecError

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_DIAGNOSTIC, EXIT_PIPE = 0, 1, 2, 3, 141
_INPUT_ERRORS = (SpecError, DataError, IdentificationError)


class _Output:
    """Where human text, warnings and the machine JSON go, per the global flags."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.quiet = bool(getattr(args, "quiet", False))
        self.machine = bool(getattr(args, "machine", False))

    def say(self, text: str) -> None:
        if not self.quiet and not self.machine:
            print(text)

    def emit(self, payload: dict[str, Any]) -> None:
        if self.machine:
            print(json.dumps(payload, default=str))


# ---------------------------------------------------------------------- helpers
def _load_spec(path: str) -> Any:
    from ._spec_io import read_spec_file
    from .spec import ExperimentSpec

    file = Path(path).expanduser()
    if file.is_dir():
        raise SpecError(f"spec file {path!r} is a directory; give the path of a YAML or JSON file.")
    if not file.is_file():
        raise SpecError(f"spec file {path!r} does not exist.")
    text = read_spec_file(file)
    if file.suffix.lower() == ".json":
        return ExperimentSpec.from_json(text)
    return ExperimentSpec.from_yaml(text)


def _check_outputs(args: argparse.Namespace) -> None:
    """Refuse output paths that are folders before any work is done (exit 2, not a traceback)."""
    for flag, attr in (("--out", "out"), ("--json-out", "json_out")):
        value = getattr(args, attr, None)
        tables = getattr(args, "format", None) == "parquet" and attr == "out" and args.command == "registry" and \
            Path(str(value)).suffix.lower() != ".parquet"  # evidence tables go into a folder
        if value and Path(value).expanduser().is_dir() and args.command != "demo" and not tables:
            raise DataError(
                f"{flag} {value!r} is a directory; give a file path inside it, e.g. "
                f"{str(Path(value) / ('report.html' if attr == 'out' else 'result.json'))!r}."
            )


def _registry(args: argparse.Namespace, *, required: bool = False) -> Any:
    from .registry import Registry

    if getattr(args, "no_registry", False):
        if required:
            raise SpecError(f"'{args.command}' reads the registry; drop --no-registry.")
        return None
    registry = Registry(getattr(args, "registry", None))
    registry.check_path()
    return registry


def _write_text(path: str, text: str) -> Path:
    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


def _save_report(obj: Any, path: str, spec: Any = None) -> Path:
    from . import report

    out = Path(path).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    if spec is not None:
        report.save_html(obj, out, spec=spec)
    else:
        report.save_html(obj, out)
    return out


def _results_json(results: list[Any]) -> str:
    if len(results) == 1:
        return results[0].to_json(indent=1)
    return json.dumps([r.to_dict() for r in results], indent=1)


def _describe_source(data: str | None, spec: Any) -> str | None:
    if data is not None:
        return str(data)
    block = spec.data
    if block is None:
        return None
    return " | ".join(f"{k}={v}" for k, v in block.model_dump(exclude_none=True).items())


def _worst(statuses: Sequence[str]) -> str:
    order = {"fail": 3, "warn": 2, "pass": 1, "not_applicable": 0}
    return max(statuses, key=order.__getitem__) if statuses else "not_applicable"


def _row(result: Any) -> dict[str, Any]:
    """The machine-readable line of one result: its ``tidy()`` numbers plus diagnostic statuses."""
    keys = ("method", "estimand", "estimate", "se", "ci_low", "ci_high", "p_value", "n_obs")
    tidy = result.tidy().iloc[0]
    row = {k: (tidy[k].item() if hasattr(tidy[k], "item") else tidy[k]) for k in keys}
    row["worst_status"] = result.worst_status
    seq = result.details.get("sequential")
    if seq:  # sequential readout: the decision a scheduler acts on
        row["sequential"] = {k: seq.get(k) for k in ("method", "look", "look_key", "n_looks_planned", "unplanned_look",
                                                      "boundary_z", "decision")}
    row["diagnostics"] = [{"name": d.name, "status": d.status} for d in result.diagnostics]
    return row


def _headline(name: str, result: Any) -> str:
    from .report import fmt

    line = (
        f"{name}: {result.method} {result.estimand} = {fmt.num(result.estimate, 4)} "
        f"({fmt.level(result.alpha)} CI {fmt.interval(*result.ci, digits=4)}), "
        f"p {fmt.pvalue(result.p_value)}, diagnostics: {result.worst_status}"
    )
    seq = result.details.get("sequential")
    if seq:
        of = f" of {seq['n_looks_planned']}" if seq.get("n_looks_planned") else ""
        line += f"; look {seq['look']}{of}: {seq['decision'].replace('_', ' ')}"
    return line


# ---------------------------------------------------------------------- commands
def _cmd_estimate(args: argparse.Namespace, out: _Output) -> int:
    from . import io
    from .api import estimate

    spec = _load_spec(args.spec)
    registry = _registry(args)  # a bad registry path fails before the estimate, not after
    base_dir = Path(args.spec).expanduser().resolve().parent
    data = io.load(args.data, spec=spec, base_dir=base_dir)
    # a sequential study numbers its looks from the registry's earlier runs of the same name
    looks = {"prior_looks": registry.prior_looks(spec.name)} if registry and spec.sequential else {}
    # design surrogate: the historical sample as a second source; --observational overrides
    # the spec's data.observational, which also applies when --data replaces data.path
    experiment = data["experiment"] if isinstance(data, dict) else data
    if getattr(args, "observational", None):
        data = {"experiment": experiment, "observational": io.load(args.observational, spec=spec)}
    elif not isinstance(data, dict) and (observational := io.load_observational(spec, base_dir)) is not None:
        data = {"experiment": experiment, "observational": observational}
    del experiment
    if registry is not None:  # concurrent studies in the calendar: contamination check (interference)
        from .registry import Calendar

        looks = {**looks, "calendar": Calendar(registry)}
    found = estimate(data, spec, **looks)
    results = list(found) if isinstance(found, list) else [found]
    del data
    report_path = _save_report(found, args.out, spec) if args.out else None
    json_path = _write_text(args.json_out, _results_json(results)) if args.json_out else None
    source = _describe_source(args.data, spec)
    run_id = registry.record(found, spec=spec, report_path=report_path, source=source) if registry else None
    worst = _worst([r.worst_status for r in results])
    failed = bool(args.fail_on_diagnostic and worst == "fail")
    for r in results:
        out.say(_headline(spec.name, r))
    if report_path:
        out.say(f"report: {report_path}")
    if json_path:
        out.say(f"result: {json_path}")
    if run_id:
        out.say(f"registry: run {run_id} appended to {registry.location}")
    if failed:
        failing = [f"{r.method}/{d.name}" for r in results for d in r.diagnostics if d.status == "fail"]
        print(f"causal-kit: diagnostic failed: {', '.join(failing)}", file=sys.stderr)
    out.emit({
        "command": "estimate",
        "status": "diagnostic_failed" if failed else "ok",
        "name": spec.name,
        "spec_hash": spec.spec_hash,
        "run_id": run_id,
        "report": str(report_path) if report_path else None,
        "result_json": str(json_path) if json_path else None,
        "worst_status": worst,
        "results": [_row(r) for r in results],
    })
    return EXIT_DIAGNOSTIC if failed else EXIT_OK


def _cmd_explain(args: argparse.Namespace, out: _Output) -> int:
    from . import io
    from .explain import explain, load_movement_spec
    from .report.movement import headline, render_movement

    spec = load_movement_spec(Path(args.spec).expanduser()) if Path(args.spec).expanduser().is_file() else None
    if spec is None:
        raise SpecError(f"movement spec file {args.spec!r} does not exist.")
    registry = _registry(args)
    analysis = explain(io.load(args.data), spec)
    report_path = _write_text(args.out, render_movement(analysis)) if args.out else None
    run_id = registry.record_movement(analysis, report_path=report_path, source=args.data) if registry else None
    out.say(headline(analysis.primary, spec.period))
    if report_path:
        out.say(f"report: {report_path}")
    if run_id:
        out.say(f"registry: run {run_id} appended to {registry.path}")
    out.emit({"command": "explain", "status": "ok", "name": spec.name, "run_id": run_id,
              "report": str(report_path) if report_path else None,
              "decompositions": [d.to_dict() for d in analysis.decompositions]})
    return EXIT_OK


def _cmd_design(args: argparse.Namespace, out: _Output) -> int:
    from . import io
    from .design import plan

    spec = _load_spec(args.spec)
    registry = _registry(args)
    register = bool(args.register or (spec.plan is not None and spec.plan.register_))
    if register and registry is None:
        raise SpecError("--register (plan.register) writes to the experiment calendar in the registry; drop --no-registry.")
    calendar = None
    if registry is not None:  # conflict checks against the live studies in the calendar
        from .registry import Calendar

        calendar = Calendar(registry)
    history = io.load(args.history, spec=spec)
    design = plan(history, spec, progress=None if not (out.quiet or out.machine) else False, calendar=calendar,
                  **({"register": True} if register else {}))
    del history
    report_path = _save_report(design, args.out, spec) if args.out else None
    json_path = _write_text(args.json_out, design.to_json()) if args.json_out else None
    run_id = (registry.record_design(design, spec=spec, report_path=report_path, source=str(args.history))
              if registry else None)
    out.say(f"{spec.name}: design ready")
    if report_path:
        out.say(f"report: {report_path}")
    if json_path:
        out.say(f"design: {json_path}")
    if run_id:
        out.say(f"registry: run {run_id} appended to {registry.location}")
    if register:
        window = design.details["calendar"]
        out.say(f"calendar: {spec.name} registered for {window['start']} to {window['end']}")
    out.emit({
        "command": "design",
        "registered": register,
        "status": "ok",
        "name": spec.name,
        "spec_hash": spec.spec_hash,
        "run_id": run_id,
        "report": str(report_path) if report_path else None,
        "design_json": str(json_path) if json_path else None,
    })
    return EXIT_OK


def _read_result(path: str) -> Any:
    from .result import EffectEstimate

    file = Path(path).expanduser()
    if not file.is_file():
        raise DataError(f"result file {path!r} does not exist.")
    try:
        payload = json.loads(file.read_text())
    except json.JSONDecodeError as exc:
        raise DataError(f"result file {path!r} is not valid JSON: {exc}") from None
    try:
        if isinstance(payload, list):
            return [EffectEstimate.from_dict(p) for p in payload]
        if isinstance(payload, dict) and "estimand" in payload and "method" in payload:
            return EffectEstimate.from_dict(payload)
        from .design.result import DesignResult

        return DesignResult.from_json(file.read_text())
    except (TypeError, KeyError, ValueError, AttributeError, ImportError) as exc:
        if isinstance(exc, CausalKitError):
            raise
        raise DataError(
            f"result file {path!r} is not a causal_kit result or design (written by --json-out): {exc}"
        ) from None


def _cmd_report(args: argparse.Namespace, out: _Output) -> int:
    obj = _read_result(args.result)
    path = _save_report(obj, args.out)
    out.say(f"report: {path}")
    out.emit({"command": "report", "status": "ok", "report": str(path)})
    return EXIT_OK


def _cmd_portfolio(args: argparse.Namespace, out: _Output) -> int:
    from . import report
    from .outcome import spec_of
    from .result import EffectEstimate

    studies, links = [], {}
    for name in args.results:
        obj = _read_result(name)
        if not isinstance(obj, (list, EffectEstimate)):
            raise DataError(f"result file {name!r} holds a design; a portfolio takes effect results (--json of estimate).")
        studies.append(obj)
        first = obj[0] if isinstance(obj, list) else obj
        page = Path(name).with_suffix(".html")
        if page.is_file():
            # Link each study to its own report when one sits beside its JSON.
            links[str(spec_of(first).get("name") or first.method)] = page.name
    registry = _registry(args)
    calendar = None
    if registry is not None:  # the live studies of the calendar, as the "Concurrent studies" section
        from .registry import Calendar

        calendar = Calendar(registry)
        calendar = calendar if len(calendar.units_table()) else None
    path = _write_text(args.out, report.render(studies, title=args.title, links=links, calendar=calendar))
    out.say(f"report: {path}")
    out.emit({"command": "portfolio", "status": "ok", "report": str(path), "studies": len(studies)})
    return EXIT_OK


def _cmd_history(args: argparse.Namespace, out: _Output) -> int:
    registry = _registry(args, required=True)
    frame = registry.history(args.name)
    if frame.empty:
        raise DataError(f"the registry {registry.location!r} has no runs named {args.name!r}.")
    path = None
    if args.out:
        from . import report

        path = _write_text(args.out, report.render_history(frame, title=f"{args.name}: readout history",
                                                           planned_end=args.planned_end))
    shown = ["timestamp", "run_id", "method", "estimate", "ci_low", "ci_high", "p_value", "worst_status"]
    if not out.quiet and not out.machine:
        with_pd_options = frame.loc[:, shown].to_string(index=False)
        print(with_pd_options)
    if path:
        out.say(f"report: {path}")
    out.emit({
        "command": "history",
        "status": "ok",
        "name": args.name,
        "report": str(path) if path else None,
        "runs": json.loads(frame.loc[:, shown].to_json(orient="records", date_format="iso")),
    })
    return EXIT_OK


def _cmd_calendar(args: argparse.Namespace, out: _Output) -> int:
    from .registry import Calendar

    calendar = Calendar(_registry(args, required=True))
    if args.action == "list":
        frame = calendar.list(status=args.status)
        shown = ["name", "owner", "start", "end", "status", "n_cells", "n_treated", "n_control", "n_excluded"]
        if not out.quiet and not out.machine:
            print(frame.loc[:, shown].to_string(index=False) if len(frame) else "the calendar is empty")
        path = None
        if args.out:
            from .report import render_calendar

            path = _write_text(args.out, render_calendar(calendar, include_closed=args.status == "closed"))
            out.say(f"report: {path}")
        out.emit({"command": "calendar list", "status": "ok", "report": str(path) if path else None,
                  "studies": json.loads(frame.loc[:, shown].to_json(orient="records"))})
    elif args.action == "show":
        shown = calendar.show(args.name)
        study = shown["study"]
        out.say(f"{study['name']}: {study['status']}, {study['start']} to {study['end']}"
                + (f", owner {study['owner']}" if isinstance(study["owner"], str) else ""))
        for cell, units in shown["units"].items():
            out.say(f"  {cell} ({len(units)}): {', '.join(units)}")
        out.emit({"command": "calendar show", "status": "ok", "study": json.loads(json.dumps(study, default=str)),
                  "units": shown["units"]})
    elif args.action == "start":
        calendar.start(args.name)
        out.say(f"calendar: {args.name} running")
        out.emit({"command": "calendar start", "status": "ok", "name": args.name})
    else:
        calendar.close(args.name, end=args.end)
        out.say(f"calendar: {args.name} closed")
        out.emit({"command": "calendar close", "status": "ok", "name": args.name})
    return EXIT_OK


def _cmd_registry_export(args: argparse.Namespace, out: _Output) -> int:
    registry = _registry(args, required=True)
    tables = args.format == "parquet" and Path(args.out).suffix.lower() != ".parquet"
    if args.format in ("jsonld", "ttl") or tables:
        from .knowledge.export import export_registry

        paths = export_registry(args.out, args.format, registry=registry)
        out.say(f"exported the evidence records of {registry.path} to {', '.join(map(str, paths))}")
        out.emit({"command": "registry export", "status": "ok", "paths": [str(p) for p in paths],
                  "format": args.format})
        return EXIT_OK
    path = registry.export(args.out, format=args.format)
    out.say(f"exported {registry.location} to {path}")
    out.emit({"command": "registry export", "status": "ok", "path": str(path), "format": args.format})
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace, out: _Output) -> int:
    if getattr(args, "what", "spec") == "evidence":
        from .knowledge import evidence_schema

        print(json.dumps(evidence_schema(), indent=2))
        return EXIT_OK
    from .spec import ExperimentSpec

    print(json.dumps(ExperimentSpec.json_schema(), indent=2))
    return EXIT_OK


def _cmd_serve_mcp(args: argparse.Namespace, out: _Output) -> int:
    from .knowledge.mcp_server import serve
    from .knowledge.tools import Toolbox

    sources = {}
    for item in args.source or []:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise SpecError(f"--source takes NAME=PATH (e.g. sales=data/sales.parquet); got {item!r}.")
        sources[name] = path
    toolbox = Toolbox(registry=_registry(args, required=True), sources=sources, max_rows=args.max_rows,
                      timeout=args.timeout)
    print(f"causal-kit MCP server on stdio: {len(sources)} source(s), registry {toolbox.registry.path}",
          file=sys.stderr)
    serve(toolbox)
    return EXIT_OK


def _cmd_demo(args: argparse.Namespace, out: _Output) -> int:
    import inspect

    from . import demo

    if args.data_only:
        path = demo.write_data(Path(args.out).expanduser() / "sales.parquet")
        out.say(f"demo data: {path} (a geo test with a true +5% lift in 8 of 40 markets over the last 28 days)")
        out.emit({"command": "demo", "status": "ok", "data": str(path)})
        return EXIT_OK
    kwargs: dict[str, Any] = {}
    if "verbose" in inspect.signature(demo.run).parameters:
        kwargs["verbose"] = not (out.quiet or out.machine)
    made = demo.run(Path(args.out).expanduser(), **kwargs)
    reports = {"report": made} if isinstance(made, (str, Path)) else {
        "report": getattr(made, "readout_report", None), "design_report": getattr(made, "design_report", None),
    }
    for key, path in reports.items():
        if path is not None:
            out.say(f"demo {key.replace('_', ' ')}: {path}")
    out.emit({"command": "demo", "status": "ok", **{k: str(v) if v else None for k, v in reports.items()}})
    return EXIT_OK


# ---------------------------------------------------------------------- parser
def _add_globals(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """The options every command accepts, before or after the command name."""
    default = argparse.SUPPRESS if suppress else None
    flag_default = argparse.SUPPRESS if suppress else False
    group = parser.add_argument_group("global options")
    group.add_argument("--registry", metavar="PATH", default=default,
                       help="registry file or postgresql:// URL (default: $CAUSAL_KIT_REGISTRY or "
                       "~/.causal_kit/registry.duckdb)")
    group.add_argument("--no-registry", action="store_true", default=flag_default,
                       help="do not append this run to the registry")
    group.add_argument("--quiet", "-q", action="store_true", default=flag_default,
                       help="print nothing but errors (and --json output)")
    group.add_argument("--json", dest="machine", action="store_true", default=flag_default,
                       help="print one machine-readable JSON object on stdout (before or after the command)")
    group.add_argument("--fail-on-diagnostic", action="store_true", default=flag_default,
                       help="exit 3 when the estimate ran but a diagnostic failed")
    group.add_argument("--dask", metavar="ADDRESS", default=default,
                       help="run resampling, simulations and cross-fitting on this Dask scheduler "
                       "(tcp://host:8786); overrides the spec's execution block")
    group.add_argument("--debug", action="store_true", default=flag_default,
                       help="show the full traceback of unexpected errors")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``causal-kit``."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="causal-kit",
        description="Causal inference and experiment readouts: estimate, design, report, history.",
        epilog="Exit codes: 0 ok, 2 spec or data error, 3 failed diagnostic with "
        "--fail-on-diagnostic, 1 other errors.",
    )
    parser.add_argument("--version", action="version", version=f"causal-kit {__version__}")
    _add_globals(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _add_globals(common, suppress=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("estimate", parents=[common], help="estimate the effect a spec asks for")
    p.add_argument("spec", help="experiment spec (YAML or JSON)")
    p.add_argument("--data", metavar="SOURCE",
                   help="CSV/Parquet file or duckdb://file.duckdb?query=SELECT ... (default: the spec's data block)")
    p.add_argument("--observational", metavar="SOURCE",
                   help="design surrogate: the observational sample (surrogates and long-term outcome)")
    p.add_argument("--out", metavar="HTML", help="write the HTML report here")
    p.add_argument("--json-out", dest="json_out", metavar="FILE", help="write the result as JSON here")
    p.set_defaults(func=_cmd_estimate)

    p = sub.add_parser("explain", parents=[common], help="explain why a metric moved (decompositions)")
    p.add_argument("spec", help="movement spec (YAML)")
    p.add_argument("--data", required=True, metavar="SOURCE", help="CSV/Parquet file or duckdb:// URL")
    p.add_argument("--out", metavar="HTML", help="write the movement report here")
    p.set_defaults(func=_cmd_explain)

    p = sub.add_parser("design", parents=[common], help="plan a geo experiment on history")
    p.add_argument("spec", help="experiment spec (YAML or JSON)")
    p.add_argument("--history", required=True, metavar="SOURCE", help="historical data: file or duckdb:// URL")
    p.add_argument("--out", metavar="HTML", help="write the HTML design report here")
    p.add_argument("--json-out", dest="json_out", metavar="FILE", help="write the design as JSON here")
    p.add_argument("--register", action="store_true",
                   help="register the assignment in the experiment calendar (as plan.register: true)")
    p.set_defaults(func=_cmd_design)

    p = sub.add_parser("report", parents=[common], help="render a saved result JSON as HTML")
    p.add_argument("result", help="result or design JSON written by --json-out")
    p.add_argument("--out", required=True, metavar="HTML", help="write the HTML report here")
    p.set_defaults(func=_cmd_report)

    p = sub.add_parser("portfolio", parents=[common], help="render several studies' result JSON as one portfolio")
    p.add_argument("results", nargs="+", help="result JSON files written by estimate --json, one per study")
    p.add_argument("--out", required=True, metavar="HTML", help="write the portfolio report here")
    p.add_argument("--title", default=None, help="page title")
    p.set_defaults(func=_cmd_portfolio)

    p = sub.add_parser("history", parents=[common], help="list a study's runs from the registry")
    p.add_argument("name", help="study name (spec.name)")
    p.add_argument("--out", metavar="HTML", help="write the history report here")
    p.add_argument("--planned-end", metavar="DATE", default=None, help="the design's planned end date, marked on the chart")
    p.set_defaults(func=_cmd_history)

    p = sub.add_parser("registry", parents=[common], help="manage the results registry")
    reg = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = reg.add_parser("export", parents=[common], help="export every run: a flat file, or evidence records")
    q.add_argument("--format", choices=("parquet", "csv", "json", "jsonld", "ttl"), default="parquet",
                   help="jsonld / ttl: evidence records as JSON-LD / RDF Turtle; parquet with --out FILE.parquet: "
                   "the runs table; parquet with --out FOLDER: evidence tables studies, effects, diagnostics; "
                   "csv / json: the runs table")
    q.add_argument("--out", required=True, metavar="PATH")
    q.set_defaults(func=_cmd_registry_export)

    p = sub.add_parser("calendar", parents=[common], help="the experiment calendar: live studies and their units")
    cal = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = cal.add_parser("list", parents=[common], help="list the studies in the calendar")
    q.add_argument("--status", choices=("planned", "running", "closed"), default=None)
    q.add_argument("--out", metavar="HTML", help="write the concurrent-studies page (Gantt, overlaps) here")
    q.set_defaults(func=_cmd_calendar)
    q = cal.add_parser("show", parents=[common], help="show one study's window and units per cell")
    q.add_argument("name", help="study name (spec.name)")
    q.set_defaults(func=_cmd_calendar)
    q = cal.add_parser("start", parents=[common], help="mark a planned study running")
    q.add_argument("name", help="study name (spec.name)")
    q.set_defaults(func=_cmd_calendar)
    q = cal.add_parser("close", parents=[common], help="close a study so it no longer counts as live")
    q.add_argument("name", help="study name (spec.name)")
    q.add_argument("--end", default=None, metavar="PERIOD", help="its actual last period (default: keep the planned end)")
    q.set_defaults(func=_cmd_calendar)

    p = sub.add_parser("schema", parents=[common], help="print the JSON Schema of the spec or of an evidence record")
    p.add_argument("what", nargs="?", choices=("spec", "evidence"), default="spec",
                   help="spec (default) or evidence (the evidence record of `registry export`)")
    p.set_defaults(func=_cmd_schema)

    p = sub.add_parser("serve-mcp", parents=[common], help="serve the assistant tools over MCP (stdio)")
    p.add_argument("--source", action="append", metavar="NAME=PATH",
                   help="a data source the tools may read (repeat); nothing else is readable")
    p.add_argument("--max-rows", type=int, default=5_000_000, help="refuse sources with more rows")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds a tool call may run")
    p.set_defaults(func=_cmd_serve_mcp)

    p = sub.add_parser("demo", parents=[common], help="run the bundled demo and write its report")
    p.add_argument("--out", default="causal-kit-demo", metavar="DIR", help="output folder")
    p.add_argument("--data-only", action="store_true",
                   help="only write DIR/sales.parquet, a simulated geo test to read out with `causal-kit estimate`")
    p.set_defaults(func=_cmd_demo)
    return parser


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``causal-kit`` with ``argv`` (default: ``sys.argv[1:]``); return the exit code."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args([str(a) for a in argv])
    if extra:
        after_json = [a for a, prev in zip(argv[1:], argv) if str(prev) == "--json" and str(a) in extra]
        if after_json:
            parser.error(
                f"--json is a flag (print a JSON object on stdout) and takes no file; write the result "
                f"to {str(after_json[0])!r} with --json-out {str(after_json[0])}"
            )
        parser.error(f"unrecognized arguments: {' '.join(map(str, extra))}")
    out = _Output(args)

    def _warn(message: Any, category: type, *_: Any, **__: Any) -> None:
        print(f"causal-kit: warning: {_one_line(Exception(message))}", file=sys.stderr)

    with warnings.catch_warnings():
        if out.quiet:
            warnings.simplefilter("ignore")
        else:
            warnings.showwarning = _warn
        try:
            _check_outputs(args)
            address = getattr(args, "dask", None)
            if address is None:
                return args.func(args, out)
            with use_execution("dask", address=address, pinned=True):
                return args.func(args, out)
        except BrokenPipeError:
            return _broken_pipe()
        except _INPUT_ERRORS as exc:
            return _fail(out, exc, EXIT_INPUT)
        except CausalKitError as exc:
            return _fail(out, exc, EXIT_ERROR)
        except KeyboardInterrupt:
            print("causal-kit: interrupted", file=sys.stderr)
            return 130
        except OSError as exc:  # a file that cannot be read or written: the user's to fix
            if getattr(args, "debug", False):
                traceback.print_exc()
            return _fail(out, exc, EXIT_INPUT)
        except Exception as exc:
            if getattr(args, "debug", False):
                traceback.print_exc()
            return _fail(out, exc, EXIT_ERROR, hint=" (run with --debug for the traceback)")


def _broken_pipe() -> int:
    """The reader of stdout went away (``| head``): stop quietly, as other tools do."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # the final flush at exit must not raise again
    except (OSError, ValueError):
        pass
    return EXIT_PIPE


def _fail(out: _Output, exc: BaseException, code: int, hint: str = "") -> int:
    kind = type(exc).__name__
    try:
        print(f"causal-kit: error: {kind}: {_one_line(exc)}{hint}", file=sys.stderr)
        out.emit({"status": "error", "exit_code": code, "error": kind, "message": _one_line(exc)})
    except BrokenPipeError:
        return _broken_pipe()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
