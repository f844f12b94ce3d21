"""The JSON body of each sub-step's call, built from restaurant, execution_config and context."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Data = Mapping[str, Any]
Builder = Callable[[Data, Data, Data], dict[str, Any]]


def _section(config: Data, name: str) -> dict[str, Any]:
    value = config.get(name)
    return {k: v for k, v in value.items() if k != "enabled"} if isinstance(value, dict) else {}


def _result(context: Data, key: str) -> Data:
    results = context.get("results") or {}
    found = results.get(key)
    return found if isinstance(found, dict) else {}


def _restaurant_id(context: Data) -> str | None:
    return _result(context, "restaurantRegistration").get("restaurantId")


def _menu_id(config: Data) -> str | None:
    return _section(config, "menu").get("menu_id")


def _account(restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
    return _section(config, "account")


def _code(restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
    return {"website": _section(config, "website")}


def _onboarding(restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
    account = _section(config, "account")
    return {"email": account.get("email"), **_section(config, "onboarding_user")}


def _images(restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
    menu = _section(config, "menu")
    return {"menuId": _menu_id(config), "images": menu.get("images", [])}


def _registration(restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
    account = _result(context, "cloudwaitressAccount")
    details = dict(config.get("restaurant") or {})
    return {
        "restaurant": details,
        "accountId": account.get("accountId"),
        "userId": account.get("userId"),
    }


def _website(restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
    return {
        "restaurantId": _restaurant_id(context),
        "codeInjectionId": context.get("codeInjectionId"),
        "codeGenerationFilePaths": context.get("codeGenerationFilePaths"),
        "website": _section(config, "website"),
    }


def _with_restaurant(section: str) -> Builder:
    def build(restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
        return {"restaurantId": _restaurant_id(context), section: _section(config, section)}

    return build


def _menu_import(restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
    menu = _section(config, "menu")
    return {
        "restaurantId": _restaurant_id(context),
        "menuId": _menu_id(config),
        "items": menu.get("items", []),
    }


def _sync_user(restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
    user = _result(context, "createOnboardingUser")
    return {
        "restaurantId": _restaurant_id(context),
        "onboardingUserId": user.get("onboardingUserId"),
        "onboardingUserCreated": context.get("onboardingUserCreated"),
    }


def _menu_extra(field: str) -> Builder:
    def build(restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
        menu = _section(config, "menu")
        imported = _result(context, "menuImport")
        menu_id = imported.get("menuId") or _menu_id(config)
        return {
            "restaurantId": _restaurant_id(context),
            "menuId": menu_id,
            field: menu.get(field, []),
        }

    return build


BUILDERS: dict[str, Builder] = {
    "cloudwaitressAccount": _account,
    "codeGeneration": _code,
    "createOnboardingUser": _onboarding,
    "uploadImages": _images,
    "restaurantRegistration": _registration,
    "websiteConfig": _website,
    "servicesConfig": _with_restaurant("services"),
    "paymentConfig": _with_restaurant("payment"),
    "menuImport": _menu_import,
    "syncOnboardingUser": _sync_user,
    "optionSets": _menu_extra("optionSets"),
    "itemTags": _menu_extra("itemTags"),
}


def build_payload(sub_step: str, restaurant: Data, config: Data, context: Data) -> dict[str, Any]:
    """The body of `sub_step`'s call; secrets from execution_config travel only here."""
    common = {
        "restaurantName": restaurant.get("name"),
        "externalId": restaurant.get("external_id"),
    }
    return common | BUILDERS[sub_step](restaurant, config, context)
