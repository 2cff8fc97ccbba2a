"""Forms checked on the server: each value parsed or its problem noted beside its field, and
what was typed kept for the page that shows the form again."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class Form:
    """The typed values of a posted form, and the problems found, by field name."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self.values: dict[str, str] = {
            key: value for key, value in (values or {}).items() if isinstance(value, str)
        }
        self.problems: dict[str, str] = {}

    @classmethod
    def of(cls, form: Any) -> Form:
        """From Starlette's FormData (the last value of a repeated field)."""
        return cls({key: form.get(key) for key in form.keys()})  # noqa: SIM118 - FormData

    @property
    def ok(self) -> bool:
        return not self.problems

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def problem(self, name: str, key: str) -> None:
        """Note a problem with a field: ``key`` names a string in the console's tables
        (``console.form.*``) or is a message already written."""
        self.problems.setdefault(name, key)

    def text(self, name: str, *, required: bool = False, max_length: int = 1000) -> str | None:
        value = (
            " ".join(self.get(name).split())
            if "\n" not in self.get(name)
            else self.get(name).strip()
        )
        if not value:
            if required:
                self.problem(name, "console.form.required")
            return None
        if len(value) > max_length:
            self.problem(name, "console.form.too_long")
            return None
        return value

    def integer(
        self, name: str, *, minimum: int | None = None, required: bool = True
    ) -> int | None:
        raw = self.get(name).strip()
        if not raw:
            if required:
                self.problem(name, "console.form.required")
            return None
        try:
            value = int(raw)
        except ValueError:
            self.problem(name, "console.form.not_a_number")
            return None
        if minimum is not None and value < minimum:
            self.problem(name, "console.form.not_a_number")
            return None
        return value

    def choice(self, name: str, allowed: Iterable[str], *, required: bool = True) -> str | None:
        value = self.get(name).strip()
        if not value and not required:
            return None
        if value not in set(allowed):
            self.problem(name, "console.form.choose")
            return None
        return value

    def flag(self, name: str) -> bool:
        return self.get(name) in ("on", "1", "true", "yes")
