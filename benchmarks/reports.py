#!/usr/bin/env python
"""Benchmark of the analysis reports on PostgreSQL (not a test).

    python scripts/with_services.py -- python benchmarks/reports.py --scale medium

One run loads the scoring benchmark's synthetic agency (benchmarks/scoring.py, the same seeded
rows), links a share of its referrals to contacts (so referral chains have depth), scores every
contact once as of the dataset's time, then times each report once, cold, as the admin page or
the API computes it when nothing is cached:

- reference_floor_s: the scoring benchmark's plain-SQL floor, measured in the same run: how fast
  the machine ran (compare with the floor_s of BENCHMARKS.md's scoring results);
- cohorts_s: the cohort matrix of the largest series; cohorts_every_series_s: the matrices of
  all series one after the other (every attendance of the base read);
- matched_lift_s: the lift against matched non-attendees of the 5,000-attendee event, with its
  bootstrap (2,000 resamples);
- referral_chain_s: the referral chain of the contact who brought the most people;
- whatif_s: a what-if of a second profile (other weights) against the active one, whole base;
- profile_fit_s: the profile fitted to the history (out-of-time split, logistic regression);
- clv_fit_s: the BG/BB fit and every contact's CLV written.

Target: each ≤ 10 s at 100,000 contacts (`--scale medium`). It prints the figures and writes them
into BENCHMARKS.md (the section "reports:<scale>"). Like the scoring benchmark it refuses a
database holding data unless --reset is given.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

# benchmarks/, the running script's folder
from scoring_dataset import load_scoring_benchmark, ready_database, write_results_section

scoring_benchmark = load_scoring_benchmark()

TARGET_S = 10.0
# The scoring benchmark's floor_s at 100,000 contacts as BENCHMARKS.md records it (medium results):
# the machine's usual speed, against which a run on a slower day is scaled.
RECORDED_FLOOR_S = 1.68


def speed(figures: list[tuple[str, float]]) -> float:
    """How much faster the machine ran on the recorded day than in this run."""
    return RECORDED_FLOOR_S / figures[0][1]
LINKED_REFERRAL_SHARE = 0.5  # of the benchmark's referrals, linked to a contact (who may refer on)


def link_referrals() -> int:
    """Point half of the referrals at contacts, so chains have a second and third step."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE contacts_referral
            SET referred_id = 1 + ((referrer_id * 7919 + id * 104729) %% (SELECT max(id) FROM contacts_contact))
            WHERE id %% %s = 0
            """,
            [round(1 / LINKED_REFERRAL_SHARE)],
        )
        cursor.execute("UPDATE contacts_referral SET referred_id = NULL WHERE referred_id = referrer_id")
        cursor.execute("SELECT count(*) FROM contacts_referral WHERE referred_id IS NOT NULL")
        return cursor.fetchone()[0]


def score_everyone(chunk_size: int) -> float:
    from scoring.services.recompute import all_contact_id_chunks, recompute_contacts

    started = time.perf_counter()
    for chunk in all_contact_id_chunks(chunk_size):
        recompute_contacts(chunk, as_of=scoring_benchmark.AS_OF, chunk_size=chunk_size)
    return time.perf_counter() - started


def largest_series_id() -> int:
    from django.db.models import Count

    from events.models import Event

    return Event.objects.exclude(series=None).values("series").annotate(n=Count("id")).order_by("-n")[0]["series"]


def top_referrer_id() -> int:
    from django.db.models import Count

    from contacts.models import Referral

    return Referral.objects.exclude(referred=None).values("referrer").annotate(n=Count("id")).order_by("-n")[0]["referrer"]


def second_profile_id() -> int:
    from scoring.services.profile import create_profile, default_profile_values

    values = default_profile_values() | {"name": "Benchmark what-if", "is_active": False}
    values["weights"] = {"attendance": 0.4, "networking": 0.15, "dialogue": 0.15, "care": 0.1, "advocacy": 0.1,
                         "recency": 0.1}
    values.pop("version", None)
    return create_profile(**values).pk


def cohorts_of_every_series() -> Any:
    """The cohort matrix of every series, one after the other: the heat maps of the whole base."""
    from events.models import EventSeries
    from scoring.services.cohorts import cohort_matrix

    return [cohort_matrix(series_id, as_of=scoring_benchmark.AS_OF)
            for series_id in EventSeries.objects.values_list("pk", flat=True)]


def reports(dataset: Any) -> list[tuple[str, Callable[[], Any]]]:
    from contacts.referral_chain import referral_chain
    from scoring.services.clv import refit_clv
    from scoring.services.cohorts import cohort_matrix
    from scoring.services.fitting import fit_profile
    from scoring.services.matched_lift import matched_lift
    from scoring.services.whatif import profile_whatif

    series_id, referrer_id, profile_id = largest_series_id(), top_referrer_id(), second_profile_id()
    as_of = scoring_benchmark.AS_OF + timedelta(days=120)  # the big event's 90-day window has passed
    return [
        ("cohorts_s", lambda: cohort_matrix(series_id, as_of=as_of)),
        ("cohorts_every_series_s", cohorts_of_every_series),
        ("matched_lift_s", lambda: matched_lift(dataset.big_event.id)),
        ("referral_chain_s", lambda: referral_chain(referrer_id)),
        ("whatif_s", lambda: profile_whatif(profile_id, as_of=as_of)),
        ("profile_fit_s", lambda: fit_profile()),
        ("clv_fit_s", lambda: refit_clv()),
    ]


def markdown_section(scale: Any, rows: dict[str, int], figures: list[tuple[str, float]], extra: dict[str, Any]) -> str:
    machine = scoring_benchmark.machine_info()
    return "\n".join([
        f"### reports at {scale.contacts:,} contacts",
        "",
        f"Measured {machine['date']} on {machine['cores']} cores, PostgreSQL {machine['postgresql']}, "
        f"Python {machine['python']}. Dataset of benchmarks/scoring.py (seed {extra['seed']}): "
        f"{rows['contacts_contact']:,} contacts, {rows['events_event']:,} events, "
        f"{rows['events_attendance']:,} attendances, {rows['events_interaction']:,} interactions, "
        f"{rows['contacts_followup']:,} follow-ups; {extra['linked_referrals']:,} of "
        f"{rows['contacts_referral']:,} referrals linked to a contact. Each report once, cold (no cache).",
        "",
        f"*At recorded speed*: the figure × {RECORDED_FLOOR_S} s / `reference_floor_s`, i.e. on this machine on the "
        "day the scoring benchmark's medium results were measured (its floor_s then).",
        "",
        "| figure | measured | × reference floor | at recorded speed | target ≤ 10 s |",
        "|---|---:|---:|---:|---|",
        f"| `{figures[0][0]}` | {figures[0][1]:.2f} s | 1.0 | {RECORDED_FLOOR_S:.2f} s | (the machine's speed) |",
        *(f"| `{name}` | {seconds:.2f} s | {seconds / figures[0][1]:.1f} | {seconds * speed(figures):.2f} s | "
          f"{'met' if seconds <= TARGET_S else 'not met as measured'}"
          f"{'' if seconds <= TARGET_S else ', met at recorded speed' if seconds * speed(figures) <= TARGET_S else ''} |"
          for name, seconds in figures[1:]),
    ])


def write_markdown(key: str, section: str) -> None:
    write_results_section(scoring_benchmark.BENCHMARKS_MD, key, section)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(scoring_benchmark.SCALES), default="medium")
    parser.add_argument("--contacts", type=int, help="contacts instead of the scale's number (section 'custom')")
    parser.add_argument("--reset", action="store_true", help="empty a database that already holds contacts or events")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)

    ready_database(scoring_benchmark, reset=args.reset)

    from scoring.services.recompute import chunk_size_setting

    scale = (scoring_benchmark.Scale("custom", args.contacts) if args.contacts
             else scoring_benchmark.Scale(args.scale, scoring_benchmark.SCALES[args.scale]))
    print(f"Generating scale {scale.name} ({scale.contacts:,} contacts, seed {args.seed}) …")
    dataset = scoring_benchmark.generate(scale, args.seed)
    linked = link_referrals()
    print(f"Scoring every contact as of {scoring_benchmark.AS_OF:%Y-%m-%d} … ", end="", flush=True)
    print(f"{score_everyone(chunk_size_setting()):.1f} s")

    from scoring.services import active_parameters

    # The scoring benchmark's plain-SQL floor in the same run: how fast this machine ran today
    # (BENCHMARKS.md's scoring results give it for the day they were measured).
    figures = [("reference_floor_s", scoring_benchmark.measure_floor(active_parameters()))]
    print(f"{'reference_floor_s':<20} {figures[0][1]:8.2f} s")
    for name, report in reports(dataset):
        seconds, _result = scoring_benchmark.timed(report)
        print(f"{name:<20} {seconds:8.2f} s  (target ≤ {TARGET_S:.0f} s)")
        figures.append((name, seconds))
    if not args.no_write:
        section = markdown_section(scale, dataset.rows, figures, {"seed": args.seed, "linked_referrals": linked})
        write_markdown(f"reports:{scale.name}", section)
    return 0 if all(seconds <= TARGET_S for _name, seconds in figures[1:]) else 1


if __name__ == "__main__":
    sys.exit(main())
