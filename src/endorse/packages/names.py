"""Project names: PEP 503 normalisation and confusable-name detection."""

from __future__ import annotations

import re
import unicodedata

_SEPARATORS = re.compile(r"[-_.]+")
_CONFUSABLES = str.maketrans({"o": "0", "l": "1", "i": "1"})


def confusable_key(name: str) -> str:
    """Fold a name further than PEP 503 so look-alike names collide.

    Like PyPI's "ultranormalised" names: separators are dropped and the letters
    ``o``, ``l`` and ``i`` fold to the digits they resemble, so ``req-uests``,
    ``requests`` and ``reque5ts``... are not all distinct: ``django`` and
    ``dj4ngo`` stay distinct, but ``pil-low`` and ``pi11ow`` collide with
    ``pillow``.
    """
    folded = unicodedata.normalize("NFKC", name).lower()
    return _SEPARATORS.sub("", folded).translate(_CONFUSABLES)
