"""Two-sample input for long-term effects: an experiment and an observational sample.

The surrogate index (``design: surrogate``) reads two samples: the **experiment** (treatment,
short-term surrogates, optional pre-treatment covariates, and perhaps the long-term outcome for
a validation cohort) and the **observational** sample (surrogates, covariates and the long-term
outcome). They come either as one frame with a ``spec.sample`` column whose values are
``spec.sample_values`` or as a mapping ``{"experiment": df1, "observational": df2}``.
:func:`split_samples` checks both against the spec's roles and returns private copies.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._data import check_values, fingerprint, rows_preview, to_pandas
from .errors import DataError, IdentificationError, RowsDroppedWarning, SpecError

if TYPE_CHECKING:
    from .spec import ExperimentSpec

__all__ = ["Samples", "split_samples", "SAMPLE_KEYS"]

SAMPLE_KEYS = ("experiment", "observational")


@dataclass(frozen=True)
class Samples:
    """Private copies of the two samples with the row accounting."""

    experiment: pd.DataFrame
    observational: pd.DataFrame
    n_input: int
    n_dropped: int = 0
    dropped_reasons: dict[str, int] = field(default_factory=dict)
    fingerprint: str = ""
    validation: bool = False  # the experiment holds the long-term outcome for some rows


def _frames(data: Any, spec: ExperimentSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    if isinstance(data, Mapping):
        keys = set(data)
        if keys != set(SAMPLE_KEYS):
            raise SpecError(
                f"design 'surrogate' takes data as {{'experiment': frame, 'observational': frame}}; got the keys "
                f"{sorted(map(str, keys))}. Rename them, or pass one frame with a spec.sample column."
            )
        return to_pandas(data["experiment"]), to_pandas(data["observational"])
    df = to_pandas(data)
    if spec.sample is None:
        raise SpecError(
            "design 'surrogate' needs two samples: pass {'experiment': df1, 'observational': df2} (CLI: "
            "--observational FILE), or one frame with a column naming each row's sample and set spec.sample to it."
        )
    if spec.sample not in df.columns:
        raise DataError(f"column {spec.sample!r} (spec.sample) is not in the data; it has {list(df.columns)[:12]}.")
    exp_value, obs_value = spec.sample_values
    col = df[spec.sample]
    other = ~col.isin([exp_value, obs_value])
    if other.any():
        raise DataError(
            f"column {spec.sample!r} (spec.sample) has {int(other.sum())} rows that are neither {exp_value!r} "
            f"(experiment) nor {obs_value!r} (observational) ({rows_preview(df.index[other])}, e.g. "
            f"{col[other].iloc[0]!r}). Recode them, or set spec.sample_values."
        )
    return df.loc[col == exp_value], df.loc[col == obs_value]


def _need(df: pd.DataFrame, roles: dict[str, str], sample: str, other: pd.DataFrame) -> None:
    for role, col in roles.items():
        if col not in df.columns:
            where = " (it is in the other sample)" if col in other.columns else ""
            fix = (
                "The index needs every surrogate and covariate in both samples: add it, or remove it from the spec."
                if role.startswith(("surrogates", "covariates")) else "Add it to that sample."
            )
            raise DataError(f"column {col!r} (spec.{role}) is missing from the {sample} sample{where}. {fix}")


def _numeric(df: pd.DataFrame, roles: dict[str, str], sample: str) -> None:
    for role, col in roles.items():
        s = df[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise DataError(
                f"column {col!r} (spec.{role}) must be numeric in the {sample} sample; it has dtype {s.dtype}. "
                "Convert it with pd.to_numeric or encode it first."
            )
        # the shared check: infinite values, and values whose squares overflow or underflow
        check_values(df, {f"{role} in the {sample} sample": col})


def _nan_rows(df: pd.DataFrame, roles: dict[str, str], sample: str, na_action: str,
              reasons: dict[str, int]) -> pd.DataFrame:
    bad = pd.Series(False, index=df.index)
    for role, col in roles.items():
        mask = df[col].isna()
        if mask.any():
            if na_action == "raise":
                raise DataError(
                    f"column {col!r} (spec.{role}) has {int(mask.sum())} missing values in the {sample} sample "
                    f"({rows_preview(df.index[mask])}). Fill them, or set na_action: drop to drop those rows "
                    "with a warning."
                )
            reasons[f"missing {col} ({sample})"] = int(mask.sum())
            bad |= mask
    return df.loc[~bad] if bad.any() else df


def _check_treatment(exp: pd.DataFrame, col: str) -> None:
    values = set(pd.unique(exp[col]))
    if not values <= {0, 1}:
        raise DataError(
            f"column {col!r} (spec.treatment) must be 0/1 in the experiment sample; it holds "
            f"{sorted(values - {0, 1}, key=str)[:5]}. Recode it to 0 (control) / 1 (treated)."
        )
    n1 = int((exp[col] == 1).sum())
    if n1 == 0 or n1 == len(exp):
        which = "treated" if n1 == 0 else "control"
        raise DataError(f"column {col!r} (spec.treatment) has no {which} rows in the experiment; both arms are needed.")


def _check_support(exp: pd.DataFrame, obs: pd.DataFrame, spec: ExperimentSpec) -> None:
    n_terms = 1 + len(spec.surrogates) + len(spec.covariates)
    if len(obs) <= n_terms:
        raise IdentificationError(
            f"the observational sample has {len(obs)} rows but the surrogate model has {n_terms} terms (intercept, "
            f"{len(spec.surrogates)} surrogates, {len(spec.covariates)} covariates); it needs more rows than terms. "
            "Add historical rows or use fewer surrogates."
        )
    y_obs = obs[spec.long_term_outcome].to_numpy(float)
    if np.ptp(y_obs) == 0:
        raise DataError(
            f"column {spec.long_term_outcome!r} (spec.long_term_outcome) is constant ({float(y_obs[0])!r}) across all "
            f"{len(y_obs)} rows of the observational sample, so the index cannot learn anything from the surrogates. "
            "Check the column, or use a sample where the long-term outcome varies."
        )
    if spec.long_term_outcome in exp.columns:  # the validation cohort needs both arms
        m = exp[spec.long_term_outcome].notna().to_numpy()
        n1 = int((exp[spec.treatment].to_numpy()[m] == 1).sum())
        if m.any() and (n1 < 2 or m.sum() - n1 < 2):
            raise DataError(
                f"column {spec.long_term_outcome!r} (spec.long_term_outcome) is observed on {int(m.sum())} experiment "
                f"rows ({n1} treated, {int(m.sum()) - n1} control); a validation cohort needs at least 2 rows in "
                "each arm. Add outcomes for both arms, or set them to NaN in the experiment sample."
            )
    for i, col in enumerate(spec.surrogates):
        o, e = obs[col].to_numpy(float), exp[col].to_numpy(float)
        if np.ptp(o) == 0:
            raise IdentificationError(
                f"column {col!r} (spec.surrogates[{i}]) takes the single value {o[0]!r} in the observational sample, "
                "so the index cannot learn its weight. Drop it from spec.surrogates."
            )
        if e.min() > o.max() or e.max() < o.min():
            raise IdentificationError(
                f"column {col!r} (spec.surrogates[{i}]) has no overlap between the samples: experiment range "
                f"[{e.min():.4g}, {e.max():.4g}], observational range [{o.min():.4g}, {o.max():.4g}]. The index "
                "would extrapolate entirely; check units and definitions, or use a comparable historical sample."
            )


def split_samples(
    data: Any, spec: ExperimentSpec, *, extra_outcomes: Sequence[str] = (), validation: bool | None = None
) -> Samples:
    """Check the two samples against ``spec`` and return private copies of the used columns.

    Parameters
    ----------
    data : DataFrame (with ``spec.sample``) or mapping ``{"experiment": df, "observational": df}``
    spec : ExperimentSpec with ``design="surrogate"``
    extra_outcomes : further long-term outcome columns (other horizons) of the observational sample
    validation : None (use the long-term outcome where the experiment has it), False (the experiment
        must not have it), True (it must)

    Examples
    --------
    >>> import causal_kit as ck
    >>> spec = ck.ExperimentSpec(name="s", design="surrogate", treatment="treatment",
    ...     surrogates=["s1", "s2"], long_term_outcome="y", sample="sample")
    >>> s = split_samples(ck.datasets.load("surrogate_sim"), spec)
    >>> len(s.experiment) + len(s.observational)
    3000
    """
    exp, obs = _frames(data, spec)
    n_input = len(exp) + len(obs)
    if len(exp) == 0 or len(obs) == 0:
        raise DataError(
            f"the {'experiment' if len(exp) == 0 else 'observational'} sample has no rows; the surrogate index "
            "needs both samples."
        )
    model = {f"surrogates[{i}]": c for i, c in enumerate(spec.surrogates)}
    model.update({f"covariates[{i}]": c for i, c in enumerate(spec.covariates)})
    y = spec.long_term_outcome
    outcomes = {"long_term_outcome": y, **{f"horizons[{c}]": c for c in extra_outcomes}}
    exp_roles = {"treatment": spec.treatment, **model}
    if spec.cluster is not None:
        exp_roles["cluster"] = spec.cluster
    _need(exp, exp_roles, "experiment", obs)
    _need(obs, {**model, **outcomes}, "observational", exp)
    _numeric(exp, {**model, **{r: c for r, c in outcomes.items() if c in exp.columns}}, "experiment")
    _numeric(obs, {**model, **outcomes}, "observational")

    exp_cols = list(dict.fromkeys([*exp_roles.values(), *[c for c in outcomes.values() if c in exp.columns]]))
    obs_cols = list(dict.fromkeys([*model.values(), *outcomes.values(),
                                   *[c for c in (spec.treatment, spec.cluster) if c and c in obs.columns]]))
    fp = fingerprint(exp.loc[:, exp_cols]) + fingerprint(obs.loc[:, obs_cols])
    exp, obs = exp.loc[:, exp_cols], obs.loc[:, obs_cols]  # new frames: the caller's are untouched

    has_y = y in exp.columns and bool(exp[y].notna().any())
    if has_y and validation is False:
        raise DataError(
            f"column {y!r} (spec.long_term_outcome) has {int(exp[y].notna().sum())} non-missing values in the "
            "experiment sample, but validation=False declares it absent there. Set validation=None to compare "
            "the surrogate estimate with the experimental one on those rows, or drop the column from the experiment."
        )
    if validation is True and not has_y:
        raise DataError(
            f"validation=True needs the long-term outcome {y!r} (spec.long_term_outcome) for part of the "
            "experiment sample; it has none. Add the validation cohort's outcomes, or set validation=None."
        )
    reasons: dict[str, int] = {}
    exp = _nan_rows(exp, exp_roles, "experiment", spec.na_action, reasons)
    obs = _nan_rows(obs, {**model, **outcomes}, "observational", spec.na_action, reasons)
    n_dropped = n_input - len(exp) - len(obs)
    if n_dropped:
        detail = ", ".join(f"{k}: {v}" for k, v in reasons.items())
        warnings.warn(f"dropped {n_dropped} of {n_input} rows with missing values ({detail}) because "
                      "na_action='drop'.", RowsDroppedWarning, stacklevel=3)
    _check_treatment(exp, spec.treatment)
    _check_support(exp, obs, spec)
    return Samples(exp, obs, n_input, n_dropped, reasons, fp, has_y)
