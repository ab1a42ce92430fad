"""What the property tests ask of a message shown to a user: Dutch, with no trace of
Python or of a library's English (an exception's text passed on as it came)."""

from __future__ import annotations

import re

#: Words of English messages (Python's, the csv module's, pydantic's, PyYAML's) that a
#: Dutch sentence never holds.
ENGLISH = re.compile(
    r"\b(the|should|must|invalid|error|expected|field|line|character|traceback|input|"
    r"value|found|while|got|not|valid|unexpected|exception|none|or|and|unable|parse|"
    r"allowed|integer|string|list|items)\b",
    re.IGNORECASE,
)
#: What a message may echo of the input: a quoted value, an e-mail address.
ECHOED = re.compile(r"'[^']*'|\"[^\"]*\"|\S*@\S*")


def assert_dutch(message: str) -> None:
    assert isinstance(message, str) and message.strip(), repr(message)
    own_words = ECHOED.sub(" ", message)
    english = ENGLISH.search(own_words)
    assert english is None, f"English in a user's message: {message!r}"
    assert "Traceback" not in message and 'File "' not in message, message
