"""Request body parsing for the partner API: bad JSON is a 400, never a 500."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser as DRFJSONParser


def check_ignored_body(request) -> None:
    """Parse the body of an action that reads none (erase, recompute): a malformed one is a 400
    and an unsupported type a 415, as on every other write, and the action is not taken."""
    request.data  # noqa: B018 - parsing is the point


class JSONParser(DRFJSONParser):
    """DRF's JSON parser, with nesting the decoder cannot follow (`[` × 100,000 raises
    RecursionError, not ValueError) refused as a parse error like any other malformed body."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the body is nested too deeply.") from exc
