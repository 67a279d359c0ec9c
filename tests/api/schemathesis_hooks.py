"""Loaded into the schemathesis process by test_schemathesis.py (SCHEMATHESIS_HOOKS).

Python 3.11's ast.parse() can raise "SystemError: AST constructor recursion depth mismatch"
(CPython gh-106905, fixed in later Pythons) once an earlier parse in the process failed.
Hypothesis parses the source of filter lambdas only to describe them in a strategy's repr, and
schemathesis then reports a runtime error of the whole run: a failure of the fuzzer, not of the
API. A lambda it cannot describe is described as unknown instead, as Hypothesis does for other
sources it cannot parse.
"""

from hypothesis.internal import reflection

_describe_lambda = reflection._lambda_description


def _lambda_description(function) -> str:
    try:
        return _describe_lambda(function)
    except SystemError:
        return "lambda: <unknown>"


reflection._lambda_description = _lambda_description
