"""The one place that renders templates: chat messages, e-mails, short labels.

Chat templates are Telegram HTML (``templates/<lang>/<name>.html``), web pages are
``templates/web/<lang>/<name>.html``, e-mails have a
subject, a text and an HTML part (``templates/email/<lang>/<name>.{subject.txt,txt,html}``),
and short strings such as button labels live in ``templates/<lang>/strings/<area>.yaml``
(all files of a language form one table, so keys carry their area: ``faq.did_you_mean``).
Everything renders in Jinja2's sandbox with autoescaping for HTML, so a customer named
``<Lan & Co>`` is shown as such and staff-edited templates cannot reach Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jinja2 import (
    BaseLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    select_autoescape,
)
from jinja2.sandbox import SandboxedEnvironment

from care.core import text

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
LANGUAGES = ("vi", "en")


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str


class TemplateProblem(ValueError):
    """A template does not parse or does not render: reported when it is written."""


class Renderer:
    """Renders every text the system shows, in the reader's language."""

    def __init__(
        self,
        templates_dir: Path = TEMPLATES_DIR,
        *,
        timezone: str = "Asia/Ho_Chi_Minh",
        default_language: str = "vi",
    ) -> None:
        self.templates_dir = templates_dir
        self.timezone = timezone
        self.default_language = default_language
        self.env = self._environment(FileSystemLoader(str(templates_dir)))
        self._plain = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        self._plain.filters.update(self.env.filters)
        # Labels with values are compiled once: a keyboard of order buttons renders one
        # for every order, every time someone asks.
        self._compiled: dict[tuple[str, str], Any] = {}
        self._strings_dirs = {lang: templates_dir / lang / "strings" for lang in LANGUAGES}

    def _environment(self, loader: BaseLoader | None = None) -> SandboxedEnvironment:
        env = SandboxedEnvironment(
            loader=loader,
            autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        env.filters["vnd"] = text.format_vnd
        env.filters["date"] = lambda v: text.format_date(v, self.timezone)
        env.filters["datetime"] = lambda v: text.format_datetime(v, self.timezone)
        env.filters["phone"] = text.format_phone
        return env

    def language(self, language: str | None) -> str:
        return language if language in LANGUAGES else self.default_language

    def chat(self, language: str | None, name: str, /, **context: Any) -> str:
        """A Telegram HTML message from ``templates/<lang>/<name>.html``."""
        lang = self.language(language)
        template = self.env.get_template(f"{lang}/{name}.html")
        return template.render(lang=lang, **context).strip()

    def email(self, language: str | None, name: str, /, **context: Any) -> Email:
        """Subject, plain text and HTML of an e-mail in the reader's language."""
        lang = self.language(language)
        base = f"email/{lang}/{name}"
        subject = self.env.get_template(f"{base}.subject.txt").render(lang=lang, **context)
        plain = self.env.get_template(f"{base}.txt").render(lang=lang, **context)
        html = self.env.get_template(f"{base}.html").render(lang=lang, **context)
        return Email(subject=" ".join(subject.split()), text=plain.strip(), html=html)

    def page(self, language: str | None, name: str, /, **context: Any) -> str:
        """A web page (the unsubscribe page) from ``templates/web/<lang>/<name>.html``."""
        lang = self.language(language)
        return self.env.get_template(f"web/{lang}/{name}.html").render(lang=lang, **context)

    def console(self, language: str | None, name: str, /, **context: Any) -> str:
        """A page of the web console from ``templates/web/console/<name>.html``: one template
        for both languages, its words looked up with ``t(key, ...)`` in the strings tables."""
        lang = self.language(language)

        def t(key: str, /, **values: Any) -> str:
            return self.label(lang, key, **values)

        def t_or(key: str, default: str | None, /) -> str:
            """A label for a word the shop may have chosen itself (a tier it named)."""
            return self.label_or(lang, key, "–" if default is None else default)

        return self.env.get_template(f"web/console/{name}.html").render(
            lang=lang, t=t, t_or=t_or, **context
        )

    def label(self, language: str | None, key: str, /, **context: Any) -> str:
        """A short string (button label, command description) from the strings tables.

        Labels are plain text for buttons and command lists; callers that put one into
        HTML get it escaped by the template that includes it. A missing key is a
        KeyError: a label the code relies on must exist in every language.
        """
        lang = self.language(language)
        source = self._labels(lang).get(key)
        if source is None:
            raise KeyError(f"no string {key!r} for language {lang!r}")
        return self._fill(lang, key, source, context)

    def label_or(self, language: str | None, key: str, default: str, /, **context: Any) -> str:
        """A label, or ``default`` where the strings tables have none: for words the shop
        chose itself (a renamed tier, a new order status) that no table can know."""
        lang = self.language(language)
        source = self._labels(lang).get(key)
        return default if source is None else self._fill(lang, key, source, context)

    def has_label(self, language: str | None, key: str) -> bool:
        """Whether the strings tables of a language define ``key``."""
        return key in self._labels(language)

    def _labels(self, language: str | None) -> dict[str, str]:
        """The strings table of a language (shared and cached: do not change it)."""
        return _strings(self._strings_dirs[self.language(language)])

    def _fill(self, lang: str, key: str, source: str, context: dict[str, Any]) -> str:
        """A label with its placeholders filled; each label is compiled once."""
        if not context:
            return source
        template = self._compiled.get((lang, key))
        if template is None:
            template = self._compiled[(lang, key)] = self._plain.from_string(source)
        return template.render(**context)

    def from_string(self, source: str, *, html: bool = True) -> Template:
        """Compile a staff-written template; a syntax error raises TemplateProblem now."""
        env = self.env if html else self._plain
        try:
            return env.from_string(source)
        except TemplateError as exc:
            raise TemplateProblem(str(exc)) from exc


@cache
def _strings(folder: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        with path.open(encoding="utf-8") as handle:
            for key, value in (yaml.safe_load(handle) or {}).items():
                if key in table:
                    raise ValueError(f"string {key!r} defined twice ({path})")
                table[key] = value
    return table
