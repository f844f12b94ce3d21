"""A restaurant's execution_config: known sections validated, unknown keys kept."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.limits import MAX_NAME, readable
from domain.plan import PLAN
from domain.secret_types import ERASED, PersonalText, SecretText


class Section(BaseModel):
    """A config section that may be switched off with `enabled: false`."""

    model_config = ConfigDict(extra="allow")
    enabled: bool = True


class Account(Section):
    email: PersonalText | None = None
    password: SecretText | None = None
    phone: PersonalText | None = None
    service_key: SecretText | None = None

    @field_validator("email")
    @classmethod
    def _email_has_at(cls, value: str | None) -> str | None:
        if value is not None and value != ERASED and "@" not in value:
            raise ValueError("account.email must be an email address")
        return value


class OnboardingUser(Section):
    name: PersonalText | None = None
    email: PersonalText | None = None
    phone: PersonalText | None = None
    password: SecretText | None = None


class Menu(Section):
    menu_id: str | None = Field(default=None, max_length=200)
    upload_images: bool = True
    option_sets: bool = True
    item_tags: bool = True


class ExecutionConfig(BaseModel):
    """What Step 6 should do for one restaurant, and with which data."""

    model_config = ConfigDict(extra="allow")
    account: Account | None = None
    restaurant: dict[str, Any] | None = None
    menu: Menu | None = None
    payment: Section | None = None
    onboarding_user: OnboardingUser | None = None
    website: Section | None = None
    services: Section | None = None
    skip: list[str] = Field(default_factory=list)

    @field_validator("skip")
    @classmethod
    def _skip_names_sub_steps(cls, value: list[str]) -> list[str]:
        unknown = [key for key in value if key not in PLAN.keys]
        if unknown:
            raise ValueError(f"skip names unknown sub-steps: {', '.join(unknown)}")
        return value

    def disabled_sub_steps(self) -> dict[str, str]:
        """Sub-steps this config switches off, each with the reason."""
        reasons: dict[str, str] = {}
        for key, reason in self._switched_off():
            reasons.setdefault(key, reason)
        for key in self.skip:
            reasons.setdefault(key, "listed in execution_config.skip")
        return {key: reasons[key] for key in PLAN.keys if key in reasons}

    def _switched_off(self) -> list[tuple[str, str]]:
        off: list[tuple[str, str]] = []
        menu_steps = ("uploadImages", "menuImport", "optionSets", "itemTags")
        if self.menu is None or not self.menu.enabled:
            off += [(k, "no menu in execution_config") for k in menu_steps]
        else:
            if not self.menu.menu_id or not self.menu.upload_images:
                off.append(("uploadImages", "image upload not requested for this menu"))
            if not self.menu.option_sets:
                off.append(("optionSets", "option sets not requested for this menu"))
            if not self.menu.item_tags:
                off.append(("itemTags", "item tags not requested for this menu"))
        if self.payment is None or not self.payment.enabled:
            off.append(("paymentConfig", "no payment set-up in execution_config"))
        if self.onboarding_user is None or not self.onboarding_user.enabled:
            off += [
                (k, "no onboarding user in execution_config")
                for k in ("createOnboardingUser", "syncOnboardingUser")
            ]
        if self.website is not None and not self.website.enabled:
            off += [(k, "website set-up disabled") for k in ("codeGeneration", "websiteConfig")]
        if self.services is not None and not self.services.enabled:
            off.append(("servicesConfig", "services set-up disabled"))
        return off


class Restaurant(BaseModel):
    """The restaurant a job registers."""

    model_config = ConfigDict(extra="allow")
    name: str = Field(min_length=1, max_length=MAX_NAME)
    external_id: str | None = Field(default=None, max_length=200)

    @field_validator("name")
    @classmethod
    def _shows_something(cls, name: str) -> str:
        """A name that shows nothing (spaces, zero-width or bidi characters only) would be
        registered as a blank restaurant and could not be told apart in any list."""
        if not readable(name):
            raise ValueError("a name must show something, not only spaces or invisible characters")
        return name
