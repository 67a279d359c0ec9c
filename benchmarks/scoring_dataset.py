"""benchmarks/scoring.py as a module for the other benchmarks, which share its dataset and helpers,
the setup of their database, and the writing of a results section into BENCHMARKS.md."""

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType


def load_scoring_benchmark() -> ModuleType:
    """benchmarks/scoring.py, loaded by path under another name, since `import scoring` must find
    the Django app."""
    spec = importlib.util.spec_from_file_location("scoring_benchmark", Path(__file__).with_name("scoring.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def write_results_section(path: Path, key: str, section: str) -> None:
    """Put `section` between the `<!-- results:key -->` markers of `path`, keeping every other
    section; appended at the end the first time."""
    start, end = f"<!-- results:{key} -->", f"<!-- /results:{key} -->"
    block = f"{start}\n{section}\n{end}"
    text = path.read_text()
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    text = pattern.sub(lambda _match: block, text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)
    print(f"Wrote the {key} results into {path.name}.")


def ready_database(scoring_benchmark: ModuleType, *, reset: bool) -> None:
    """Django set up on PostgreSQL, migrated, and the benchmark's tables empty: emptied with
    `reset`, else a database holding data is refused (benchmarks/scoring.py's rule)."""
    scoring_benchmark.setup_django()
    scoring_benchmark.require_postgresql()
    scoring_benchmark.migrate()
    occupied = scoring_benchmark.existing_rows()
    if occupied and not reset:
        scoring_benchmark.fail(f"the database already holds data ({', '.join(occupied)}); give --reset to empty it")
    if occupied:
        scoring_benchmark.reset_database()
