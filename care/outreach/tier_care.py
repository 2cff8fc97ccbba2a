"""Care per tier: each automatic programme's template and gift for each tier, from one file.

A diamond customer's birthday gets the VIP greeting and a voucher; a member's gets the
usual greeting. The file (``tier_care_file``; the shipped ``tier_care.yaml`` by default)
is checked when it is read: known programmes and tiers, templates that exist in every
language, gifts that make sense. A gift is given only with a message that is actually
sent (not with a skip), in the same transaction, and recorded as a policy granted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from care.core.rendering import LANGUAGES, TEMPLATES_DIR

DEFAULT_FILE = Path(__file__).with_name("tier_care.yaml")
PROGRAMMES = ("thanks", "birthday", "holidays", "win_back")


class TierCareProblem(ValueError):
    """The tier care file cannot be used; the message names the place."""


class VoucherGift(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["amount", "percent"]
    value: int = Field(gt=0)
    valid_days: int = Field(default=30, ge=1, le=366)

    @model_validator(mode="after")
    def _percent(self) -> VoucherGift:
        if self.kind == "percent" and self.value > 100:
            raise ValueError("a percentage is at most 100")
        return self


class Gift(BaseModel):
    model_config = ConfigDict(extra="forbid")

    voucher: VoucherGift | None = None
    policy: str | None = Field(default=None, min_length=1, max_length=100)
    value: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _one(self) -> Gift:
        if (self.voucher is None) == (self.policy is None):
            raise ValueError("a gift is a voucher or a policy")
        return self

    @property
    def policy_key(self) -> str:
        """What the grant records: the policy, or the voucher policy of its kind."""
        if self.policy is not None:
            return self.policy
        return "voucher"

    @property
    def worth(self) -> int:
        if self.voucher is not None:
            return self.voucher.value if self.voucher.kind == "amount" else 0
        return self.value


class TierRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(default=None, pattern=r"^[a-z0-9_]+$")
    gift: Gift | None = None


class TierCare(BaseModel):
    model_config = ConfigDict(extra="forbid")

    thanks: dict[str, TierRule] = Field(default_factory=dict)
    birthday: dict[str, TierRule] = Field(default_factory=dict)
    holidays: dict[str, TierRule] = Field(default_factory=dict)
    win_back: dict[str, TierRule] = Field(default_factory=dict)

    def rule(self, programme: str, tier: str | None) -> TierRule | None:
        rules: dict[str, TierRule] = getattr(self, programme)
        return rules.get(tier) if tier else None

    def check(self, tier_names: list[str], templates_dir: Path = TEMPLATES_DIR) -> None:
        for programme in PROGRAMMES:
            for tier, rule in getattr(self, programme).items():
                where = f"{programme}.{tier}"
                if tier not in tier_names:
                    raise TierCareProblem(f"{where}: unknown tier; use {', '.join(tier_names)}")
                if rule.template is None:
                    continue
                for lang in LANGUAGES:
                    if not (templates_dir / lang / f"{rule.template}.html").is_file():
                        raise TierCareProblem(f"{where}: no template {lang}/{rule.template}.html")


def parse_tier_care(data: Any, tier_names: list[str]) -> TierCare:
    """Validate a tier care table (a file's content, or the console's form)."""
    try:
        care = TierCare.model_validate(data or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        raise TierCareProblem(f"{where}: {first['msg']}") from None
    care.check(tier_names)
    return care


def load_tier_care(path: Path | None, tier_names: list[str]) -> TierCare:
    source = path or DEFAULT_FILE
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TierCareProblem(f"cannot read {source}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise TierCareProblem(f"{source} is not YAML: {exc}") from None
    return parse_tier_care(data, tier_names)
