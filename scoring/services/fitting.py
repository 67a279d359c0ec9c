"""A scoring profile fitted to the agency's own history, validated out of time.

The data are the score validity report's (scoring/services/validity.py): every edition N+1 of a
series, its population (the contacts who attended an earlier edition), the outcome "attended the
edition", and the six score components of each contact exactly as of T, just before it started.

- **Split, out of time**: the editions with at least one pair, sorted by start, are cut by
  edition: the earliest ones (about 1 − `test_share`, 70 %) train, the later ones test. An
  edition is never split, and the test editions all start after every training edition.
- **Fit**: scikit-learn's logistic regression of the outcome on the six components of the
  training pairs (each standardised, L2-regularised, C = 1), with one intercept per series (its
  base rate of returns; see fit_weights()). Weights must not be negative (a
  component that counts against a return would make the score unreadable): a component whose
  coefficient comes out negative is left out (weight 0) and the fit is repeated on the others.
  A component that does not vary in the training pairs gets weight 0 too. The coefficients,
  back on the components' own scale, normalised to sum 1 and rounded to 3 decimals (largest
  remainders, so they still sum to 1), are the fitted weights: the logistic regression ranks the
  pairs by Σ coefficient × component, which ranks them as Σ weight × component does.
- **Half-life**: the components as of T depend on the half-life, so the pairs are scored again
  for each candidate. The candidate chosen is the one whose fit ranks best in an inner
  out-of-time split of the training editions (their earliest part fits, the later part is
  scored), or, when the training editions are too few for it, on the training pairs themselves;
  the test editions never choose anything. A candidate other than the active half-life has to
  rank strictly better than the active one.
- **Out-of-time test**: the AUC (validity.auc) of the active profile's score and of the fitted
  profile's score, round(100 × Σ weight × component, 1), on the test pairs only.

Cost: that of the validity report once per candidate half-life (the populations are read once).
Cache: a fit is stored under the validity report's data version (which includes the active
profile), the candidates and the test share; any write to the data it reads gives a new version.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from django.core.cache import cache
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from scoring.formatting import localized
from scoring.models import COMPONENTS, HALF_LIFE_RANGE, ScoringProfile
from scoring.services.profile import ScoringParameters, active_parameters, create_profile
from scoring.services.recompute import chunk_size_setting
from scoring.services.validity import (
    AUC_DIGITS,
    CACHE_TIMEOUT,
    RECENT_PAIRS,
    Edition,
    Observation,
    auc,
    completed_editions,
    data_version,
    observe_edition,
    recent_populations,
)

# Bump when this computation or the result's shape changes: fits cached by the old code drop out.
FIT_VERSION = 1
EXTRA_HALF_LIVES = (90.0, 180.0, 365.0)  # tried beside the active profile's half-life
DEFAULT_TEST_SHARE = 0.3
WEIGHT_DIGITS = 3
REGULARIZATION_C = 1.0
SERIES_SCALE = 10.0
CONSTANT_SPREAD = 1e-9  # a component whose standard deviation is at most this does not vary
# Below this many test pairs the difference between two AUCs is mostly chance: the page says so.
FEW_TEST_PAIRS = 30
# Profile fields that are not parameters: a fitted profile gets its own.
NOT_COPIED = {"id", "name", "version", "is_active", "created_at", "updated_at"}

TRAIN, TEST = "train", "test"
INNER_VALIDATION, TRAINING_DATA = "inner_validation", "training"


@dataclass(frozen=True)
class SplitEdition:
    """An edition N+1 with pairs, on one side of the split."""

    event_id: int
    name: str
    series_name: str
    starts_at: datetime
    pairs: int
    returned: int
    part: str  # TRAIN or TEST


@dataclass(frozen=True)
class HalfLifeTrial:
    half_life_days: float
    # The AUC that chose the half-life: inner validation or training pairs (ProfileFit.selection).
    selection_auc: float | None
    weights: dict[str, float] | None


@dataclass(frozen=True)
class ProfileFit:
    available: bool
    # Why there is no fit (available False), a code; `reason` says it in a sentence.
    reason_code: str
    active_version: int
    active_weights: dict[str, float]
    active_half_life_days: float
    editions: list[SplitEdition]
    train_pairs: int = 0
    test_pairs: int = 0
    train_returned: int = 0
    test_returned: int = 0
    active_test_auc: float | None = None
    fitted_test_auc: float | None = None
    fitted_weights: dict[str, float] | None = None
    fitted_half_life_days: float | None = None
    # Components with weight 0 because their coefficient came out negative / they did not vary.
    left_out: list[str] = field(default_factory=list)
    constant: list[str] = field(default_factory=list)
    selection: str = TRAINING_DATA
    trials: list[HalfLifeTrial] = field(default_factory=list)
    test_share: float = DEFAULT_TEST_SHARE
    data_version: str = ""
    computed_at: datetime | None = None
    from_cache: bool = field(default=False, compare=False)

    @property
    def train_editions(self) -> list[SplitEdition]:
        return [edition for edition in self.editions if edition.part == TRAIN]

    @property
    def test_editions(self) -> list[SplitEdition]:
        return [edition for edition in self.editions if edition.part == TEST]

    @property
    def auc_gain(self) -> float | None:
        if self.active_test_auc is None or self.fitted_test_auc is None:
            return None
        return round(self.fitted_test_auc - self.active_test_auc, AUC_DIGITS)

    @property
    def few_test_pairs(self) -> bool:
        return self.available and self.test_pairs < FEW_TEST_PAIRS

    @property
    def reason(self) -> str:
        """Why there is no fit, in a sentence of the active language ("" when there is one)."""
        texts = {
            "": "",
            "too_few_editions": _(
                "Too few data: a fit needs at least two completed editions of a series whose contacts "
                "attended an earlier edition, the earlier ones to fit on and a later one to test on; "
                "there are %(count)s."
            ) % {"count": localized(len(self.editions))},
            "train_one_class": _(
                "Too few data: in the training editions everyone came back or no one did, so there is "
                "nothing to learn from."
            ),
            "test_one_class": _(
                "Too few data: in the test editions everyone came back or no one did, so the fitted "
                "profile cannot be tested (the AUC needs both)."
            ),
            "no_positive_component": _(
                "No component ranks those who came back above those who did not in the training editions: "
                "there are no weights to propose."
            ),
        }
        return texts[self.reason_code]


# The pieces ------------------------------------------------------------------------------


def split_editions(editions: Sequence[Edition], test_share: float) -> tuple[list[Edition], list[Edition]]:
    """The earliest editions train, the later ones (about `test_share` of them, at least one)
    test; editions that start at the same moment stay on one side. ([], []) when impossible."""
    ordered = sorted(editions, key=lambda edition: (edition.starts_at, edition.event_id))
    count = len(ordered)
    if count < 2:
        return [], []
    cut = min(count - 1, max(1, count - math.floor(count * test_share + 0.5)))
    # Out of time: every test edition starts after every training one.
    forward = cut
    while forward < count and ordered[forward].starts_at == ordered[forward - 1].starts_at:
        forward += 1
    if forward < count:
        return ordered[:forward], ordered[forward:]
    backward = cut
    while backward > 0 and ordered[backward].starts_at == ordered[backward - 1].starts_at:
        backward -= 1
    if backward == 0:
        return [], []
    return ordered[:backward], ordered[backward:]


def rounded_weights(raw: dict[str, float], digits: int = WEIGHT_DIGITS) -> dict[str, float]:
    """Non-negative numbers scaled to sum 1 and rounded to `digits` decimals by largest
    remainders: the rounded weights still sum to exactly 1."""
    total = math.fsum(raw.values())
    unit = 10**digits
    shares = {name: raw[name] / total * unit for name in raw}
    units = {name: math.floor(share) for name, share in shares.items()}
    missing = unit - sum(units.values())
    # The largest remainders get the units rounding down left over; ties in component order.
    order = sorted(raw, key=lambda name: (-(shares[name] - units[name]), list(raw).index(name)))
    for name in order[:missing]:
        units[name] += 1
    return {name: units[name] / unit for name in raw}


def weighted_score(observation: Observation, weights: dict[str, float]) -> float:
    """The score a profile with these weights gives (DOMAIN.md): round(100 × Σ weight × c, 1)."""
    return round(100 * math.fsum(weights[name] * observation.components[name] for name in COMPONENTS), 1)


def score_auc(observations: Sequence[Observation], weights: dict[str, float] | None = None) -> float | None:
    """AUC of the stored score (weights None) or of the score with these weights."""
    values = [observation.score if weights is None else weighted_score(observation, weights)
              for observation in observations]
    result = auc(values, [observation.returned for observation in observations])
    return None if result is None else round(result, AUC_DIGITS)


@dataclass(frozen=True)
class WeightFit:
    weights: dict[str, float] | None  # None: no component with a positive coefficient
    left_out: list[str]
    constant: list[str]


def fit_weights(observations: Sequence[Observation]) -> WeightFit:
    """Logistic regression of the outcome on the six components, weights kept non-negative.

    Each series beyond the first gets an indicator column (its own base rate of returns, not a
    weight): the components then learn who comes back within a series, not which series brings
    people back more often, which pooled data would otherwise teach them (a monthly webinar's
    attendees are recent and return less often than an annual summit's).

    scikit-learn's LogisticRegression has no sign constraint (1.9: no `positive` option), so a
    component with a negative coefficient is left out and the others are fitted again, until
    none is negative. Both outcomes must occur in `observations`.
    """
    # Imported here: scikit-learn takes a second to import, and only this computation needs it.
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    features = np.array([[observation.components[name] for name in COMPONENTS] for observation in observations])
    outcomes = np.array([observation.returned for observation in observations])
    series = sorted({observation.series_id for observation in observations})[1:]
    # Indicators of SERIES_SCALE rather than 1: their coefficients, and so the L2 penalty on them,
    # come out SERIES_SCALE (squared) times smaller; a base rate is not a weight to keep small.
    series_columns = np.array([[SERIES_SCALE * (observation.series_id == series_id) for series_id in series]
                               for observation in observations]).reshape(len(observations), len(series))
    spread = features.std(axis=0)
    # Rounding noise (the same decay summed in another order) is no variation: scaled, it would explode.
    varies = [bool(value > CONSTANT_SPREAD) for value in spread]
    constant = [name for index, name in enumerate(COMPONENTS) if not varies[index]]
    kept = [index for index in range(len(COMPONENTS)) if varies[index]]
    left_out: list[str] = []
    while kept:
        # Standardised, so the penalty treats every component alike; coefficients back on the raw scale.
        scaled = (features[:, kept] - features[:, kept].mean(axis=0)) / spread[kept]
        model = LogisticRegression(C=REGULARIZATION_C, max_iter=1000).fit(np.hstack([scaled, series_columns]), outcomes)
        coefficients = model.coef_[0][: len(kept)] / spread[kept]
        negative = [index for index, value in zip(kept, coefficients, strict=True) if value < 0]
        if not negative:
            raw = dict.fromkeys(COMPONENTS, 0.0)
            for index, value in zip(kept, coefficients, strict=True):
                raw[COMPONENTS[index]] = float(value)
            if math.fsum(raw.values()) <= 0:
                break
            return WeightFit(rounded_weights(raw), left_out, constant)
        left_out += [COMPONENTS[index] for index in negative]
        kept = [index for index in kept if index not in negative]
    return WeightFit(None, left_out, constant)


def _both_outcomes(observations: Sequence[Observation]) -> bool:
    return len({observation.returned for observation in observations}) == 2


def _in(observations: Sequence[Observation], editions: Sequence[Edition]) -> list[Observation]:
    ids = {edition.event_id for edition in editions}
    return [observation for observation in observations if observation.event_id in ids]


def inner_split(train: Sequence[Edition], observations: Sequence[Observation], test_share: float):
    """The training editions split out of time once more, for choosing the half-life; None when
    either side would miss an outcome (then the training pairs themselves choose)."""
    inner_train, inner_validation = split_editions(train, test_share)
    if not inner_train:
        return None
    if not (_both_outcomes(_in(observations, inner_train)) and _both_outcomes(_in(observations, inner_validation))):
        return None
    return inner_train, inner_validation


def candidate_half_lives(half_lives: Sequence[float] | None, active: float) -> list[float]:
    """The half-lives to try, each one once, in the order given (default: the active one, then
    EXTRA_HALF_LIVES). A half-life a profile may not have (models.HALF_LIFE_RANGE) is a ValueError."""
    candidates = list(dict.fromkeys(float(value) for value in ([active, *EXTRA_HALF_LIVES] if half_lives is None
                                                                else half_lives)))
    minimum, maximum, _minimum_allowed = HALF_LIFE_RANGE
    if not candidates:
        raise ValueError("half_lives is empty")
    for value in candidates:
        if not (math.isfinite(value) and minimum <= value <= maximum):
            raise ValueError(f"half-life {value} is outside {minimum}–{maximum} days")
    return candidates


# The fit ---------------------------------------------------------------------------------


def build_profile_fit(
    *,
    half_lives: Sequence[float] | None = None,
    test_share: float = DEFAULT_TEST_SHARE,
    params: ScoringParameters | None = None,
    chunk_size: int | None = None,
    version: str = "",
    max_pairs: int | None = RECENT_PAIRS,
) -> ProfileFit:
    """The fit computed now (no cache); see the module docstring for the rules."""
    if not 0 < test_share < 1:
        raise ValueError("test_share must lie between 0 and 1")
    params = params or active_parameters()
    candidates = candidate_half_lives(half_lives, params.half_life_days)
    chunk_size = chunk_size or chunk_size_setting()
    populations = [(edition, population) for edition, population in recent_populations(completed_editions(), max_pairs)
                   if population]
    train, test = split_editions([edition for edition, _population in populations], test_share)

    def observe(half_life_days: float) -> list[Observation]:
        scored_with = replace(params, half_life_days=half_life_days)
        return [observation for edition, population in populations
                for observation in observe_edition(edition, population, scored_with, chunk_size)]

    def result(reason_code: str, **figures) -> ProfileFit:
        returned = {edition.event_id: sum(row.returned for row in population) for edition, population in populations}
        sizes = {edition.event_id: len(population) for edition, population in populations}
        parts = [(edition, TRAIN) for edition in train] + [(edition, TEST) for edition in test]
        if not parts:  # no split: the editions there are, on no side
            parts = [(edition, "") for edition, _population in populations]
        return ProfileFit(
            available=not reason_code, reason_code=reason_code, active_version=params.version,
            active_weights=dict(params.weights), active_half_life_days=params.half_life_days,
            editions=[SplitEdition(edition.event_id, edition.name, edition.series_name, edition.starts_at,
                                   sizes[edition.event_id], returned[edition.event_id], part) for edition, part in parts],
            train_pairs=sum(sizes[edition.event_id] for edition in train),
            test_pairs=sum(sizes[edition.event_id] for edition in test),
            train_returned=sum(returned[edition.event_id] for edition in train),
            test_returned=sum(returned[edition.event_id] for edition in test),
            test_share=test_share, data_version=version, computed_at=timezone.now(), **figures,
        )

    if not train:
        return result("too_few_editions")
    outcomes = {edition.event_id: [row.returned for row in population] for edition, population in populations}
    if len({value for edition in train for value in outcomes[edition.event_id]}) < 2:
        return result("train_one_class")
    if len({value for edition in test for value in outcomes[edition.event_id]}) < 2:
        return result("test_one_class")

    by_half_life = {half_life: observe(half_life) for half_life in candidates}
    if params.half_life_days in by_half_life:
        active_observations = by_half_life[params.half_life_days]
    else:
        active_observations = observe(params.half_life_days)
    first = by_half_life[candidates[0]]
    inner = inner_split(train, _in(first, train), test_share)
    trials = []
    for half_life, observations in by_half_life.items():
        training = _in(observations, train)
        if inner is None:
            fitted = fit_weights(training)
            selection_auc = None if fitted.weights is None else score_auc(training, fitted.weights)
        else:
            inner_fit = fit_weights(_in(observations, inner[0]))
            selection_auc = None if inner_fit.weights is None else score_auc(_in(observations, inner[1]), inner_fit.weights)
            fitted = fit_weights(training)
        trials.append((half_life, selection_auc, fitted))

    chosen = _choose(trials, params.half_life_days)
    half_life, _selection_auc, fitted = chosen
    summary = {
        "selection": TRAINING_DATA if inner is None else INNER_VALIDATION,
        "trials": [HalfLifeTrial(value, selection_auc, fit.weights) for value, selection_auc, fit in trials],
        "active_test_auc": score_auc(_in(active_observations, test)),
    }
    if fitted.weights is None:
        return result("no_positive_component", left_out=fitted.left_out, constant=fitted.constant, **summary)
    return result(
        "", fitted_weights=fitted.weights, fitted_half_life_days=half_life, left_out=fitted.left_out,
        constant=fitted.constant, fitted_test_auc=score_auc(_in(by_half_life[half_life], test), fitted.weights),
        **summary,
    )


def _choose(trials: list[tuple], active_half_life: float) -> tuple:
    """The trial with the highest selection AUC; the active half-life unless another beats it."""
    usable = [trial for trial in trials if trial[1] is not None and trial[2].weights is not None]
    if not usable:
        return next((trial for trial in trials if trial[0] == active_half_life), trials[0])
    best = max(usable, key=lambda trial: trial[1])  # the first of equals: the order given
    active = next((trial for trial in usable if trial[0] == active_half_life), None)
    return active if active is not None and active[1] >= best[1] else best


def cache_key(version: str, half_lives: Sequence[float], test_share: float, max_pairs: int | None) -> str:
    candidates = ",".join(f"{value:g}" for value in half_lives)
    return f"ror:profile-fit:v{FIT_VERSION}:{candidates}:{test_share:g}:{max_pairs}:{version}"


def fit_profile(
    *,
    half_lives: Sequence[float] | None = None,
    test_share: float = DEFAULT_TEST_SHARE,
    use_cache: bool = True,
    chunk_size: int | None = None,
    max_pairs: int | None = RECENT_PAIRS,
) -> ProfileFit:
    """The fit for the data as it is: from the cache when this data version was fitted before,
    else fitted and cached (also with `use_cache=False`, which only skips reading)."""
    if not 0 < test_share < 1:
        raise ValueError("test_share must lie between 0 and 1")
    params = active_parameters()
    candidates = candidate_half_lives(half_lives, params.half_life_days)
    version = data_version()  # the active profile is part of it
    key = cache_key(version, candidates, test_share, max_pairs)
    if use_cache and (cached := cache.get(key)) is not None:
        return replace(cached, from_cache=True)
    fit = build_profile_fit(half_lives=candidates, test_share=test_share, params=params, chunk_size=chunk_size,
                            version=version, max_pairs=max_pairs)
    cache.set(key, fit, CACHE_TIMEOUT)
    return fit


# The profile -----------------------------------------------------------------------------


def create_fitted_profile(fit: ProfileFit, *, name: str | None = None) -> ScoringProfile:
    """A new, inactive profile version: the parameters of the profile the fit was made with
    (the active one then), with the fitted weights and half-life. Through
    services.profile.create_profile, so it is validated and numbered like any other."""
    if not fit.available or fit.fitted_weights is None or fit.fitted_half_life_days is None:
        raise ValueError("this fit proposes no profile")
    base = ScoringProfile.objects.get(version=fit.active_version)
    fields = {
        model_field.name: getattr(base, model_field.name) for model_field in ScoringProfile._meta.concrete_fields
        if model_field.name not in NOT_COPIED and not isinstance(model_field, models.AutoField)
    }
    fields.update(weights=dict(fit.fitted_weights), half_life_days=fit.fitted_half_life_days, is_active=False)
    fields["name"] = name or _("Fitted %(date)s") % {"date": timezone.localdate().isoformat()}
    return create_profile(**fields)
