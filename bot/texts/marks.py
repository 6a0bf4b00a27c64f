"""The markers that let `pybabel extract` find every English text in `en.py`.

`_("…")` is a text (its English stays as it is); `N_("… {count} …", "… {count} …")` is one
whose words change with a number (`N_(one, other, "minutes")` names another placeholder), so
each language gives all of its plural forms (Russian three). Both only mark: the current
language's words are looked up at use time, through `bot.texts.t`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _(text: str) -> str:
    """Mark a text for the catalogs; it stays the English source."""
    return text


@dataclass(frozen=True)
class Plural:
    """A text with a singular and a plural, chosen by the number in placeholder `number`."""

    singular: str
    plural: str
    number: str = "count"

    def format(self, **values: Any) -> str:
        """The English form for the number in `values`, filled in."""
        form = self.singular if values[self.number] == 1 else self.plural
        return form.format(**values)


def N_(singular: str, plural: str, number: str = "count") -> Plural:
    """Mark a text whose words follow a number (extracted with `-k N_:1,2`)."""
    return Plural(singular, plural, number)
