"""Geo assignment: stratified randomisation, randomised matched pairs and market search.

Every function takes the same constraints and a seed:

* ``must_treat``: geos that must be in the (first) treatment cell;
* ``exclude``: geos that take no part (neither treated nor control);
* ``n_treated`` (geos per treatment cell) or ``treated_share`` (share of the pre-period KPI
  per treatment cell);
* ``cost`` (per geo, over the test) with a ``budget`` for the treated geos of all cells;
* ``cells``: the number of treatment cells (``"treatment"``, ``"treatment_2"``, ...).

They return an assignment frame with columns ``unit``, ``cell``, ``kpi``, ``kpi_share``,
``cost`` (and ``pair`` for matched pairs); excluded geos are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError

__all__ = ["cell_names", "Constraints", "stratified_assignment", "matched_pairs_assignment", "search_markets"]


def cell_names(cells: int) -> list[str]:
    """Names of the treatment cells: ``["treatment", "treatment_2", ...]``.

    Examples
    --------
    >>> cell_names(2)
    ['treatment', 'treatment_2']
    """
    return ["treatment"] + [f"treatment_{i}" for i in range(2, int(cells) + 1)]


class Constraints:
    """Checked constraints of a geo assignment over the geos in ``kpi`` (unit -> pre-period KPI).

    Parameters
    ----------
    kpi : Series
        Pre-period KPI per geo (index: geo).
    n_treated, treated_share : int or float, optional
        Geos per treatment cell, or the share of the KPI each cell should hold (default:
        a quarter of the geos spread over the cells).
    must_treat, exclude : sequence
        Geos forced into the first treatment cell; geos left out.
    cells : int
        Number of treatment cells.
    cost, budget : Series and float, optional
        Cost per geo over the test and the most the treated geos may cost.
    never_treat : sequence
        Geos that may be control but never treated (e.g. another live study's controls).
    strata : Series, optional
        A stratum per geo (e.g. exposure to other studies); draws block on it before the KPI,
        so every cell gets its share of each stratum.

    Raises
    ------
    SpecError
        Conflicting must-treat and excluded geos, no control geo left, or a budget that no
        design can meet. ``DataError`` for geos not in ``kpi``.

    Examples
    --------
    >>> import pandas as pd
    >>> kpi = pd.Series([5.0, 4.0, 3.0, 2.0, 1.0], index=list("abcde"))
    >>> Constraints(kpi, n_treated=2, must_treat=["a"], exclude=["e"]).n_treated
    2
    """

    def __init__(
        self,
        kpi: pd.Series,
        *,
        n_treated: int | None = None,
        treated_share: float | None = None,
        must_treat: Sequence[Any] = (),
        exclude: Sequence[Any] = (),
        cells: int = 1,
        cost: pd.Series | None = None,
        budget: float | None = None,
        never_treat: Sequence[Any] = (),
        strata: pd.Series | None = None,
    ) -> None:
        kpi = pd.Series(kpi, dtype=float)
        units = set(kpi.index)
        must, excl = list(must_treat), list(exclude)
        if units and all(isinstance(u, str) for u in units):  # ids compared as text (mixed ids)
            must, excl = [u if u in units else str(u) for u in must], [u if u in units else str(u) for u in excl]
        for name, group in (("plan.must_treat", must), ("plan.exclude", excl)):
            unknown = [u for u in group if u not in units]
            if unknown:
                raise DataError(
                    f"{name} names {len(unknown)} geo(s) not in the history (e.g. {unknown[:3]}); "
                    f"the history has {len(units)} geos."
                )
        clash = sorted(set(must) & set(excl), key=str)
        if clash:
            raise SpecError(
                f"{len(clash)} geo(s) are both in plan.must_treat and plan.exclude (e.g. {clash[:3]}); "
                "remove them from one of the two lists."
            )
        if isinstance(cells, bool) or not isinstance(cells, (int, np.integer)) or cells < 1:
            raise SpecError(f"The 'cells' parameter of the plan must be an int >= 1. Got {cells!r} instead.")
        self.kpi = kpi.drop(index=excl)
        self.never_treat = [u for u in never_treat if u in self.kpi.index]
        forced = sorted(set(must) & set(self.never_treat), key=str)
        if forced:
            raise SpecError(
                f"{len(forced)} geo(s) in plan.must_treat may not be treated (another live study uses them as "
                f"control, e.g. {forced[:3]}); drop them from must_treat or set plan.allow_overlap: true."
            )
        self.strata = None if strata is None else pd.Series(strata).reindex(self.kpi.index).fillna(0)
        self.must, self.exclude, self.cells = must, excl, int(cells)
        n_avail = len(self.kpi)
        if n_treated is None and treated_share is None:
            n_treated = max(1, n_avail // (2 * (self.cells + 1)), len(must))
        if n_treated is not None:
            if isinstance(n_treated, bool) or not isinstance(n_treated, (int, np.integer)) or n_treated < 1:
                raise SpecError(f"The 'n_treated' parameter of the plan must be an int >= 1. Got {n_treated!r} instead.")
            n_treated = int(n_treated)
        else:
            if not (isinstance(treated_share, (int, float)) and 0.0 < float(treated_share) < 1.0):
                raise SpecError(
                    f"The 'treated_share' parameter of the plan must be a float in (0, 1). Got {treated_share!r} instead."
                )
            # stratified draws treat geos across the size distribution, so a share of the
            # geos is about the same share of the KPI
            n_treated = max(1, int(round(float(treated_share) * n_avail)))
        self.n_treated = n_treated
        self.treated_share = None if treated_share is None else float(treated_share)
        if len(must) > n_treated:
            raise SpecError(
                f"plan.must_treat lists {len(must)} geos but a cell treats only n_treated={n_treated}; "
                "raise n_treated or shorten must_treat."
            )
        if n_treated * self.cells >= n_avail:
            raise SpecError(
                f"{self.cells} cell(s) x n_treated={n_treated} geos leave no control geo among the "
                f"{n_avail} geos available ({len(kpi)} in the history, {len(excl)} excluded); lower "
                "n_treated or treated_share."
            )
        treatable = n_avail - len(self.never_treat)
        if n_treated * self.cells > treatable:
            raise SpecError(
                f"{self.cells} cell(s) x n_treated={n_treated} geos need more geos than the {treatable} that may "
                f"be treated ({len(self.never_treat)} are other live studies' controls); lower n_treated, move "
                "the window (plan.start) or set plan.allow_overlap: true."
            )
        self.cost = None if cost is None else pd.Series(cost, dtype=float).reindex(self.kpi.index).fillna(0.0)
        self.budget = None if budget is None else float(budget)
        if self.budget is not None:
            if self.cost is None:
                raise SpecError("plan.budget needs a cost per geo: set plan.cost_column or plan.cost_per_unit.")
            free = self.cost.drop(index=must).sort_values()
            cheapest = float(self.cost.loc[must].sum() + free.iloc[: n_treated * self.cells - len(must)].sum())
            if cheapest > self.budget:
                raise SpecError(
                    f"no design meets plan.budget={self.budget:g}: the cheapest {n_treated * self.cells} "
                    f"treated geos (must_treat included) cost {cheapest:g}. Raise the budget, lower "
                    "n_treated / treated_share, or exclude expensive geos."
                )

    def feasible(self, treated: Sequence[Any], cells_of: dict[Any, str] | None = None) -> bool:
        """True when the treated geos (all cells) meet the budget and, with ``treated_share``,
        every cell's KPI share is within half the target of it."""
        if self.budget is not None and float(self.cost.loc[list(treated)].sum()) > self.budget * (1 + 1e-12):
            return False
        if self.never_treat and any(u in self.never_treat for u in treated):
            return False
        if self.treated_share is not None and cells_of is not None:
            total = float(self.kpi.sum())
            for name in cell_names(self.cells):
                share = float(self.kpi.loc[[u for u, c in cells_of.items() if c == name]].sum()) / total
                if abs(share - self.treated_share) > 0.5 * self.treated_share:
                    return False
        return True

    def frame(self, cells_of: dict[Any, str], pairs: dict[Any, int] | None = None) -> pd.DataFrame:
        """The assignment frame for ``cells_of`` (unit -> cell name)."""
        units = list(self.kpi.index)
        out = pd.DataFrame({
            "unit": units,
            "cell": [cells_of.get(u, "control") for u in units],
            "kpi": self.kpi.to_numpy(),
        })
        out["kpi_share"] = out["kpi"] / out["kpi"].sum()
        out["cost"] = np.nan if self.cost is None else self.cost.reindex(units).to_numpy()
        if pairs is not None:
            out["pair"] = [pairs.get(u, -1) for u in units]
        order = {c: i for i, c in enumerate(cell_names(self.cells) + ["control"])}
        out = out.sort_values(["cell", "kpi"], key=lambda s: s.map(order) if s.name == "cell" else -s)
        return out.reset_index(drop=True)


def _ordered(c: Constraints, kpi: pd.Series) -> pd.Series:
    """KPI sorted high to low, within strata when the constraints carry them."""
    if c.strata is None:
        return kpi.sort_values(ascending=False)
    frame = pd.DataFrame({"stratum": c.strata.reindex(kpi.index), "kpi": kpi})
    return frame.sort_values(["stratum", "kpi"], ascending=False)["kpi"]


def _draw_stratified(c: Constraints, rng: np.random.Generator) -> dict[Any, str]:
    names = cell_names(c.cells)
    cells_of: dict[Any, str] = {u: names[0] for u in c.must}
    free = _ordered(c, c.kpi.drop(index=c.must + c.never_treat))
    need = {name: c.n_treated - (len(c.must) if i == 0 else 0) for i, name in enumerate(names)}
    total = sum(need.values())
    if total <= 0:
        return cells_of
    # blocks of similar KPI; each block contributes one geo to as many cells as it can
    n_blocks = int(np.ceil(total / len(names)))
    blocks = np.array_split(np.asarray(free.index, dtype=object), n_blocks)
    queue = [name for name in names for _ in range(need[name])]
    rng.shuffle(queue)
    k = 0
    for block in blocks:
        picks = rng.permutation(len(block))
        taken = 0
        for name in list(dict.fromkeys(queue[k:])):
            if taken >= len(block) or k >= len(queue):
                break
            if need[name] > 0:
                cells_of[block[picks[taken]]] = name
                need[name] -= 1
                queue.remove(name)
                taken += 1
    leftover = [u for u in free.index if u not in cells_of]
    for name, left in need.items():
        if left > 0:
            chosen = rng.choice(len(leftover), size=left, replace=False)
            for i in sorted(chosen, reverse=True):
                cells_of[leftover.pop(i)] = name
    return cells_of


def stratified_assignment(constraints: Constraints, *, seed: int = 0, max_tries: int = 200) -> pd.DataFrame:
    """Blocked randomisation on the pre-period KPI under the constraints.

    Geos are sorted by KPI and cut into blocks; each block sends one geo to each treatment
    cell at random, so the cells match the control in size distribution. Draws violating
    the budget are redrawn (up to ``max_tries``).

    Examples
    --------
    >>> import pandas as pd
    >>> kpi = pd.Series(range(1, 21), index=[f"g{i}" for i in range(20)], dtype=float)
    >>> a = stratified_assignment(Constraints(kpi, n_treated=5), seed=1)
    >>> a["cell"].value_counts().to_dict()
    {'control': 15, 'treatment': 5}
    """
    rng = np.random.default_rng(seed)
    for _ in range(max_tries):
        cells_of = _draw_stratified(constraints, rng)
        if constraints.feasible(list(cells_of), cells_of):
            return constraints.frame(cells_of)
    raise SpecError(
        f"no stratified draw in {max_tries} tries met plan.budget={constraints.budget} and "
        f"plan.treated_share={constraints.treated_share}; raise the budget or change the share."
    )


def matched_pairs_assignment(constraints: Constraints, *, seed: int = 0) -> pd.DataFrame:
    """Randomised matched pairs (trimmed-match style) on the pre-period KPI.

    Geos (must-treat geos first placed) are sorted by KPI and grouped into consecutive
    groups of ``cells + 1``; within each group one geo goes to each treatment cell and one to
    control at random. The ``n_treated`` groups with the closest KPI are kept as pairs; the
    other geos are controls with ``pair = -1``.

    Examples
    --------
    >>> import pandas as pd
    >>> kpi = pd.Series(range(1, 11), index=[f"g{i}" for i in range(10)], dtype=float)
    >>> a = matched_pairs_assignment(Constraints(kpi, n_treated=3), seed=0)
    >>> int((a["pair"] >= 0).sum()), int((a["cell"] == "treatment").sum())
    (6, 3)
    """
    c = constraints
    rng = np.random.default_rng(seed)
    names = cell_names(c.cells)
    size = len(names) + 1
    order = _ordered(c, c.kpi)
    units = np.asarray(order.index, dtype=object)
    vals = order.to_numpy()
    groups = [list(range(i, i + size)) for i in range(0, len(units) - size + 1, size)]
    spread = np.array([(vals[g[0]] - vals[g[-1]]) / max(vals[g[0]], 1e-12) for g in groups])
    must_groups = [i for i, g in enumerate(groups) if any(units[j] in c.must for j in g)]
    ranked = must_groups + [i for i in np.argsort(spread) if i not in must_groups]
    cells_of: dict[Any, str] = {}
    pairs: dict[Any, int] = {}
    kept = 0
    for gi in ranked:
        if kept >= c.n_treated:
            break
        members = [units[j] for j in groups[gi]]
        forced = [u for u in members if u in c.must]
        if len(forced) > 1:
            continue  # two must-treat geos in one group: take the next group
        perm = list(rng.permutation(members))
        if forced:
            perm.remove(forced[0])
            perm.insert(0, forced[0])
        trial = dict(cells_of)
        for name, u in zip(names, perm):
            trial[u] = name
        if not c.feasible([u for u, v in trial.items() if v != "control"]):
            continue
        cells_of = trial
        for u in members:
            pairs[u] = kept
        kept += 1
    missing = [u for u in c.must if u not in cells_of]
    if missing or kept < c.n_treated:
        raise SpecError(
            f"matched pairs could place only {kept} of n_treated={c.n_treated} groups within the "
            f"constraints (must_treat left out: {missing[:3]}); use assignment='stratified' or relax them."
        )
    return c.frame(cells_of, pairs)


def search_markets(
    constraints: Constraints,
    score: Callable[[list[pd.DataFrame]], np.ndarray],
    *,
    n_candidates: int = 10,
    method: str = "stratified",
    seed: int = 0,
) -> tuple[list[pd.DataFrame], pd.DataFrame]:
    """Draw candidate treatment sets and rank them by ``score`` (lower is better).

    ``score`` receives every candidate assignment at once (so a simulated MDE can batch them)
    and returns one number per candidate. Returns the candidates sorted best first and a
    ranking frame (``candidate``, ``score``, ``n_treated``, ``kpi_share``, ``cost``,
    ``treated``).

    Examples
    --------
    >>> import pandas as pd
    >>> kpi = pd.Series(range(1, 21), index=[f"g{i}" for i in range(20)], dtype=float)
    >>> score = lambda cands: [abs(a.loc[a.cell == "treatment", "kpi_share"].sum() - 0.25) for a in cands]
    >>> cands, ranking = search_markets(Constraints(kpi, n_treated=5), score, n_candidates=4)
    >>> len(cands), ranking["score"].is_monotonic_increasing
    (4, True)
    """
    seeds = np.random.SeedSequence(seed).spawn(int(n_candidates))
    cands = []
    for ss in seeds:
        s = int(ss.generate_state(1)[0])
        if method == "matched_pairs":
            cands.append(matched_pairs_assignment(constraints, seed=s))
        else:
            cands.append(stratified_assignment(constraints, seed=s))
    scores = np.asarray(score(cands), dtype=float)
    order = np.argsort(np.where(np.isfinite(scores), scores, np.inf), kind="stable")
    rows = []
    for rank, i in enumerate(order):
        a = cands[i]
        t = a[a["cell"] != "control"]
        rows.append({
            "candidate": int(i), "rank": rank + 1, "score": float(scores[i]), "n_treated": int(len(t)),
            "kpi_share": float(t["kpi_share"].sum()), "cost": float(t["cost"].sum()) if t["cost"].notna().any() else np.nan,
            "treated": ", ".join(map(str, t["unit"].tolist())),
        })
    return [cands[i] for i in order], pd.DataFrame(rows)
