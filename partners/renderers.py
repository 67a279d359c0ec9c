"""JSON rendering for the partner API that cannot fail on the text it echoes."""

from rest_framework.renderers import JSONRenderer as DRFJSONRenderer

from ror_crm.validators import LONE_SURROGATE


def without_surrogates(data):
    """The data with lone surrogates (which UTF-8 cannot encode) replaced by U+FFFD."""
    if isinstance(data, str):
        return LONE_SURROGATE.sub("\ufffd", data)
    if isinstance(data, dict):
        return {without_surrogates(key): without_surrogates(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [without_surrogates(item) for item in data]
    return data


class JSONRenderer(DRFJSONRenderer):
    """DRF's renderer; an error message that quotes the input (`"\\ud800" is not a valid
    choice.`) would hold a lone surrogate, and encoding it to UTF-8 would turn the 400 into a
    500. Such characters become U+FFFD; stored text never has them (the fields refuse them)."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return super().render(without_surrogates(data), accepted_media_type, renderer_context)
