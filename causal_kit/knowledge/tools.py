"""The assistant tool interface: six guarded tools over causal_kit, as Python callables and JSON-Schema'd calls.

Tools: ``describe_data``, ``draft_spec`` (validates and explains problems in plain words, with fix
suggestions such as the column a typo meant), ``plan_design``, ``estimate``, ``explain_result`` and
``query_evidence``. :class:`Toolbox` exposes each as a method returning a pydantic model, and
:meth:`Toolbox.call` takes a tool name and a JSON object of arguments and always returns a
:class:`~causal_kit.knowledge.tool_models.ToolResponse` (a malformed call gets a schema error
naming the field, never a traceback). The MCP server (``causal-kit serve-mcp``) serves ``call``.

Guardrails:

- data is read only from the sources configured when the toolbox is built, by name; a path, a URL
  or an unknown name is refused, and a spec's own ``data:`` block is not accepted;
- no code is evaluated: arguments are JSON validated against the models;
- a source larger than ``max_rows`` rows is refused, and a call running longer than ``timeout``
  seconds returns a limit error (the computation is abandoned);
- every call (and every refusal) is recorded in the registry's ``tool_calls`` table with its
  arguments, values under keys that look like credentials masked.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import difflib
import json
import math
import os
import queue
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from ..errors import CausalKitError, DataError
from ..registry import Registry
from . import tool_models as tm

__all__ = ["Toolbox", "ToolRefusedError", "ToolLimitError", "TOOLS", "mask_credentials"]

_SECRET_KEY = re.compile(r"(pass(word|wd)?|secret|token|api[_-]?key|credential|auth|private[_-]?key)", re.I)
_URL_CREDENTIALS = re.compile(r"(://)([^/@:\s]+):([^/@\s]+)@")


class ToolRefusedError(DataError):
    """A tool call asked for something outside the configured sources or the guardrails."""


class ToolLimitError(CausalKitError):
    """A tool call exceeded the size or time limit."""


#: name -> (argument model, result model, description)
TOOLS: dict[str, tuple[type[BaseModel], type[BaseModel], str]] = {
    "describe_data": (tm.DescribeDataArgs, tm.DataDescription,
                      "Describe a configured data source: rows, and per column its type, missing values, range."),
    "draft_spec": (tm.DraftSpecArgs, tm.DraftedSpec,
                   "Validate an experiment spec (optionally against a source's columns); explain each problem in "
                   "plain words with a suggested fix, and return the spec with the fixes applied."),
    "plan_design": (tm.PlanDesignArgs, tm.PlannedDesign,
                    "Plan a test on a source: the minimum detectable effect at the target power (A/B), or the geo "
                    "planner's assignment, duration and MDE."),
    "estimate": (tm.EstimateArgs, tm.EstimateSummary,
                 "Estimate the effect a spec asks for on a configured source; records the run in the registry and "
                 "returns the headline numbers, the verdict and a plain-language explanation."),
    "explain_result": (tm.ExplainResultArgs, tm.Explanation,
                       "The plain-language explanation of a result: what was tested, what happened, how sure, what "
                       "it rests on."),
    "query_evidence": (tm.QueryEvidenceArgs, tm.EvidenceAnswer,
                       "Search the registry's evidence records by intervention, outcome, study or conclusion; "
                       "optionally pool matching studies (random-effects meta-analysis)."),
}


def mask_credentials(value: Any) -> Any:
    """A copy of ``value`` with credential-like keys and URL passwords masked.

    Examples
    --------
    >>> mask_credentials({"source": "x", "api_key": "s3cr3t", "url": "postgres://bob:pw@db/x"})
    {'source': 'x', 'api_key': '***', 'url': 'postgres://bob:***@db/x'}
    """
    if isinstance(value, Mapping):
        return {str(k): "***" if _SECRET_KEY.search(str(k)) else mask_credentials(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_credentials(v) for v in value]
    if isinstance(value, str):
        return _URL_CREDENTIALS.sub(r"\1\2:***@", value)
    return value


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class Toolbox:
    """The six assistant tools over configured data sources and one registry.

    Parameters
    ----------
    registry : Registry or path, optional
        Where estimates and the call log are recorded (default: the default registry).
    sources : dict
        Source name -> file path (CSV, Parquet) or ``duckdb://`` URL. The only data the tools read.
    max_rows : int
        Sources with more rows are refused.
    timeout : float
        Seconds a call may run.
    log : bool
        Record every call in the registry's ``tool_calls`` table.

    Examples
    --------
    >>> import tempfile, causal_kit as ck
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> ck.datasets.load("ab_cuped_sim").to_csv(folder / "ab.csv", index=False)
    >>> box = Toolbox(registry=folder / "runs.duckdb", sources={"checkout": folder / "ab.csv"})
    >>> out = box.call("draft_spec", {"spec": {"name": "c", "design": "ab", "outcome": "y",
    ...                                        "treatment": "treet"}, "source": "checkout"})
    >>> out["result"]["problems"][0]["replacement"]
    'treat'
    """

    def __init__(self, *, registry: Registry | str | os.PathLike[str] | None = None,
                 sources: Mapping[str, str | os.PathLike[str]] | None = None, max_rows: int = 5_000_000,
                 timeout: float = 120.0, log: bool = True) -> None:
        self.registry = registry if isinstance(registry, Registry) else Registry(registry)
        self.sources = {str(k): str(v) for k, v in (sources or {}).items()}
        self.max_rows = int(max_rows)
        self.timeout = float(timeout)
        self.log = log
        self._results: OrderedDict[str, Any] = OrderedDict()
        self._data: dict[str, Any] = {}
        self._log_queue: queue.Queue[list[Any]] = queue.Queue()
        self._log_lock = threading.Lock()
        self._writer: threading.Thread | None = None

    # ------------------------------------------------------------------ schemas
    @staticmethod
    def tools() -> list[dict[str, Any]]:
        """Each tool's name, description, and the JSON Schemas of its arguments and its result."""
        return [{"name": name, "description": desc, "input_schema": args.model_json_schema(),
                 "output_schema": out.model_json_schema()} for name, (args, out, desc) in TOOLS.items()]

    # ------------------------------------------------------------------ the one entry point
    def call(self, tool: str, arguments: Any) -> dict[str, Any]:
        """Run ``tool`` with JSON ``arguments``; always return a ``ToolResponse`` as a dict, never raise."""
        call_id = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        result: dict[str, Any] | None = None
        error: tm.ToolError | None = None
        try:
            if tool not in TOOLS:
                raise KeyError(tool)
            args_model, _, _ = TOOLS[tool]
            args = args_model.model_validate(arguments if arguments is not None else {})
            result = self._run(tool, args).model_dump(mode="json")
        except KeyError:
            error = tm.ToolError(type="unknown_tool", message=f"there is no tool {tool!r}; the tools are "
                                 f"{', '.join(TOOLS)}.")
        except ValidationError as exc:
            problems = [tm.Problem(field=".".join(map(str, e["loc"])) or "arguments", message=e["msg"])
                        for e in exc.errors()]
            error = tm.ToolError(type="schema_error", message=f"the arguments of {tool!r} do not match its schema: "
                                 + "; ".join(f"{p.field}: {p.message}" for p in problems), problems=problems)
        except ToolRefusedError as exc:
            error = tm.ToolError(type="refused", message=str(exc))
        except ToolLimitError as exc:
            error = tm.ToolError(type="limit", message=str(exc))
        except CausalKitError as exc:
            error = tm.ToolError(type=type(exc).__name__, message=" ".join(str(exc).split()))
        except Exception as exc:  # the caller is an assistant: a message, never a traceback
            error = tm.ToolError(type="internal_error", message=f"{type(exc).__name__}: {' '.join(str(exc).split())}")
        duration = 1000 * (time.perf_counter() - started)
        response = tm.ToolResponse(ok=error is None, tool=tool, result=result, error=error, call_id=call_id,
                                   duration_ms=duration)
        if self.log:
            self._record_call(call_id, tool, arguments, response)
        return response.model_dump(mode="json")

    def _run(self, tool: str, args: BaseModel) -> BaseModel:
        method: Callable[..., BaseModel] = getattr(self, tool)
        kwargs = dict(args)
        if tool in ("explain_result", "draft_spec", "describe_data"):  # light: no thread hop
            return method(**kwargs)
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        future = pool.submit(method, **kwargs)
        try:
            return future.result(timeout=self.timeout)
        except concurrent.futures.TimeoutError:
            raise ToolLimitError(f"{tool} ran longer than the {self.timeout:g} s limit and was abandoned; narrow "
                                 "the data or ask the operator for a longer limit.") from None
        finally:
            pool.shutdown(wait=False)

    # ------------------------------------------------------------------ the call log
    def _record_call(self, call_id: str, tool: str, arguments: Any, response: tm.ToolResponse) -> None:
        row = [call_id, datetime.now(timezone.utc).replace(tzinfo=None), tool,
               json.dumps(mask_credentials(arguments), default=str)[:100_000],
               "ok" if response.ok else (response.error.type if response.error else "error"),
               response.error.message[:2000] if response.error else None, response.duration_ms,
               (response.result or {}).get("result_id") if response.result else None]
        # Opening the DuckDB file costs tens of milliseconds; a background writer keeps that out of
        # the call's latency and writes queued calls in one transaction. flush() (and exit) wait for it.
        with self._log_lock:
            if self._writer is None or not self._writer.is_alive():
                self._writer = threading.Thread(target=self._write_log, name="causal-kit-tool-log", daemon=True)
                self._writer.start()
                atexit.register(self.flush)
        self._log_queue.put(row)

    def _write_log(self) -> None:
        while True:
            rows = [self._log_queue.get()]
            while True:
                try:
                    rows.append(self._log_queue.get_nowait())
                except queue.Empty:
                    break
            try:
                with self.registry.connect() as con:
                    con.execute("CREATE TABLE IF NOT EXISTS tool_calls (call_id VARCHAR, timestamp TIMESTAMP, "
                                "tool VARCHAR, arguments VARCHAR, status VARCHAR, message VARCHAR, "
                                "duration_ms DOUBLE, result_id VARCHAR)")
                    con.executemany("INSERT INTO tool_calls VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            except Exception as exc:  # a log that cannot be written must not take the server down: say so
                import warnings

                warnings.warn(f"causal_kit could not record {len(rows)} tool call(s) in {self.registry.path}: {exc}",
                              stacklevel=1)
            finally:
                for _ in rows:
                    self._log_queue.task_done()

    def flush(self) -> None:
        """Wait until every call so far is written to the registry's ``tool_calls`` table."""
        if self._writer is not None:
            self._log_queue.join()

    def calls(self) -> Any:
        """The call log, oldest first (a DataFrame)."""
        import pandas as pd

        self.flush()
        with self.registry.connect(create=False) as con:
            if con is None:
                return pd.DataFrame()
            tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
            if "tool_calls" not in tables:
                return pd.DataFrame()
            return con.execute("SELECT * FROM tool_calls ORDER BY timestamp").df()

    # ------------------------------------------------------------------ data access
    def _source(self, name: str) -> Any:
        if name not in self.sources:
            looks_like_path = any(ch in name for ch in "/\\:") or Path(name).suffix != ""
            known = ", ".join(sorted(self.sources)) or "none are configured"
            what = "a path or URL" if looks_like_path else "an unknown source"
            raise ToolRefusedError(f"source {name!r} is {what}; the tools read only the configured sources "
                                   f"({known}). Ask the operator to add it with --source NAME=PATH.")
        if name not in self._data:
            from ..io import load

            frame = load(self.sources[name])
            if len(frame) > self.max_rows:
                raise ToolLimitError(f"source {name!r} has {len(frame):,} rows, above the {self.max_rows:,}-row "
                                     "limit of the tool interface.")
            self._data[name] = frame
        return self._data[name]

    @staticmethod
    def _spec(spec: Mapping[str, Any]) -> Any:
        from ..spec import ExperimentSpec

        if "data" in spec:
            raise ToolRefusedError("spec.data is not accepted through the tool interface: data comes only from a "
                                   "configured source; remove 'data' and pass source=NAME.")
        return ExperimentSpec.model_validate(dict(spec))

    def remember(self, result: Any, result_id: str | None = None) -> str:
        """Keep ``result`` for :meth:`explain_result` (the last 256); return its id."""
        rid = result_id or f"local-{uuid.uuid4().hex[:8]}/{result.method}"
        self._results[rid] = result
        self._results.move_to_end(rid)
        while len(self._results) > 256:
            self._results.popitem(last=False)
        return rid

    # ------------------------------------------------------------------ the tools
    def describe_data(self, source: str, columns: list[str] | None = None) -> tm.DataDescription:
        """Rows and a per-column summary of a configured source (no raw rows leave the toolbox)."""
        import pandas as pd

        frame = self._source(source)
        names = list(frame.columns) if columns is None else list(columns)
        missing = [c for c in names if c not in frame.columns]
        if missing:
            raise DataError(f"source {source!r} has no column(s) {missing}; it has {list(frame.columns)[:50]}.")
        out = []
        for name in names[:200]:
            col = frame[name]
            numeric = pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col)
            out.append(tm.ColumnSummary(
                name=str(name), dtype=str(col.dtype), n_missing=int(col.isna().sum()), n_unique=int(col.nunique()),
                min=_num(col.min()) if numeric and len(col) else None, max=_num(col.max()) if numeric and len(col) else None,
                mean=_num(col.mean()) if numeric and len(col) else None,
                examples=[] if numeric else [str(v) for v in col.dropna().unique()[:3]],
            ))
        return tm.DataDescription(source=source, n_rows=len(frame), n_columns=frame.shape[1], columns=out)

    def draft_spec(self, spec: dict[str, Any], source: str | None = None) -> tm.DraftedSpec:
        """Validate ``spec``; explain each problem with a fix (typo'd fields, options and columns)."""
        from ..spec import ExperimentSpec
        from .draft import column_problems, schema_problems, spec_error_problems

        if "data" in spec:
            raise ToolRefusedError("spec.data is not accepted through the tool interface: data comes only from a "
                                   "configured source; remove 'data' and pass source=NAME.")
        try:
            parsed = ExperimentSpec(**dict(spec))
        except ValidationError as exc:
            problems = schema_problems(exc, spec)
            return tm.DraftedSpec(valid=False, problems=problems, fixed_spec=_apply(spec, problems))
        except CausalKitError as exc:
            problems = spec_error_problems(str(exc), spec)
            return tm.DraftedSpec(valid=False, problems=problems, fixed_spec=_apply(spec, problems))
        problems = column_problems(parsed, self._source(source)) if source is not None else []
        if problems:
            return tm.DraftedSpec(valid=False, problems=problems, fixed_spec=_apply(spec, problems))
        return tm.DraftedSpec(valid=True, spec=parsed.model_dump(mode="json", exclude_defaults=True),
                              spec_hash=parsed.spec_hash)

    def plan_design(self, spec: dict[str, Any], source: str, power: float = 0.8) -> tm.PlannedDesign:
        """The MDE at ``power`` for an A/B spec (analytic, from the source's outcome SD and size), or the geo plan."""
        parsed = self._spec(spec)
        data = self._source(source)
        if parsed.design == "ab":
            from ..design.power import power_means

            y = data[parsed.outcome].astype(float)
            n = len(y) / 2
            res = power_means(n=n, power=power, sd=float(y.std()), alpha=parsed.alpha)
            mean = float(y.mean())
            return tm.PlannedDesign(design="ab", method="analytic", power=power, mde=_num(res.effect),
                                    mde_relative=_num(res.effect / mean) if mean else None, n_per_arm=n,
                                    details={"sd": float(y.std()), "alpha": parsed.alpha})
        from ..design import plan

        planned = plan(data, parsed, progress=False)
        scalars = {k: v for k, v in planned.to_dict().items() if isinstance(v, (int, float, str, bool)) or v is None}
        return tm.PlannedDesign(design=str(parsed.design), method="geo planner", power=_num(scalars.get("target_power")),
                                mde=_num(scalars.get("mde_absolute")), mde_relative=_num(scalars.get("mde")),
                                details=scalars)

    def estimate(self, spec: dict[str, Any], source: str) -> tm.EstimateSummary:
        """Run the spec on the source, record the run (source ``tool:<name>``), return the headline and verdict."""
        from ..api import estimate
        from ..verdict import verdict

        parsed = self._spec(spec)
        data = self._source(source)
        out = estimate(data, parsed)
        results = list(out) if isinstance(out, (list, tuple)) else [out]
        run_id = self.registry.record(results, spec=parsed, source=f"tool:{source}")
        ids = [self.remember(r, f"{run_id}/{r.method}") for r in results]
        head = results[0]
        ver = verdict(head)
        return tm.EstimateSummary(
            result_id=ids[0], run_id=run_id, result_ids=ids, method=head.method, estimand=head.estimand,
            estimate=_num(head.estimate), se=_num(head.se), ci_low=_num(head.ci[0]), ci_high=_num(head.ci[1]),
            p_value=_num(head.p_value), verdict=ver.label, conclusion=ver.conclusion, explanation=head.explain(parsed),
        )

    def explain_result(self, result_id: str) -> tm.Explanation:
        """The plain-language explanation of a result of this session or of the registry."""
        result = self._results.get(result_id)
        if result is None:
            result = self._from_registry(result_id)
        return tm.Explanation(result_id=result_id, text=result.explain())

    def _from_registry(self, result_id: str) -> Any:
        from .record import result_from_row

        run_id, _, method = result_id.partition("/")
        rows = self.registry.runs()
        match = rows[(rows["run_id"] == run_id) & (rows["method"] == method)] if len(rows) else rows
        if not len(match):
            raise DataError(f"no result {result_id!r} in the registry; ids look like '<run_id>/<method>' as returned "
                            "by estimate, or as the 'id' of query_evidence records.")
        return result_from_row(match.iloc[-1].to_dict())

    def query_evidence(self, intervention: str | None = None, outcome: str | None = None, study: str | None = None,
                       conclusion: str | None = None, limit: int = 20, synthesize: bool = False) -> tm.EvidenceAnswer:
        """Evidence records matching every given filter, newest first; optionally pooled."""
        from .collect import records

        def words(text: str | None) -> list[str]:
            return [w for w in re.split(r"\W+", (text or "").lower()) if w]

        def has(label: str, key: str, wanted: list[str]) -> bool:
            hay = f"{label} {key}".lower().replace("-", " ")
            return all(w in hay for w in wanted)

        hits = [r for r in records(self.registry, link=False)
                if (not intervention or has(r.intervention.label, r.intervention.key, words(intervention)))
                and (not outcome or has(r.outcome.label, r.outcome.key, words(outcome)))
                and (not study or r.study == study) and (not conclusion or r.verdict.conclusion == conclusion)]
        hits.reverse()
        pooled = None
        if synthesize:
            from .synthesis import synthesize as pool

            pooled = [tm.PooledEvidence(intervention=m.intervention, outcome=m.outcome, k=m.k, estimate=m.estimate,
                                        ci_low=m.ci[0], ci_high=m.ci[1], tau2=m.tau2, i2=m.i2, method=m.method)
                      for m in pool(list(reversed(hits)))]
        return tm.EvidenceAnswer(total=len(hits), pooled=pooled, records=[
            tm.EvidenceHit(id=r.id, study=r.study, intervention=r.intervention.label, outcome=r.outcome.label,
                           method=r.effect.method, estimate=r.effect.estimate, ci_low=r.effect.ci_low,
                           ci_high=r.effect.ci_high, unit=r.outcome.unit, verdict=r.verdict.label,
                           conclusion=r.verdict.conclusion, recorded_at=r.provenance.recorded_at)
            for r in hits[:limit]])


def _apply(spec: Mapping[str, Any], problems: list[tm.Problem]) -> dict[str, Any] | None:
    """The spec with each suggested replacement applied (a renamed field moves its value; nested blocks too)."""
    fixed = json.loads(json.dumps(dict(spec), default=str))
    changed = False
    for p in problems:
        if p.replacement is None:
            continue
        *parents, last = p.field.split(".")
        block: Any = fixed
        for part in parents:
            block = block.get(part) if isinstance(block, dict) else None
        if not isinstance(block, dict):
            continue
        if p.message.startswith("unknown field") and last in block:
            block[str(p.replacement)] = block.pop(last)
        elif not p.message.startswith("unknown field"):
            block[last] = p.replacement
        else:
            continue
        changed = True
    return fixed if changed else None


def close_match(word: str, options: list[str]) -> str | None:
    """The closest option to a typo'd word, or None (difflib ratio >= 0.6, case-insensitive first)."""
    lower = {o.lower(): o for o in options}
    if word.lower() in lower:
        return lower[word.lower()]
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else None
