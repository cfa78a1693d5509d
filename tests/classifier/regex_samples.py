"""Random strings that a regular expression matches, for tests that check a shortcut against the
pattern itself (screens, rule triggers): built from the pattern's parse tree, lookarounds left out."""

from __future__ import annotations

import random
import re._constants as c
from typing import Any

CATEGORY_CHARS = {
    c.CATEGORY_DIGIT: "07",
    c.CATEGORY_NOT_DIGIT: "a. ",
    c.CATEGORY_SPACE: " \n\t",
    c.CATEGORY_NOT_SPACE: "a.7_",
    c.CATEGORY_WORD: "a7_é",
    c.CATEGORY_NOT_WORD: " .-'",
}


def sample(items: Any, rng: random.Random, icase: bool = False) -> str:
    """A random string matching the parsed pattern ``items`` (``re._parser.parse(...).data``);
    ``icase``: some letters in another case, as ``re.IGNORECASE`` still matches them."""
    out = []
    for op, av in items:
        if op is c.LITERAL:
            ch = chr(av)
            if icase and rng.random() < 0.3:
                ch = {"i": rng.choice("Iıİ"), "s": rng.choice("Sſ"), "k": rng.choice("KK")}.get(
                    ch.lower(), ch.swapcase())
            out.append(ch)
        elif op is c.NOT_LITERAL:
            out.append(rng.choice([ch for ch in "a. 7" if ord(ch) != av]))
        elif op is c.ANY:
            out.append(rng.choice("a. 7"))
        elif op is c.IN:
            choices = []
            for iop, iav in av:
                if iop is c.LITERAL:
                    choices.append(chr(iav))
                elif iop is c.RANGE:
                    choices.append(chr(rng.randint(*iav)))
                elif iop is c.CATEGORY:
                    choices.extend(CATEGORY_CHARS.get(iav, "a"))
            out.append(rng.choice(choices or ["a", ".", " "]))
        elif op is c.BRANCH:
            out.append(sample(rng.choice(av[1]).data, rng, icase))
        elif op is c.SUBPATTERN:
            out.append(sample(av[3].data, rng, icase))
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            lo, hi, sub = av
            for _ in range(rng.randint(lo, min(hi, lo + 3))):
                out.append(sample(sub.data, rng, icase))
        elif op is c.ATOMIC_GROUP:
            out.append(sample(av.data, rng, icase))
    return "".join(out)
