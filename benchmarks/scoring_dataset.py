"""benchmarks/scoring.py as a module for the other benchmarks, which share its dataset and helpers."""

import importlib.util
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
