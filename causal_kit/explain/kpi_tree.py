"""Driver attribution for additive and multiplicative KPI trees (LMDI or Shapley).

A KPI tree names how the top KPI is built from its drivers, for example::

    cost_per_package: {op: divide, of: [labour_cost, packages]}
    packages:         {op: multiply, of: [stops, packages_per_stop]}

Operations: ``add``, ``subtract`` (first minus the rest), ``multiply``, ``divide`` (two
children). Children that are not nodes are leaves, read from the data. The change of the top
KPI between two periods is attributed to the leaves:

* ``lmdi`` -- the additive log-mean Divisia index (Ang 2004, LMDI-I), extended through nested
  nodes: additive nodes pass on level changes, multiplicative nodes log changes weighted by the
  logarithmic mean ``L(a, b) = (a - b) / (ln a - ln b)``. Exact (no residual); needs positive
  values wherever a log is taken.
* ``shapley`` -- the Shapley value of each leaf in the game "switch these leaves to their after
  values"; exact up to ``max_exact`` leaves, seeded sampling above. Works with zeros and signs.

Nodes present as columns are checked: the tree evaluated on the leaves must reproduce them
within ``tolerance`` (relative), otherwise :class:`KpiTreeMismatchError` reports the residual.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError
from ._aggregate import resolve_periods
from ._errors import CyclicGraphError, KpiTreeMismatchError, check_columns
from .mix_rate import ACCOUNTING_NOTE
from .result import Decomposition
from .shapley import shapley_values

__all__ = ["KpiTree", "kpi_tree_attribution"]

_OPS = ("add", "subtract", "multiply", "divide")
_MULTIPLICATIVE = ("multiply", "divide")


class KpiTree:
    """A validated KPI tree: nodes with an operation and children; the rest are leaves.

    Parameters
    ----------
    nodes : mapping
        ``{node: {"op": "add"|"subtract"|"multiply"|"divide", "of": [child, ...]}}``.

    Examples
    --------
    >>> from causal_kit.explain.kpi_tree import KpiTree
    >>> t = KpiTree({"cpp": {"op": "divide", "of": ["cost", "packages"]}})
    >>> t.top, t.leaves
    ('cpp', ('cost', 'packages'))
    """

    def __init__(self, nodes: Mapping[str, Mapping[str, Any]]) -> None:
        if not isinstance(nodes, Mapping) or not nodes:
            raise SpecError("kpi_tree must be a non-empty mapping {node: {op: ..., of: [...]}}.")
        self.nodes: dict[str, tuple[str, tuple[str, ...]]] = {}
        for name, node in nodes.items():
            if not isinstance(node, Mapping) or set(node) - {"op", "of"} or "op" not in node or "of" not in node:
                raise SpecError(f"kpi_tree node {name!r} must be {{op: ..., of: [...]}}; got {node!r}.")
            op, children = node["op"], node["of"]
            if op not in _OPS:
                raise SpecError(f"kpi_tree node {name!r}: op must be one of {_OPS}. Got {op!r} instead.")
            if isinstance(children, str) or len(children) < 2:
                raise SpecError(f"kpi_tree node {name!r}: 'of' must list at least two children. Got {children!r}.")
            if op == "divide" and len(children) != 2:
                raise SpecError(f"kpi_tree node {name!r}: divide takes exactly two children (numerator, "
                                f"denominator). Got {len(children)}.")
            self.nodes[str(name)] = (op, tuple(map(str, children)))
        children_all = {c for _, ch in self.nodes.values() for c in ch}
        roots = [n for n in self.nodes if n not in children_all]
        if len(roots) != 1:
            raise SpecError(f"kpi_tree must have exactly one top KPI (a node no other node uses); found "
                            f"{len(roots)}: {roots}. Connect the nodes under one top KPI.")
        self.top = roots[0]
        self._check_acyclic()
        seen: list[str] = []
        for n in self._walk(self.top):
            if n not in self.nodes and n not in seen:
                seen.append(n)
        self.leaves = tuple(seen)

    def _check_acyclic(self) -> None:
        state: dict[str, int] = {}

        def visit(n: str, path: list[str]) -> None:
            if state.get(n) == 1:
                raise CyclicGraphError(f"kpi_tree has a cycle: {' -> '.join(path + [n])}. A KPI tree must not "
                                       "use a node inside its own definition.")
            if state.get(n) == 2 or n not in self.nodes:
                return
            state[n] = 1
            for c in self.nodes[n][1]:
                visit(c, path + [n])
            state[n] = 2

        for n in self.nodes:
            visit(n, [])

    def _walk(self, n: str) -> list[str]:
        out = [n]
        if n in self.nodes:
            for c in self.nodes[n][1]:
                out += self._walk(c)
        return out

    def evaluate(self, leaves: Mapping[str, np.ndarray | float]) -> dict[str, Any]:
        """Every node's value from the leaves' values (arrays broadcast)."""
        values: dict[str, Any] = dict(leaves)

        def val(n: str) -> Any:
            if n in values:
                return values[n]
            op, ch = self.nodes[n]
            xs = [val(c) for c in ch]
            with np.errstate(divide="ignore", invalid="ignore"):
                if op == "add":
                    out = sum(xs[1:], xs[0])
                elif op == "subtract":
                    out = xs[0] - sum(xs[2:], xs[1])
                elif op == "multiply":
                    out = xs[0]
                    for x in xs[1:]:
                        out = out * x
                else:
                    out = xs[0] / xs[1]
            values[n] = out
            return out

        for n in self.nodes:
            val(n)
        return values


def _log_mean(a: float, b: float) -> float:
    return a if np.isclose(a, b, rtol=1e-12, atol=0) else (a - b) / (np.log(a) - np.log(b))


def _lmdi(tree: KpiTree, v0: Mapping[str, float], v1: Mapping[str, float]) -> dict[str, float]:
    contrib = {leaf: 0.0 for leaf in tree.leaves}

    def is_mult(n: str) -> bool:
        return n in tree.nodes and tree.nodes[n][0] in _MULTIPLICATIVE

    def need_positive(n: str) -> None:
        if not (v0[n] > 0 and v1[n] > 0):
            raise DataError(f"kpi_tree: {n!r} is {v0[n]:.6g} before and {v1[n]:.6g} after; LMDI takes logs of "
                            "multiplied or divided terms, so they must be positive. Use method='shapley'.")

    def visit(n: str, factor: float) -> None:
        op, ch = tree.nodes[n]
        for i, c in enumerate(ch):
            sign = -1.0 if i > 0 and op in ("subtract", "divide") else 1.0
            if op in _MULTIPLICATIVE:
                need_positive(c)
                term, k = np.log(v1[c] / v0[c]), (1.0 if (is_mult(c) or c not in tree.nodes) else None)
                if k is None:  # additive child: its log change is its level change over L(c)
                    k = 1.0 / _log_mean(v1[c], v0[c])
            else:
                term, k = v1[c] - v0[c], 1.0
                if is_mult(c):  # multiplicative child: its level change is L(c) times its log change
                    need_positive(c)
                    k = _log_mean(v1[c], v0[c])
            if c in tree.nodes:
                visit(c, factor * sign * k)
            else:
                contrib[c] += factor * sign * term

    if is_mult(tree.top):
        need_positive(tree.top)
        visit(tree.top, _log_mean(v1[tree.top], v0[tree.top]))
    else:
        visit(tree.top, 1.0)
    return contrib


def _period_values(data: pd.DataFrame, cols: list[str], period: str, label: object, aggregate: str) -> pd.Series:
    rows = data.loc[data[period] == label, cols]
    if aggregate == "sum":
        return rows.sum()
    if len(rows) != 1:
        raise DataError(f"kpi_tree: period {label} has {len(rows)} rows in {period!r}; with aggregate='none' each "
                        "period needs exactly one row. Aggregate first, or pass aggregate='sum' for additive leaves.")
    return rows.iloc[0]


def kpi_tree_attribution(data: pd.DataFrame, *, tree: Mapping[str, Mapping[str, Any]] | KpiTree, period: str,
                         before: object = None, after: object = None, method: str = "lmdi",
                         aggregate: str = "none", tolerance: float = 1e-6, max_exact: int = 12,
                         n_permutations: int = 2000, seed: int | None = 0) -> Decomposition:
    """Attribute the change of a KPI tree's top KPI to its leaf drivers.

    Parameters
    ----------
    data : DataFrame
        One row per period (or many, with ``aggregate="sum"``) with a column per leaf and,
        optionally, per node (then checked against the tree).
    tree : mapping or KpiTree
        ``{node: {"op": ..., "of": [children]}}``.
    period : str
        Column holding the two periods.
    before, after : optional
        Period labels; default the two distinct values, sorted.
    method : {"lmdi", "shapley"}, default "lmdi"
    aggregate : {"none", "sum"}, default "none"
        ``"sum"`` sums each column over the rows of a period (only right for additive leaves
        such as costs and counts; ratios are recomputed by the tree).
    tolerance : float, default 1e-6
        Largest relative residual allowed between an observed node column and the tree.
    max_exact, n_permutations, seed
        Shapley settings (exact up to ``max_exact`` leaves, sampled and seeded above).

    Returns
    -------
    Decomposition
        Components ``driver: <leaf>`` adding up to the top KPI's change; tables ``drivers``,
        ``nodes`` and ``tree_check``.

    Raises
    ------
    KpiTreeMismatchError
        An observed node differs from the tree's value by more than ``tolerance``.
    CyclicGraphError
        The tree refers to a node inside its own definition.

    Examples
    --------
    >>> import pandas as pd
    >>> from causal_kit.explain import kpi_tree_attribution
    >>> df = pd.DataFrame({"week": [1, 2], "labour_cost": [1000.0, 1150.0], "stops": [200, 210],
    ...                    "packages_per_stop": [2.0, 1.9]})
    >>> tree = {"cost_per_package": {"op": "divide", "of": ["labour_cost", "packages"]},
    ...         "packages": {"op": "multiply", "of": ["stops", "packages_per_stop"]}}
    >>> d = kpi_tree_attribution(df, tree=tree, period="week")
    >>> abs(d.residual()) < 1e-12
    True
    """
    kt = tree if isinstance(tree, KpiTree) else KpiTree(tree)
    if method not in ("lmdi", "shapley"):
        raise SpecError(f"The 'method' parameter of kpi_tree_attribution must be 'lmdi' or 'shapley'. Got {method!r}.")
    if aggregate not in ("none", "sum"):
        raise SpecError(f"The 'aggregate' parameter must be 'none' or 'sum'. Got {aggregate!r} instead.")
    check_columns(data, [period, *kt.leaves], role="kpi_tree leaves")
    observed = [n for n in kt.nodes if n in data.columns]
    cols = list(kt.leaves) + observed
    for c in cols:
        if not pd.api.types.is_numeric_dtype(data[c]):
            raise DataError(f"kpi_tree column {c!r} must be numeric; it is {data[c].dtype}.")
    b, a = resolve_periods(data[period], before, after, period)
    obs = [_period_values(data, cols, period, lab, aggregate).astype(float) for lab in (b, a)]
    if any(not np.isfinite(o.to_numpy()).all() for o in obs):
        raise DataError("kpi_tree: a leaf or node value is missing or infinite in one of the two periods; fill it.")
    vals = [kt.evaluate({leaf: np.float64(o[leaf]) for leaf in kt.leaves}) for o in obs]
    check_rows = []
    for n in observed:
        for lab, o, v in zip((b, a), obs, vals):
            resid = float(o[n] - v[n])
            rel = abs(resid) / max(abs(float(o[n])), 1e-300)
            check_rows.append({"node": n, "period": str(lab), "observed": float(o[n]), "tree": float(v[n]),
                               "residual": resid, "relative_residual": rel})
            if not rel <= tolerance:
                raise KpiTreeMismatchError(
                    f"kpi_tree does not reproduce {n!r} in period {lab}: observed {float(o[n]):.10g}, tree "
                    f"{float(v[n]):.10g}, residual {resid:.4g} (relative {rel:.3g} > tolerance {tolerance:g}). Fix "
                    "the tree's operations or the leaf columns, or raise the tolerance if the gap is rounding.")
    for lab, v in zip((b, a), vals):
        if not np.isfinite(v[kt.top]):
            raise DataError(f"kpi_tree: the top KPI {kt.top!r} is not finite in period {lab} (a zero "
                            "denominator?); check the leaves.")
    if method == "lmdi":
        contrib = _lmdi(kt, vals[0], vals[1])
        values = np.array([contrib[leaf] for leaf in kt.leaves])
        se = np.full(len(values), np.nan)
    else:
        leaves = kt.leaves

        def game(mask: int) -> float:
            mixed = {leaf: vals[1 if mask >> j & 1 else 0][leaf] for j, leaf in enumerate(leaves)}
            return float(kt.evaluate(mixed)[kt.top])

        sh = shapley_values(game, len(leaves), max_exact=max_exact, n_permutations=n_permutations, seed=seed)
        values, se = sh.values, (sh.se if not sh.exact else np.full(len(leaves), np.nan))
    change = vals[1][kt.top] - vals[0][kt.top]
    comps = pd.DataFrame({"component": [f"driver: {leaf}" for leaf in kt.leaves], "value": values, "se": se})
    drivers = pd.DataFrame({"driver": kt.leaves, "before": [vals[0][x] for x in kt.leaves],
                            "after": [vals[1][x] for x in kt.leaves]})
    drivers["change"] = drivers["after"] - drivers["before"]
    drivers["contribution"] = values
    drivers["share_of_change"] = values / change if change != 0 else np.nan
    nodes = pd.DataFrame({"node": list(kt.nodes), "op": [kt.nodes[n][0] for n in kt.nodes],
                          "before": [vals[0][n] for n in kt.nodes], "after": [vals[1][n] for n in kt.nodes]})
    tables = {"drivers": drivers, "nodes": nodes,
              "tree_check": pd.DataFrame(check_rows, columns=["node", "period", "observed", "tree", "residual",
                                                              "relative_residual"])}
    how = ("LMDI-I (log-mean Divisia) attribution: exact, no residual." if method == "lmdi" else
           "Shapley attribution over the leaves" + (" (exact)." if len(kt.leaves) <= max_exact else
                                                     f", sampled with {n_permutations} seeded permutations."))
    return Decomposition(f"kpi_tree_{method}", kt.top, str(b), str(a), float(vals[0][kt.top]),
                         float(vals[1][kt.top]), comps, tables, (ACCOUNTING_NOTE, how), seed=seed)
