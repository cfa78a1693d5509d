"""The classifier's version, computed without loading the classifier.

``<ruleset>+<artifact sha256[:8]>.<code sha256[:8]>``: it changes with the model or the rules.
Reading the catalog only needs this string (to prefer the running version's stored
classifications), so it hashes files instead of importing the rules and parsing the model.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final

__all__ = ["ARTIFACT_PATH", "RULESET", "classifier_version"]

RULESET: Final = "1.0"
HERE: Final = Path(__file__).resolve().parent
ARTIFACT_PATH: Final = HERE / "data" / "model.json.gz"
#: The modules whose code decides a classification.
CODE: Final = (
    "tokens.py",
    "rules.py",
    "features.py",
    "classify.py",
    "flags.py",
    "confusables.py",
    "screen.py",
)

_CACHE: dict[Path, str] = {}


def classifier_version(path: Path = ARTIFACT_PATH) -> str:
    if path not in _CACHE:
        code = hashlib.sha256()
        for module in CODE:
            code.update((HERE / module).read_bytes())
        artifact = hashlib.sha256(path.read_bytes()).hexdigest()
        _CACHE[path] = f"{RULESET}+{artifact[:8]}.{code.hexdigest()[:8]}"
    return _CACHE[path]
