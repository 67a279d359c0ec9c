"""The BG/BB repeat-behaviour model (beta-geometric/beta-binomial; Fader, Hardie & Shang 2010,
"Customer-Base Analysis in a Discrete-Time Noncontractual Setting", Marketing Science 29(6)).

Discrete opportunities: the editions of a series. While "alive", a contact attends each edition
with probability p; after each edition they "die" (stop coming for good) with probability θ.
Across contacts p ~ Beta(α, β) and θ ~ Beta(γ, δ). A history is (x, t_x, n): n opportunities
watched, x attended, the last one attended being the t_x-th (0 when x = 0).

Pure numpy/scipy, no database: docs/clv.md has the formulas, tests/scoring/test_clv.py holds the
fit against the `lifetimes` library's BetaGeoBetaBinomFitter on the same data.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, digamma, gammaln

# Parameters are fitted as logarithms within these bounds (1e-4 … 1e4): data that pushes a
# parameter to a bound (everyone always comes, say) gets a usable model rather than an overflow.
LOG_PARAMETER_BOUND = math.log(1e4)
START = 0.1  # log of every parameter at the start, as lifetimes starts
GRADIENT_TOLERANCE = 1e-9
ACCEPTED_GRADIENT = 1e-5  # a line search that stops here has found the optimum for our purposes


class ClvFitError(Exception):
    """The BG/BB model could not be fitted: no repeat opportunities in the data, or no convergence."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class BgBbParameters:
    alpha: float
    beta: float
    gamma: float
    delta: float
    log_likelihood: float = math.nan  # of the data fitted (sum over contacts); NaN when given by hand
    iterations: int = 0

    @property
    def values(self) -> tuple[float, float, float, float]:
        return self.alpha, self.beta, self.gamma, self.delta


class _Histories:
    """(x, t_x, n, count) rows as arrays, with the terms of the likelihood's sum laid out once:
    row g has the terms i = 0 … n − t_x − 1 (none when t_x = n), stored one after another."""

    def __init__(self, x, t_x, n, count=None):
        self.x = np.asarray(x, dtype=float)
        self.t_x = np.asarray(t_x, dtype=float)
        self.n = np.asarray(n, dtype=float)
        self.count = np.ones_like(self.x) if count is None else np.asarray(count, dtype=float)
        terms = (self.n - self.t_x).astype(np.int64)
        if (self.x < 0).any() or (self.x > self.t_x).any() or (self.t_x > self.n).any() or (
            (self.x > 0) & (self.t_x < 1)
        ).any():
            raise ValueError("Histories need 0 ≤ x ≤ t_x ≤ n, and t_x ≥ 1 when x ≥ 1.")
        self.term_row = np.repeat(np.arange(len(self.x)), terms)
        starts = np.concatenate([[0], np.cumsum(terms)[:-1]]) if len(terms) else np.zeros(0, dtype=np.int64)
        self.term_i = np.arange(len(self.term_row)) - np.repeat(starts, terms)
        self.has_terms = terms > 0
        self.term_starts = starts[self.has_terms]

    def log_terms(self, a: float, b: float, g: float, d: float) -> tuple[np.ndarray, np.ndarray]:
        """The logs of the likelihood's two parts: A per row (alive through all n), B per term."""
        x, t_x, n = self.x, self.t_x, self.n
        log_a = betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n) - betaln(g, d)
        xr, tr, i = x[self.term_row], t_x[self.term_row], self.term_i
        log_b = betaln(a + xr, b + tr - xr + i) - betaln(a, b) + betaln(g + 1, d + tr + i) - betaln(g, d)
        return log_a, log_b

    def log_likelihood(self, a: float, b: float, g: float, d: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """log L per row, and the two parts' logs (for the gradient)."""
        log_a, log_b = self.log_terms(a, b, g, d)
        peak = log_a.copy()
        if len(log_b):
            peak[self.has_terms] = np.maximum(peak[self.has_terms], np.maximum.reduceat(log_b, self.term_starts))
        total = np.exp(log_a - peak)
        if len(log_b):
            total += np.bincount(self.term_row, weights=np.exp(log_b - peak[self.term_row]), minlength=len(peak))
        return peak + np.log(total), log_a, log_b

    def negative_mean_log_likelihood(self, log_params: np.ndarray) -> tuple[float, np.ndarray]:
        """−Σ count · log L / Σ count and its gradient in the log-parameters (digamma: the
        derivatives of log B(a, b) are ψ(a) − ψ(a + b) and ψ(b) − ψ(a + b))."""
        a, b, g, d = np.exp(log_params)
        log_l, log_a, log_b = self.log_likelihood(a, b, g, d)
        x, t_x, n = self.x, self.t_x, self.n
        weight_a = np.exp(log_a - log_l)  # each part's share of L
        xr, tr, i = x[self.term_row], t_x[self.term_row], self.term_i
        weight_b = np.exp(log_b - log_l[self.term_row])
        base_ab = digamma(a + b)
        base_gd = digamma(g + d)
        # d log-part / d parameter, for A (per row) and B (per term)
        grad_a = [
            digamma(a + x) - digamma(a + b + n) - digamma(a) + base_ab,
            digamma(b + n - x) - digamma(a + b + n) - digamma(b) + base_ab,
            digamma(g) - digamma(g + d + n) - digamma(g) + base_gd,
            digamma(d + n) - digamma(g + d + n) - digamma(d) + base_gd,
        ]
        grad_b = [
            digamma(a + xr) - digamma(a + b + tr + i) - digamma(a) + base_ab,
            digamma(b + tr - xr + i) - digamma(a + b + tr + i) - digamma(b) + base_ab,
            digamma(g + 1) - digamma(g + d + 1 + tr + i) - digamma(g) + base_gd,
            digamma(d + tr + i) - digamma(g + d + 1 + tr + i) - digamma(d) + base_gd,
        ]
        weights = self.count / self.count.sum()
        gradient = np.empty(4)
        for k, value in enumerate((a, b, g, d)):
            per_row = weight_a * grad_a[k]
            if len(weight_b):
                per_row = per_row + np.bincount(self.term_row, weights=weight_b * grad_b[k], minlength=len(per_row))
            gradient[k] = -(weights * per_row).sum() * value  # chain rule: d/d log θ = θ · d/dθ
        return float(-(weights * log_l).sum()), gradient


def fit_bgbb(rows: Sequence[tuple[int, int, int, int]]) -> BgBbParameters:
    """Fit α, β, γ, δ by maximum likelihood to histories grouped as (x, t_x, n, count).

    The likelihood of one history (Fader, Hardie & Shang 2010, eq. 5):
        L = B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ)
            + Σ_{i=0}^{n−t_x−1} B(α+x, β+t_x−x+i)/B(α,β) · B(γ+1, δ+t_x+i)/B(γ,δ)
    maximised over the log-parameters with L-BFGS-B and the exact gradient. Rows with n = 0
    have L = 1 and change nothing. Raises ClvFitError without any row with n ≥ 1 or when the
    optimiser stops away from an optimum. The same rows give the same parameters: the last few
    fits are remembered (the event figures of one recompute all fit the same history).
    """
    # Sorted: the same histories in another order give the same parameters to the last digit.
    return _fit_bgbb(tuple(sorted(tuple(int(value) for value in row) for row in rows)))


@lru_cache(maxsize=8)
def _fit_bgbb(rows: tuple[tuple[int, int, int, int], ...]) -> BgBbParameters:
    data = np.asarray(rows, dtype=float).reshape(-1, 4)
    data = data[(data[:, 2] >= 1) & (data[:, 3] > 0)]
    if not len(data):
        raise ClvFitError("no_repeat_data", "No contact has an edition of the series after their first one yet.")
    histories = _Histories(data[:, 0], data[:, 1], data[:, 2], data[:, 3])
    with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
        result = minimize(
            histories.negative_mean_log_likelihood, x0=np.full(4, START), jac=True, method="L-BFGS-B",
            bounds=[(-LOG_PARAMETER_BOUND, LOG_PARAMETER_BOUND)] * 4,
            options={"maxiter": 5000, "ftol": 1e-15, "gtol": GRADIENT_TOLERANCE},
        )
    if not np.isfinite(result.fun) or not (result.success or np.abs(result.jac).max() < ACCEPTED_GRADIENT):
        raise ClvFitError("no_convergence", f"The BG/BB fit did not converge: {result.message}")
    a, b, g, d = (float(value) for value in np.exp(result.x))
    return BgBbParameters(a, b, g, d, log_likelihood=float(-result.fun * data[:, 3].sum()), iterations=int(result.nit))


def log_likelihood(params: BgBbParameters, x, t_x, n) -> np.ndarray:
    """log L of each history (x, t_x, n) under the parameters."""
    with np.errstate(over="ignore", under="ignore"):
        return _Histories(np.atleast_1d(x), np.atleast_1d(t_x), np.atleast_1d(n)).log_likelihood(*params.values)[0]


def probability_alive(params: BgBbParameters, x, t_x, n) -> np.ndarray:
    """P(still alive after the n-th opportunity | history) (Fader, Hardie & Shang 2010, eq. 11):
    B(α+x, β+n−x)/B(α,β) · B(γ, δ+n)/B(γ,δ) / L."""
    a, b, g, d = params.values
    x, t_x, n = (np.atleast_1d(np.asarray(value, dtype=float)) for value in (x, t_x, n))
    log_alive = betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n) - betaln(g, d)
    return np.exp(log_alive - log_likelihood(params, x, t_x, n))


def expected_attendances(params: BgBbParameters, x, t_x, n, future_opportunities) -> np.ndarray:
    """E[attendances at the next n* opportunities | history] (Fader, Hardie & Shang 2010, eq. 13):

        1/L · B(α+x+1, β+n−x)/B(α,β) · δ/(γ−1) · Γ(γ+δ)/Γ(1+δ)
            · [Γ(1+δ+n)/Γ(γ+δ+n) − Γ(1+δ+n+n*)/Γ(γ+δ+n+n*)]

    that is P(alive after n) · E[p | alive after n] · Σ_{k=1}^{n*} P(alive at n+k | alive at n),
    with E[p | …] = (α+x)/(α+β+n) and P(alive at n+k | alive at n) = B(γ, δ+n+k)/B(γ, δ+n).
    Vectorised over the arrays (broadcast). At γ = 1 the bracket's limit is used:
    δ · (ψ(δ+n+n*+1) − ψ(δ+n+1)).
    """
    a, b, g, d = params.values
    x, t_x, n, m = np.broadcast_arrays(*(np.asarray(value, dtype=float) for value in (x, t_x, n, future_opportunities)))
    x, t_x, n, m = (np.atleast_1d(value) for value in (x, t_x, n, m))
    log_head = betaln(a + x + 1, b + n - x) - betaln(a, b) - log_likelihood(params, x, t_x, n)
    return np.exp(log_head) * alive_sum(params, n, m)


def alive_sum(params: BgBbParameters, n, future_opportunities) -> np.ndarray:
    """Σ_{k=1}^{n*} B(γ, δ+n+k)/B(γ, δ): the chance of being alive at each of the next n*
    opportunities, from before the first (closed form of the sum, see expected_attendances)."""
    _a, _b, g, d = params.values
    n, m = np.broadcast_arrays(np.asarray(n, dtype=float), np.asarray(future_opportunities, dtype=float))
    if abs(g - 1) < 1e-9:
        return d * (digamma(d + n + m + 1) - digamma(d + n + 1))
    # In logs, and the bracket as exp(now) · (1 − exp(later − now)): Γ(γ+δ)/Γ(1+δ) alone overflows
    # for a large δ (few drop out) while its partner underflows.
    now = gammaln(1 + d + n) - gammaln(g + d + n)
    later = gammaln(1 + d + n + m) - gammaln(g + d + n + m)
    return d / (g - 1) * np.exp(gammaln(g + d) - gammaln(1 + d) + now) * -np.expm1(later - now)


def alive_weighted_sum(params: BgBbParameters, n: int, weights: Sequence[float]) -> float:
    """Σ_k w_k · B(γ, δ+n+k)/B(γ, δ) over the next len(weights) opportunities: alive_sum() with
    each opportunity weighted (by its discount factor)."""
    _a, _b, g, d = params.values
    if not len(weights):
        return 0.0
    k = np.arange(1, len(weights) + 1, dtype=float)
    return float(np.sum(np.asarray(weights, dtype=float) * np.exp(betaln(g, d + n + k) - betaln(g, d))))
