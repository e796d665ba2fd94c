"""The evaluation step's input check: what every entry point refuses before it evaluates.

The check itself is `ruleengine.input_check` (pure, shared with test cases and imports); this
module applies it with the API's limits. The API's parser already refuses bodies over
API_MAX_BODY_BYTES, NaN and infinities (orjson reads only JSON) and nesting deeper than
ruleengine.api.rendering.MAX_JSON_DEPTH. The admin's try-it reads its input with the json module,
which takes NaN and Infinity, and the command line reads lines of any length; so the same limits
are checked here, on the decoded input, for everyone. The depth, string and size limits are at
least as wide as the API parser's; numbers beyond ±(2^53 − 1) are refused everywhere, the API
included, because they would not be kept exact (ruleengine.input_check says why).
"""

from django.conf import settings

from ruleengine.input_check import (
    MAX_EXACT_INTEGER,
    MAX_INPUT_DEPTH,
    MAX_INPUT_STRING_LENGTH,
    InputRefused,
    input_check,
)

__all__ = [
    "MAX_EXACT_INTEGER",
    "MAX_INPUT_DEPTH",
    "MAX_INPUT_STRING_LENGTH",
    "InputRefused",
    "evaluation_input_check",
]


def evaluation_input_check(data, where: str = "data") -> None:
    """Refuse what is not a JSON object or not fit to evaluate and log.

    That is: numbers JSON cannot hold (NaN, infinities) or keep exact (beyond ±(2^53 − 1)),
    nesting deeper than MAX_INPUT_DEPTH, an input larger than API_MAX_BODY_BYTES as JSON, strings
    or keys longer than MAX_INPUT_STRING_LENGTH, NUL characters (PostgreSQL stores none) and lone
    surrogates. `where` names the input in the message.
    """
    input_check(data, where=where, max_bytes=settings.API_MAX_BODY_BYTES)
