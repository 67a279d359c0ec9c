"""A deterministic demo event agency for `manage.py seed_demo`.

`catalog` holds the fixed names, `plan` generates the rows in memory (pure), `writer` stores and removes them.
"""

from events.demo.plan import DEFAULT_SEED, DemoPlan, build_plan
from events.demo.writer import (
    DemoDataConflict,
    DemoSummary,
    delete_demo_data,
    demo_data_present,
    ensure_sales_users,
    seed_demo_data,
)

__all__ = [
    "DEFAULT_SEED",
    "DemoDataConflict",
    "DemoPlan",
    "DemoSummary",
    "build_plan",
    "delete_demo_data",
    "demo_data_present",
    "ensure_sales_users",
    "seed_demo_data",
]
