"""Plain-language problems of a drafted spec, with fixes: typo'd fields, options and column names.

Used by the ``draft_spec`` tool: :func:`schema_problems` reads pydantic's validation errors of
``ExperimentSpec`` and :func:`column_problems` checks the role columns against a data source.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from ..errors import CausalKitError
from .tool_models import Problem

__all__ = ["schema_problems", "spec_error_problems", "column_problems"]

_LINE = re.compile(r"spec\.([\w.\[\]]+): (.*?)(?=; spec\.|$)", re.S)
_MEANT = re.compile(r"did you mean '([^']+)'")
_QUOTED = re.compile(r"'([^']+)'")


def _close(word: str, options: list[str]) -> str | None:
    from .tools import close_match

    return close_match(word, options)


def schema_problems(exc: ValidationError, spec: Mapping[str, Any]) -> list[Problem]:
    """One :class:`Problem` per validation error, suggesting the field or option a typo meant.

    Examples
    --------
    >>> from pydantic import BaseModel, ConfigDict
    >>> class Spec(BaseModel):
    ...     model_config = ConfigDict(extra="forbid")
    ...     outcome: str = "y"
    >>> try:
    ...     Spec.model_validate({"outcme": "y"})
    ... except ValidationError as exc:
    ...     print(schema_problems(exc, {})[0].replacement)
    outcome
    """
    from ..spec import ExperimentSpec

    fields = list(ExperimentSpec.model_fields)
    out = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        field = ".".join(loc) or "spec"
        if err["type"] == "extra_forbidden" and len(loc) == 1:
            guess = _close(loc[0], fields)
            out.append(Problem(field=field, message=f"unknown field {loc[0]!r} in the spec",
                               suggestion=f"did you mean {guess!r}?" if guess else f"remove it; the fields are {fields}",
                               replacement=guess))
        elif err["type"] == "literal_error":
            expected = [s.strip().strip("'\"") for s in str(err.get("ctx", {}).get("expected", "")).replace(" or ", ",").split(",")]
            expected = [e for e in expected if e]
            guess = _close(str(err.get("input")), expected)
            out.append(Problem(field=field, message=f"{err.get('input')!r} is not an option of {field}",
                               suggestion=f"did you mean {guess!r}? The options are {expected}" if guess else
                               f"use one of {expected}", replacement=guess))
        elif err["type"] == "missing":
            out.append(Problem(field=field, message=f"the spec needs {field!r}",
                               suggestion=f"add {field!r} (see `causal-kit schema`)."))
        else:
            out.append(Problem(field=field, message=" ".join(str(err["msg"]).split())))
    return out


def _value_at(spec: Mapping[str, Any], field: str) -> Any:
    value: Any = spec
    for part in field.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def spec_error_problems(message: str, spec: Mapping[str, Any]) -> list[Problem]:
    """Problems from a ``SpecError`` of ``ExperimentSpec`` ("invalid experiment spec: spec.x: ...; spec.y: ...").

    Examples
    --------
    >>> msg = "invalid experiment spec: spec.design: Input should be 'ab', 'did' or 'sdid'"
    >>> spec_error_problems(msg, {"design": "abb"})[0].replacement
    'ab'
    """
    out = []
    for field, text in _LINE.findall(message):
        text = " ".join(text.split())
        meant = _MEANT.search(text)
        if "is not a spec field" in text:
            guess = meant.group(1) if meant else None
            out.append(Problem(field=field, message=f"unknown field {field.split('.')[-1]!r} in the spec",
                               suggestion=f"did you mean {guess!r}?" if guess else "remove it (`causal-kit schema` "
                               "lists the fields)", replacement=guess))
        elif text.startswith("Input should be"):
            options = _QUOTED.findall(text)
            value = _value_at(spec, field)
            guess = _close(str(value), options) if value is not None else None
            out.append(Problem(field=field, message=f"{value!r} is not an option of {field}",
                               suggestion=f"did you mean {guess!r}? The options are {options}" if guess else
                               f"use one of {options}", replacement=guess))
        else:
            out.append(Problem(field=field, message=text,
                               suggestion=f"did you mean {meant.group(1)!r}?" if meant else None))
    return out or [Problem(field="spec", message=" ".join(message.split()))]


def column_problems(spec: Any, data: Any) -> list[Problem]:
    """Role columns missing from ``data`` (with the column a typo meant), then the spec's own data checks."""
    columns = [str(c) for c in data.columns]
    out = []
    for role, column in spec.role_columns.items():
        if column in columns:
            continue
        guess = _close(column, columns)
        field, _, index = role.partition("[")
        out.append(Problem(
            field=field.removeprefix("spec."),
            message=f"column {column!r} ({role}) is not in the data",
            suggestion=f"did you mean {guess!r}?" if guess else f"the columns are {columns[:30]}",
            replacement=guess if guess is not None and not index else None,
        ))
    if out:
        return out
    try:
        spec.validate(data)
    except CausalKitError as exc:
        out.append(Problem(field="spec", message=" ".join(str(exc).split())))
    return out
