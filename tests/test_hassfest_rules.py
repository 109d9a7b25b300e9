"""hassfest's rules that apply to a custom integration, run on ours.

hassfest lives in Home Assistant's git repository (`script/hassfest/`), not in the wheel, so its
rules are restated here; each test names the hassfest file it follows:

- `translations.py`: the schema of the translation files (key pattern, no HTML, no URLs, no
  quoted or malformed placeholders, no leading or trailing spaces, `{"message": ...}` exceptions,
  `data_description` only for fields in `data`, issue and subentry flow shapes);
- `manifest.py`: keys and their order, required keys, version, documentation URL, IoT class;
- `dependencies.py`: every other integration the code imports is declared;
- `config_flow.py` and `mqtt.py`: a config flow file, a unique id for discovered flows;
- `icons.py`: the schema of `icons.json`;
- `quality_scale.py` and `quality_scale_validation/`: `quality_scale.yaml`'s schema, every rule
  of the declared tier met, and the rules hassfest checks in code.

Home Assistant core's own tests check every flow result, issue and action error against the
English texts (`tests/components/conftest.py`, `check_translations`): every placeholder shown is
provided, and with `config-flow: done` every field has `data` and `data_description`. That is
done here for every form of our flows. Finally what hassfest cannot know of a custom
integration: every translation key the code uses is in en.json and every one in en.json is
used, and sv.json and nb.json have en.json's keys and placeholders.
"""

from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
import re
import string
import textwrap
import tomllib
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest.mock import AsyncMock, patch

import pytest
import voluptuous as vol
import yaml
from awesomeversion import AwesomeVersion, AwesomeVersionException, AwesomeVersionStrategy
from homeassistant import loader
from homeassistant.components.repairs import RepairsFlow
from homeassistant.config_entries import (
    SOURCE_MQTT,
    SOURCE_USER,
    ConfigFlow,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers import selector
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.service_info.mqtt import MqttServiceInfo
from homeassistant.helpers.typing import UNDEFINED
from homeassistant.requirements import DISCOVERY_INTEGRATIONS
from pytest_homeassistant_custom_component.common import MockConfigEntry
from voluptuous.humanize import humanize_error

import custom_components.sot
from custom_components.sot import modbus_hub
from custom_components.sot.config_flow import SotConfigFlow
from custom_components.sot.const import DOMAIN, PLATFORMS, SUBENTRY_MODBUS
from custom_components.sot.modbus.profile import builtin_profiles, load_builtin
from custom_components.sot.modbus_flow import ModbusDeviceSubentryFlow
from custom_components.sot.site.model import EventType

from .helpers import site_entry

INTEGRATION = Path(custom_components.sot.__file__).parent
REPO = INTEGRATION.parent.parent
PACKAGE = "custom_components.sot"
TRANSLATIONS = INTEGRATION / "translations"
LANGUAGES = sorted(path.stem for path in TRANSLATIONS.glob("*.json"))
HA_COMPONENTS = Path(loader.__file__).parent / "components"


def translations(lang: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((TRANSLATIONS / f"{lang}.json").read_text("utf-8"))
    return loaded


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((INTEGRATION / "manifest.json").read_text("utf-8"))
    return loaded


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"a": {"b": "text"}}` as `{"a.b": "text"}`."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def placeholders(text: str) -> set[str]:
    """The `{names}` in a translated text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


# --- translations.py: the schema of a translation file -------------------------------------

RE_TRANSLATION_KEY = re.compile(r"^(?!.+[_-]{2})(?![_-])[a-z0-9-_]+(?<![_-])$")
RE_PLACEHOLDER_IN_SINGLE_QUOTES = re.compile(r"'{\w+}'")
RE_COMBINED_REFERENCE = re.compile(r"(.+\[%)|(%\].+)")
RE_REFERENCE = re.compile(r"\[%key:")
RE_URL = re.compile(
    r"(((ftp|ftps|scp|http|https|mqtt|mqtts|socket|socks5):\/\/|www\.)"
    r"[a-z0-9]+([\-\.]{1}[a-z0-9]+)*\.[a-z]{2,5}(:[0-9]{1,5})?(\/.*)?)",
    re.IGNORECASE,
)


def translation_key(value: Any) -> str:
    """A key HA looks a text up by: `[a-z0-9-_]+`, no `-`/`_` at either end or doubled."""
    if not isinstance(value, str) or not RE_TRANSLATION_KEY.match(value):
        raise vol.Invalid(
            f"invalid translation key {value!r}: [a-z0-9-_]+, not starting or ending with"
            " - or _, and no -- or __"
        )
    return value


def text(*, with_placeholders: bool = True) -> Callable[[Any], str]:
    """A translated text as hassfest accepts it."""

    def validate(value: Any) -> str:
        if not isinstance(value, str):
            raise vol.Invalid(f"expected a text, got {type(value).__name__}")
        cv.string_with_no_html(value)  # hassfest's own check: nothing like <tag>
        if value != value.strip():
            raise vol.Invalid("the string should not contain leading or trailing spaces")
        if RE_PLACEHOLDER_IN_SINGLE_QUOTES.search(value):
            raise vol.Invalid("the string should not contain placeholders inside single quotes")
        try:
            names = placeholders(value)
        except ValueError as err:
            raise vol.Invalid(f"unbalanced braces: {err}") from None
        for name in names:
            if not with_placeholders:
                raise vol.Invalid("placeholders are not supported in this value")
            if not name.isidentifier():
                raise vol.Invalid("placeholders must be valid identifiers")
        if RE_COMBINED_REFERENCE.search(value):
            raise vol.Invalid("the string should not contain combined translations")
        if RE_REFERENCE.search(value):
            # Resolved only when HA core is built from strings.json: a custom integration ships
            # the full text in every language, or the user reads the reference itself.
            raise vol.Invalid("a custom integration cannot use [%key:...%] references")
        if RE_URL.search(value):
            raise vol.Invalid("the string should not contain URLs; use a placeholder")
        return value

    return validate


TEXT = text()
STATE_TEXT = text(with_placeholders=False)


def keyed(value_schema: Any, key: Callable[[Any], str] = translation_key) -> Callable[..., Any]:
    return cv.schema_with_slug_keys(value_schema, slug_validator=key)


def _described_fields_exist(flow: dict[str, Any]) -> dict[str, Any]:
    for step_id, step in flow["step"].items():
        for key in step.get("data_description", {}):
            if key not in step.get("data", {}):
                raise vol.Invalid(f"data_description key {key} is not in data of step {step_id}")
    return flow


def flow_schema(*, subentry: bool = False) -> vol.All:
    """A config, options, subentry or fix flow's texts."""
    fields = {str: TEXT}
    schema: dict[Any, Any] = {
        vol.Optional("flow_title"): TEXT,
        vol.Required("step"): {
            str: {
                vol.Optional("title"): TEXT,
                vol.Optional("description"): TEXT,
                vol.Optional("data"): fields,
                vol.Optional("data_description"): fields,
                vol.Optional("menu_options"): fields,
                vol.Optional("menu_option_descriptions"): fields,
                vol.Optional("submit"): TEXT,
                vol.Optional("sections"): {
                    str: {
                        vol.Optional("data"): fields,
                        vol.Optional("data_description"): fields,
                        vol.Optional("description"): TEXT,
                        vol.Optional("name"): TEXT,
                    }
                },
            }
        },
        vol.Optional("error"): fields,
        vol.Optional("abort"): fields,
        vol.Optional("progress"): fields,
        vol.Optional("create_entry"): fields,
    }
    if subentry:
        schema[vol.Required("entry_type")] = TEXT
        schema[vol.Required("initiate_flow")] = {vol.Required("user"): TEXT, str: TEXT}
    else:
        schema[vol.Optional("initiate_flow")] = {vol.Required("user"): TEXT}
    return vol.All(vol.Schema(schema), _described_fields_exist)


STRINGS_SCHEMA = vol.Schema(
    {
        vol.Optional("title"): TEXT,
        vol.Optional("config"): flow_schema(),
        vol.Optional("config_subentries"): keyed(flow_schema(subentry=True), vol.Any("_", cv.slug)),
        vol.Optional("options"): flow_schema(),
        vol.Optional("selector"): keyed(
            {
                vol.Optional("options"): keyed(TEXT),
                vol.Optional("choices"): keyed(TEXT),
                vol.Optional("unit_of_measurement"): keyed(TEXT),
            },
            vol.Any("_", cv.slug),
        ),
        vol.Optional("issues"): {
            str: vol.All(
                cv.has_at_least_one_key("description", "fix_flow"),
                vol.Schema(
                    {
                        vol.Required("title"): TEXT,
                        # A fixable issue shows its fix flow, not a description: one or other.
                        vol.Exclusive("description", "fixable"): TEXT,
                        vol.Exclusive("fix_flow", "fixable"): flow_schema(),
                    }
                ),
            )
        },
        vol.Optional("device"): keyed({vol.Optional("name"): TEXT}),
        vol.Optional("entity"): keyed(
            keyed(
                {
                    vol.Optional("name"): TEXT,
                    vol.Optional("state"): keyed(STATE_TEXT),
                    vol.Optional("state_attributes"): keyed(
                        {
                            vol.Optional("name"): STATE_TEXT,
                            vol.Optional("state"): keyed(STATE_TEXT),
                        }
                    ),
                    vol.Optional("unit_of_measurement"): STATE_TEXT,
                }
            ),
            cv.slug,
        ),
        # Looked up as exceptions.<key>.message: a plain string shows the key instead.
        vol.Optional("exceptions"): keyed({vol.Required("message"): TEXT}, cv.slug),
        vol.Optional("services"): keyed(
            {
                vol.Required("name"): TEXT,
                vol.Required("description"): TEXT,
                vol.Optional("fields"): keyed(
                    {
                        vol.Required("name"): TEXT,
                        vol.Required("description"): TEXT,
                        vol.Optional("example"): TEXT,
                    }
                ),
                vol.Optional("sections"): keyed(
                    {vol.Required("name"): TEXT, vol.Optional("description"): TEXT}
                ),
            }
        ),
    }
)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translation_file_passes_hassfest(lang: str) -> None:
    """hassfest validates en.json of a custom integration; the others are shown the same way."""
    strings = translations(lang)
    try:
        STRINGS_SCHEMA(strings)
    except vol.Invalid as err:
        pytest.fail(f"{lang}.json: {humanize_error(strings, err)}")


MINIMAL = {
    "config": {
        "step": {"user": {"title": "Add", "description": "A {site}.", "data": {"name": "Name"}}},
        "abort": {"already_configured": "Already set up."},
    },
    "selector": {"parity": {"options": {"none": "None"}}},
    "device": {"grid": {"name": "{site} grid"}},
    "entity": {"sensor": {"state": {"name": "State", "state": {"fault": "Fault"}}}},
    "exceptions": {"command_failed": {"message": "Could not send the command to {component}."}},
    "issues": {"site_silent": {"title": "{site} is silent", "description": "Nothing came."}},
    "services": {
        "cold_chain_record": {
            "name": "Cold-chain record",
            "description": "Returns the record.",
            "fields": {"since": {"name": "Since", "description": "From then on."}},
        }
    },
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """MINIMAL with the value at a dotted path replaced."""
    document = copy.deepcopy(MINIMAL)
    *parents, last = path.split(".")
    node = document
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("exceptions.command_failed", "Could not send the command."),
        ("selector.parity.options", {"N": "None"}),
        ("selector.parity.options", {"_none": "None"}),
        ("config.step.user.description", "Default sot/<site id>."),
        ("config.step.user.description", "See https://example.com/sot for more."),
        ("config.step.user.description", "Site '{site}'."),
        ("config.step.user.description", "Site {site-id}."),
        ("config.step.user.description", " Leading space."),
        ("config.step.user.description", "[%key:common::config_flow::abort::x%]"),
        ("config.step.user.data_description", {"nothing": "No such field."}),
        ("entity.sensor.state.state", {"fault": "Fault {code}"}),
        ("issues.site_silent", {"title": "Silent"}),
        ("issues.site_silent", {"title": "S", "description": "D", "fix_flow": {"step": {}}}),
        ("device.Grid", {"name": "Grid"}),
        ("services.cold_chain_record", {"name": "Cold-chain record"}),
        ("services.cold_chain_record.fields.since", {"name": "Since"}),
        ("something_new", {}),
    ],
)
def test_the_schema_refuses_what_hassfest_refuses(path: str, value: Any) -> None:
    """Each rule rejects the mistake it is for (the files made several of them)."""
    STRINGS_SCHEMA(MINIMAL)
    with pytest.raises(vol.Invalid):
        STRINGS_SCHEMA(_with(path, value))


# --- every language has what en.json has ----------------------------------------------------


def test_languages_we_ship() -> None:
    assert LANGUAGES == ["en", "nb", "sv"]


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_language_has_exactly_the_english_keys_and_placeholders(lang: str) -> None:
    """A missing key shows English (or the raw key); a missing placeholder shows {braces}."""
    english, other = flatten(translations("en")), flatten(translations(lang))
    assert sorted(set(english) - set(other)) == [], f"missing in {lang}.json"
    assert sorted(set(other) - set(english)) == [], f"in {lang}.json but not in en.json"
    differing = {
        key: (sorted(placeholders(english[key])), sorted(placeholders(value)))
        for key, value in other.items()
        if placeholders(english[key]) != placeholders(value)
    }
    assert differing == {}, f"{lang}.json uses other placeholders than en.json"


# --- the code's translation keys are in en.json, and en.json's are used ----------------------


def _modules() -> Iterator[tuple[ModuleType, ast.Module]]:
    for path in sorted(INTEGRATION.rglob("*.py")):
        relative = path.relative_to(INTEGRATION).with_suffix("")
        parts = [part for part in relative.parts if part != "__init__"]
        module = importlib.import_module(".".join([PACKAGE, *parts]))
        yield module, ast.parse(path.read_text("utf-8"))


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((kw.value for kw in call.keywords if kw.arg == name), None)


def _call_name(call: ast.Call) -> str:
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def _strings(expr: ast.expr | None, module: ModuleType) -> tuple[set[str], bool]:
    """The texts `expr` can be, and whether it can also be something not known here."""
    if expr is None:
        return set(), False
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return {expr.value}, False
    if isinstance(expr, ast.IfExp):
        body, dynamic_body = _strings(expr.body, module)
        orelse, dynamic_orelse = _strings(expr.orelse, module)
        return body | orelse, dynamic_body or dynamic_orelse
    if isinstance(expr, ast.Name) and isinstance(getattr(module, expr.id, None), str):
        return {getattr(module, expr.id)}, False
    return set(), True


# Translation keys the code picks at run time, and where they come from.
def _modbus_command_reasons() -> set[str]:
    """A Modbus command error whose reason has its own message passes that reason on; a
    failure of the line has its message; any other is `command_failed`."""
    return (
        set(modbus_hub._OWN_MESSAGES)
        | set(modbus_hub._FAILURE_MESSAGES.values())
        | {"command_failed"}
    )


DYNAMIC_EXCEPTION_KEYS: dict[str, Callable[[], set[str]]] = {
    f"{PACKAGE}.modbus_hub": _modbus_command_reasons
}


def exception_keys_in_code() -> dict[str, set[str]]:
    """translation_key of every exception raised with translation_domain, and its modules."""
    used: dict[str, set[str]] = {}
    for module, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _keyword(node, "translation_domain") is None:
                continue
            keys, dynamic = _strings(_keyword(node, "translation_key"), module)
            if dynamic:
                assert module.__name__ in DYNAMIC_EXCEPTION_KEYS, (
                    f"{module.__name__}:{node.lineno} picks an exception's translation key at"
                    " run time; say in DYNAMIC_EXCEPTION_KEYS which keys it can be"
                )
                keys |= DYNAMIC_EXCEPTION_KEYS[module.__name__]()
            for key in keys:
                used.setdefault(key, set()).add(module.__name__)
    return used


def test_every_exception_key_is_translated_and_every_translation_raised() -> None:
    used = exception_keys_in_code()
    english = translations("en").get("exceptions", {})
    assert sorted(set(used) - set(english)) == [], "raised but not in en.json"
    assert sorted(set(english) - set(used)) == [], "in en.json but never raised"


def test_modbus_command_reasons_with_their_own_message_are_raised() -> None:
    """The hub's list of reasons with their own message must name reasons the poller raises."""
    raised: set[str] = set()
    for module, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) == "CommandError" and node.args:
                raised |= _strings(node.args[0], module)[0]
    assert set(modbus_hub._OWN_MESSAGES) | set(modbus_hub._FAILURE_MESSAGES) <= raised


def issue_keys_in_code() -> set[str]:
    """translation_key of every repair issue the code creates."""
    used: set[str] = set()
    for module, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            if _call_name(node) == "async_create_issue":
                keys, dynamic = _strings(_keyword(node, "translation_key"), module)
                used |= keys
                if dynamic:
                    # The key is an Issue's kind: collect the kinds Issues are made with.
                    used |= _issue_kinds()
    return used


def _issue_kinds() -> set[str]:
    kinds: set[str] = set()
    for module, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) == "Issue":
                kind = _keyword(node, "kind") or (node.args[0] if node.args else None)
                keys, dynamic = _strings(kind, module)
                assert not dynamic, f"{module.__name__}:{node.lineno}: an Issue of unknown kind"
                kinds |= keys
    assert kinds, "issues are created with a key picked at run time, from no Issue(...) found"
    return kinds


def test_every_issue_key_is_translated_and_every_translation_used() -> None:
    used = issue_keys_in_code()
    english = translations("en").get("issues", {})
    assert sorted(used - set(english)) == [], "created but not in en.json"
    assert sorted(set(english) - used) == [], "in en.json but never created"


def entity_descriptions() -> dict[str, list[EntityDescription]]:
    """Every entity description of every platform, as the platform modules define them."""
    found: dict[str, list[EntityDescription]] = {}
    for platform in PLATFORMS:
        module = importlib.import_module(f"{PACKAGE}.{platform}")
        rows: list[EntityDescription] = []
        for value in vars(module).values():
            for item in value if isinstance(value, tuple | list) else (value,):
                if isinstance(item, EntityDescription) and item not in rows:
                    rows.append(item)
        found[str(platform)] = rows
    return found


def _states(platform: str, description: EntityDescription) -> tuple[str, set[str]]:
    """Where the entity's translated states live, and the states it can have."""
    if platform == Platform.EVENT:
        # SotAlarmEvent offers every site alarm as an event type.
        return "state_attributes.event_type.state", {event.value for event in EventType}
    options = getattr(description, "options", None)
    return "state", set(options or ())


def test_every_entity_translation_key_is_translated_and_used() -> None:
    """Names, enum states, select options and event types; entity-translations is done."""
    english = translations("en").get("entity", {})
    problems: list[str] = []
    used: set[str] = set()
    for platform, descriptions in entity_descriptions().items():
        assert descriptions, f"no entity descriptions found in {platform}.py"
        for description in descriptions:
            key = description.translation_key
            where = f"{platform} {description.key}"
            if description.name not in (UNDEFINED, None):
                problems.append(f"{where}: a name in code instead of a translation")
            if key is None:
                problems.append(f"{where}: no translation_key")
                continue
            used.add(f"{platform}.{key}")
            entry = flatten(english.get(platform, {}).get(key, {}))
            if description.name is UNDEFINED and "name" not in entry:
                problems.append(f"{where}: entity.{platform}.{key}.name missing")
            prefix, states = _states(platform, description)
            translated = {k.removeprefix(f"{prefix}.") for k in entry if k.startswith(f"{prefix}.")}
            if missing := states - translated:
                problems.append(f"{where}: no text for states {sorted(missing)}")
            if unknown := translated - states:
                problems.append(f"{where}: texts for states it never has {sorted(unknown)}")
    unused = {f"{p}.{k}" for p, section in english.items() for k in section} - used
    problems += [f"entity.{key} is in en.json but no entity uses it" for key in sorted(unused)]
    assert problems == []


def test_every_device_translation_key_is_translated_and_used() -> None:
    """A component's device is named `kind` (id main) or `kind_id` with {site} and {id}."""
    kinds = {
        description.kind.value
        for descriptions in entity_descriptions().values()
        for description in descriptions
        if getattr(description, "kind", None) is not None
    }
    english = translations("en").get("device", {})
    assert sorted(english) == sorted({*kinds, *(f"{kind}_id" for kind in kinds)})
    for key, entry in english.items():
        assert placeholders(entry["name"]) <= {"site", "id"}, f"device.{key}"


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_entities_of_one_device_have_different_names(hass: HomeAssistant, lang: str) -> None:
    """Two entities of one device with one name read alike on the device page, in lists and
    in the logbook (a product's "on sale" and its litres "for sale" are not the same thing)."""
    from homeassistant.helpers.translation import async_get_translations  # noqa: PLC0415

    texts = await async_get_translations(hass, lang, "entity", {DOMAIN})
    by_device: dict[tuple[str, str], list[str]] = {}
    for platform, descriptions in entity_descriptions().items():
        for description in descriptions:
            kind = getattr(description, "kind", None)
            device = "site" if kind is None else kind.value
            # Without a name of its own (a load's switch) the entity is named as its device.
            key = f"component.{DOMAIN}.entity.{platform}.{description.translation_key}.name"
            name = texts.get(key, "")
            by_device.setdefault((device, name), []).append(f"{platform}.{description.key}")
    assert {key: rows for key, rows in by_device.items() if len(rows) > 1} == {}


# Config flows, options flows, subentry flows and repair fix flows: read from the code.


@dataclass
class FlowKeys:
    """What one flow handler can show: steps (with menu options), errors and aborts."""

    steps: set[str] = field(default_factory=set)
    menu_options: dict[str, set[str]] = field(default_factory=dict)
    errors: set[str] = field(default_factory=set)
    aborts: set[str] = field(default_factory=set)


def _function_returns_dicts(function: ast.FunctionDef, module: ModuleType) -> set[str]:
    values: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Return) and node.value is not None:
            parts = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            for part in parts:
                if isinstance(part, ast.Dict):
                    for value in part.values:
                        values |= _strings(value, module)[0]
    return values


def _module_functions(module: ModuleType) -> dict[str, ast.FunctionDef]:
    tree = ast.parse(inspect.getsource(module))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _is_errors(node: ast.expr) -> bool:
    return isinstance(node, ast.Name) and node.id == "errors"


def _error_values(node: ast.AST, module: ModuleType) -> set[str]:
    """Errors put in a form's `errors`: `errors[x] = "key"`, or returned by a helper."""
    helpers = _module_functions(module)
    values: set[str] = set()
    for item in ast.walk(node):
        if not isinstance(item, ast.Assign | ast.AnnAssign) or item.value is None:
            continue
        targets = item.targets if isinstance(item, ast.Assign) else [item.target]
        for target in targets:
            names = target.elts if isinstance(target, ast.Tuple) else [target]
            for name in names:
                if isinstance(name, ast.Subscript) and _is_errors(name.value):
                    values |= _strings(item.value, module)[0]
                elif _is_errors(name):
                    if isinstance(item.value, ast.Dict):
                        for value in item.value.values:
                            values |= _strings(value, module)[0]
                    elif isinstance(item.value, ast.Call) and _call_name(item.value) in helpers:
                        values |= _function_returns_dicts(helpers[_call_name(item.value)], module)
    return values


def flow_keys(handler: type) -> FlowKeys:
    """Everything `handler` (and its own base classes) can show, read from its source."""
    keys = FlowKeys()
    for klass in handler.__mro__:
        if not klass.__module__.startswith(PACKAGE):
            continue
        module = importlib.import_module(klass.__module__)
        tree = ast.parse(textwrap.dedent(inspect.getsource(klass)))
        keys.errors |= _error_values(tree, module)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = _call_name(node)
            if name in ("async_show_form", "async_show_menu"):
                steps = _strings(_keyword(node, "step_id"), module)[0]
                keys.steps |= steps
                if (options := _keyword(node, "menu_options")) is not None:
                    assert isinstance(options, ast.List | ast.Tuple | ast.Dict)
                    elements = options.keys if isinstance(options, ast.Dict) else options.elts
                    for step in steps:
                        keys.menu_options.setdefault(step, set()).update(
                            key for e in elements if e for key in _strings(e, module)[0]
                        )
            elif name == "async_abort":
                reason = _keyword(node, "reason") or (node.args[0] if node.args else None)
                keys.aborts |= _strings(reason, module)[0]
            elif name == "AbortFlow" and node.args:
                keys.aborts |= _strings(node.args[0], module)[0]
            elif name == "_abort_if_unique_id_configured":
                keys.aborts.add("already_configured")
            elif name == "async_set_unique_id":
                # Another flow for the same unique id still open aborts this one.
                keys.aborts.add("already_in_progress")
            elif name in ("async_update_and_abort", "async_update_reload_and_abort"):
                reason = _keyword(node, "reason")
                keys.aborts |= _strings(reason, module)[0] if reason else {"reconfigure_successful"}
            elif (
                name == "async_create_entry"
                and issubclass(handler, ConfigSubentryFlow)
                and _keyword(node, "unique_id") is not None
            ):
                # HA refuses a second subentry with the same unique id.
                keys.aborts.add("already_configured")
    return keys


def _repair_flows() -> dict[str, type]:
    """Fix flow class of each issue key, from the issue-to-flow table in repairs.py."""
    module = importlib.import_module(f"{PACKAGE}.repairs")
    flows: dict[str, type] = {}
    for node in ast.walk(ast.parse(inspect.getsource(module))):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            handler = getattr(module, value.id, None) if isinstance(value, ast.Name) else None
            if isinstance(handler, type) and issubclass(handler, RepairsFlow):
                (issue_key,) = _strings(key, module)[0]
                flows[issue_key] = handler
    return flows


def flows_and_their_texts() -> list[tuple[str, type, dict[str, Any]]]:
    """(where in en.json, handler, its texts) for every flow the integration has."""
    english = translations("en")
    config_entry: Any = None  # SotConfigFlow's subentry table does not depend on the entry
    options_flow = type(SotConfigFlow.async_get_options_flow(config_entry))
    flows: list[tuple[str, type, dict[str, Any]]] = [
        ("config", SotConfigFlow, english.get("config", {})),
        ("options", options_flow, english.get("options", {})),
    ]
    for subentry_type, handler in SotConfigFlow.async_get_supported_subentry_types(
        config_entry
    ).items():
        section = english.get("config_subentries", {}).get(subentry_type, {})
        flows.append((f"config_subentries.{subentry_type}", handler, section))
    if (INTEGRATION / "repairs.py").exists():
        for issue_key, handler in _repair_flows().items():
            section = english.get("issues", {}).get(issue_key, {}).get("fix_flow", {})
            flows.append((f"issues.{issue_key}.fix_flow", handler, section))
    return flows


def test_flow_handlers_are_known() -> None:
    """Every flow handler class in the code is one of those checked below."""
    checked = {handler for _, handler, _ in flows_and_their_texts()}
    bases = (ConfigFlow, OptionsFlow, ConfigSubentryFlow, RepairsFlow)
    for module, _ in _modules():
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and issubclass(value, bases)
                and not any(issubclass(handler, value) for handler in checked)
            ):
                pytest.fail(f"{value.__qualname__} is a flow this test does not know of")


@pytest.mark.parametrize(
    ("where", "handler", "texts"),
    flows_and_their_texts(),
    ids=[where for where, _, _ in flows_and_their_texts()],
)
def test_flow_steps_errors_and_aborts_are_translated_and_used(
    where: str, handler: type, texts: dict[str, Any]
) -> None:
    keys = flow_keys(handler)
    steps = texts.get("step", {})
    assert sorted(keys.steps - set(steps)) == [], f"{where}: steps shown but not translated"
    assert sorted(set(steps) - keys.steps) == [], f"{where}: translated steps never shown"
    for step, options in keys.menu_options.items():
        assert set(steps[step].get("menu_options", {})) == options, f"{where}: {step}'s menu"
    if _quality_rules().get("config-flow") == "done":
        # HA core's check_translations: with config-flow done, every field has a description.
        for step_id, step in steps.items():
            bare = set(step.get("data", {})) - set(step.get("data_description", {}))
            assert sorted(bare) == [], f"{where}: step {step_id}'s fields lack data_description"
    errors, aborts = set(texts.get("error", {})), set(texts.get("abort", {}))
    assert sorted(keys.errors - errors) == [], f"{where}: errors shown but not translated"
    assert sorted(errors - keys.errors) == [], f"{where}: translated errors never shown"
    assert sorted(keys.aborts - aborts) == [], f"{where}: aborts but not translated"
    assert sorted(aborts - keys.aborts) == [], f"{where}: translated aborts never used"


def selector_keys_in_code() -> dict[str, set[str]]:
    """translation_key of every select selector, with the option values it offers."""
    used: dict[str, set[str]] = {}
    for module, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _call_name(node) != "SelectSelectorConfig":
                continue
            keys, dynamic = _strings(_keyword(node, "translation_key"), module)
            assert not dynamic, f"{module.__name__}:{node.lineno}: selector key unknown"
            options_expr = _keyword(node, "options")
            assert options_expr is not None
            for key in keys:
                # The options are module constants; evaluate them where they are written.
                options = eval(
                    compile(ast.Expression(options_expr), module.__name__, "eval"),
                    vars(module),
                )
                values = {o["value"] if isinstance(o, dict) else o for o in options}
                used.setdefault(key, set()).update(values)
    return used


def test_every_selector_key_and_option_is_translated_and_used() -> None:
    used = selector_keys_in_code()
    english = translations("en").get("selector", {})
    assert sorted(used) == sorted(english)
    for key, options in used.items():
        assert sorted(options) == sorted(english[key]["options"]), f"selector {key}"
        for option in options:
            translation_key(option)


# --- HA core's check_translations, on every form of our flows -------------------------------


def _form_problems(where: str, texts: dict[str, Any], result: FlowResult) -> list[str]:
    """What HA core's tests would report for a shown form (tests/components/conftest.py)."""
    problems: list[str] = []
    if result["type"] is FlowResultType.ABORT:
        if result["reason"] not in texts.get("abort", {}):
            problems.append(f"{where}: abort {result['reason']} has no text")
        return problems
    assert result["type"] is FlowResultType.FORM, result
    step_id = result["step_id"]
    step = texts.get("step", {}).get(step_id)
    if step is None:
        return [f"{where}: step {step_id} has no texts"]
    given = set(result.get("description_placeholders") or {})
    shown = [step.get("title", ""), step.get("description", "")]
    for marker, value in result["data_schema"].schema.items():
        name = str(marker)
        # config-flow is done in quality_scale.yaml: every field has a label and a description.
        for part in ("data", "data_description"):
            if name not in step.get(part, {}):
                problems.append(f"{where}: step {step_id} has no {part}.{name}")
            shown.append(step.get(part, {}).get(name, ""))
        config = getattr(value, "config", {})
        if isinstance(value, selector.SelectSelector) and config.get("translation_key"):
            offered = {o["value"] if isinstance(o, dict) else o for o in config["options"]}
            options = translations("en")["selector"].get(config["translation_key"], {})
            if missing := offered - set(options.get("options", {})):
                problems.append(f"{where}: options {sorted(missing)} have no text")
    shown += [texts.get("error", {}).get(e, "") for e in (result.get("errors") or {}).values()]
    for missing in sorted({name for part in shown for name in placeholders(part)} - given):
        problems.append(f"{where}: step {step_id} shows {{{missing}}} but does not give it")
    return problems


@pytest.fixture
def mqtt_entry(hass: HomeAssistant) -> Iterator[MockConfigEntry]:
    """An MQTT integration entry: the flows only check that one exists.

    It loads without connecting: a real setup would try the broker (HA 2026.7+ first tries a
    protocol-5 connection), which the test plugin from 0.13.375 fails a test for.
    """
    entry = MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1"})
    entry.add_to_hass(hass)
    with (
        patch("homeassistant.components.mqtt.async_setup_entry", return_value=True),
        patch("homeassistant.components.mqtt.async_unload_entry", return_value=True),
    ):
        yield entry


async def test_every_form_of_every_flow_is_fully_translated(
    hass: HomeAssistant, mqtt_entry: MockConfigEntry
) -> None:
    """Each form the flows show, with and without errors, as HA core's tests check them."""
    english = translations("en")
    problems: list[str] = []
    config, flow = english["config"], hass.config_entries.flow

    result = await flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    problems += _form_problems("config", config, result)
    result = await flow.async_configure(
        result["flow_id"], {"name": "Kall", "site_id": "Not valid!", "base_topic": "a/+/b"}
    )
    assert result["errors"]
    problems += _form_problems("config", config, result)

    discovered = MqttServiceInfo(
        topic="sot/hallen/node/gateway/status",
        payload="online",
        qos=0,
        retain=True,
        subscribed_topic="sot/+/node/+/status",
        timestamp=0,
    )
    result = await flow.async_init(DOMAIN, context={"source": SOURCE_MQTT}, data=discovered)
    problems += _form_problems("config", config, result)

    site = site_entry()
    site.add_to_hass(hass)
    with patch(f"{PACKAGE}.async_setup_entry", AsyncMock(return_value=True)):
        result = await site.start_reconfigure_flow(hass)
        problems += _form_problems("config", config, result)
        result = await hass.config_entries.options.async_init(site.entry_id)
        problems += _form_problems("options", english["options"], result)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**dict(site.options), "freezer_critical": -30}
        )
        assert result["errors"]
        problems += _form_problems("options", english["options"], result)

    texts = english["config_subentries"][SUBENTRY_MODBUS]
    subentries = hass.config_entries.subentries
    for profile in builtin_profiles():
        for connection in modbus_hub.CONNECTIONS:
            result = await subentries.async_init(
                (site.entry_id, SUBENTRY_MODBUS), context={"source": SOURCE_USER}
            )
            problems += _form_problems("modbus", texts, result)
            result = await subentries.async_configure(
                result["flow_id"],
                {
                    "name": "Device",
                    "device_id": "device",
                    "profile": profile,
                    "connection": connection,
                    "unit": 1,
                },
            )
            problems += _form_problems("modbus", texts, result)
            link = (
                {"serial_port": "/dev/null", "baudrate": "9600", "parity": "even", "stopbits": "1"}
                if connection == modbus_hub.CONNECTION_SERIAL
                else {"host": "192.0.2.1", "port": 502}
            )
            with patch.object(ModbusDeviceSubentryFlow, "_answers", AsyncMock(return_value=True)):
                result = await subentries.async_configure(result["flow_id"], {**link, "unit": 1})
            problems += _form_problems("modbus", texts, result)
            slots = load_builtin(profile).slots
            result = await subentries.async_configure(
                result["flow_id"], dict.fromkeys(slots, "Not valid!")
            )
            assert result["errors"]
            problems += _form_problems("modbus", texts, result)
            subentries.async_abort(result["flow_id"])
    assert problems == []


# --- manifest.py ---------------------------------------------------------------------------

CUSTOM_MANIFEST_KEYS = {
    "domain",
    "name",
    "after_dependencies",
    "bluetooth",
    "codeowners",
    "config_flow",
    "dependencies",
    "dhcp",
    "disabled",
    "documentation",
    "homekit",
    "import_executor",
    "integration_type",
    "iot_class",
    "issue_tracker",
    "loggers",
    "mqtt",
    "preview_features",
    "quality_scale",
    "requirements",
    "single_config_entry",
    "ssdp",
    "usb",
    "version",
    "zeroconf",
}
QUALITY_SCALES = [
    "bronze",
    "silver",
    "gold",
    "platinum",
    "custom",
    "no_score",
    "internal",
    "legacy",
]
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}


def test_manifest_keys_are_known_required_and_sorted() -> None:
    data = manifest()
    keys = list(data)
    assert sorted(set(keys) - CUSTOM_MANIFEST_KEYS) == [], "keys hassfest does not know"
    assert keys[:2] == ["domain", "name"], "domain, name, then alphabetical order"
    assert keys[2:] == sorted(keys[2:]), "domain, name, then alphabetical order"
    for key in ("domain", "name", "documentation", "codeowners", "version", "iot_class"):
        assert data.get(key), f"{key} is required of a custom integration"


def test_manifest_values() -> None:
    data = manifest()
    assert data["domain"] == INTEGRATION.name, "Domain does not match dir name"
    assert not (HA_COMPONENTS / data["domain"]).exists(), "collides with a core integration"
    assert isinstance(data["name"], str)
    integration_types = set(
        typing.get_args(typing.get_type_hints(loader.Manifest)["integration_type"])
    )
    assert data.get("integration_type", "hub") in integration_types - {"virtual"}
    assert data["iot_class"] in IOT_CLASSES
    assert data.get("quality_scale", "custom") in QUALITY_SCALES
    if QUALITY_SCALES.index(data.get("quality_scale", "custom")) in range(1, 4):
        assert data["codeowners"], "silver and above need a code owner"
    try:
        AwesomeVersion(
            data["version"],
            ensure_strategy=[
                AwesomeVersionStrategy.CALVER,
                AwesomeVersionStrategy.SEMVER,
                AwesomeVersionStrategy.SIMPLEVER,
                AwesomeVersionStrategy.BUILDVER,
                AwesomeVersionStrategy.PEP440,
            ],
        )
    except AwesomeVersionException:
        pytest.fail(f"{data['version']!r} is not a valid version")
    for key in ("documentation", "issue_tracker"):
        vol.Url()(data[key])
    assert data["documentation"].startswith("https://")
    assert not data["documentation"].startswith("https://www.home-assistant.io/integrations")
    assert isinstance(data.get("config_flow", False), bool)
    for key in ("codeowners", "requirements", "dependencies", "after_dependencies", "loggers"):
        value = data.get(key, [])
        assert isinstance(value, list), key
        assert all(isinstance(item, str) for item in value), key
    for owner in data["codeowners"]:
        assert owner.startswith("@"), "code owners are GitHub names, @name"


def test_dependencies_exist_and_every_used_integration_is_declared() -> None:
    """dependencies.py: a core integration imported must be a (after_)dependency."""
    data = manifest()
    dependencies = set(data.get("dependencies", []))
    after = set(data.get("after_dependencies", []))
    assert not dependencies & after, "both in dependencies and after_dependencies"
    for domain in dependencies | after:
        assert (HA_COMPONENTS / domain / "manifest.json").exists(), f"{domain} does not exist"
    allowed = {platform.value for platform in Platform} | dependencies | after
    for domain, keys in DISCOVERY_INTEGRATIONS.items():
        if any(key in data for key in keys):
            allowed.add(domain)
    problems: list[str] = []
    for module, tree in _modules():
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module == "homeassistant.components":
                    names = [alias.name for alias in node.names]
                elif node.module.startswith("homeassistant.components."):
                    names = [node.module.split(".")[2]]
            elif isinstance(node, ast.Import):
                names = [
                    alias.name.split(".")[2]
                    for alias in node.names
                    if alias.name.startswith("homeassistant.components.")
                ]
            for name in names:
                # Our own platform of that integration (diagnostics.py, repairs.py) is fine.
                if name not in allowed and not (INTEGRATION / f"{name}.py").exists():
                    problems.append(f"{module.__name__} uses {name}, not in dependencies")
    assert problems == []


# --- config_flow.py and mqtt.py ------------------------------------------------------------

DISCOVERY_STEPS = {
    "async_step_bluetooth",
    "async_step_dhcp",
    "async_step_discovery",
    "async_step_hassio",
    "async_step_homekit",
    "async_step_mqtt",
    "async_step_ssdp",
    "async_step_usb",
    "async_step_zeroconf",
}


def test_config_flow_file_and_unique_id_for_discovery() -> None:
    data = manifest()
    source = (INTEGRATION / "config_flow.py").read_text("utf-8")
    assert data["config_flow"] is True
    if any(step in source for step in DISCOVERY_STEPS):
        assert "self.async_set_unique_id" in source, "discoverable flows set a unique id"


def test_mqtt_discovery_topics_reach_the_flow() -> None:
    """The manifest's MQTT topics start the flow's mqtt step; each must be a valid filter."""
    from homeassistant.components.mqtt.util import valid_subscribe_topic  # noqa: PLC0415

    topics = manifest().get("mqtt", [])
    assert topics
    for topic in topics:
        valid_subscribe_topic(topic)
    assert hasattr(SotConfigFlow, "async_step_mqtt")


# --- icons.py ------------------------------------------------------------------------------


def icon(value: Any) -> str:
    """An icon: a Material Design Icon, `mdi:name`."""
    value = cv.string_with_no_html(value)
    if not value.startswith("mdi:"):
        raise vol.Invalid("the icon needs to start with mdi:")
    return str(value)


def _no_state_icon_as_default(section: dict[str, Any]) -> dict[str, Any]:
    for key, entry in section.items():
        default = entry.get("default")
        for state, value in entry.get("state", {}).items():
            if value == default:
                raise vol.Invalid(f"{key}.{state}: the same icon as the default, remove it")
    return section


ICON_STATES = keyed(icon)
ICON_ENTRY = {
    vol.Optional("default"): icon,
    vol.Optional("state"): ICON_STATES,
    vol.Optional("state_attributes"): vol.All(
        keyed({vol.Optional("default"): icon, vol.Optional("state"): ICON_STATES}),
        _no_state_icon_as_default,
    ),
}
ICONS_SCHEMA = vol.Schema(
    {
        # An action's icon, and its sections' (icons.py: `service`, `sections`).
        vol.Optional("services"): keyed(
            {vol.Required("service"): icon, vol.Optional("sections"): ICON_STATES}
        ),
        vol.Optional("entity"): keyed(
            vol.All(keyed(ICON_ENTRY), _no_state_icon_as_default), cv.slug
        ),
    }
)


def _icons() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((INTEGRATION / "icons.json").read_text("utf-8"))
    return loaded


def test_icons_pass_hassfest() -> None:
    icons = _icons()
    try:
        ICONS_SCHEMA(icons)
    except vol.Invalid as err:
        pytest.fail(f"icons.json: {humanize_error(icons, err)}")


def test_icons_are_for_entities_and_states_that_exist() -> None:
    """icon-translations: every icon belongs to an entity's translation key and its states."""
    descriptions = entity_descriptions()
    problems: list[str] = []
    for platform, section in _icons().get("entity", {}).items():
        by_key = {d.translation_key: d for d in descriptions.get(platform, [])}
        for key, entry in section.items():
            description = by_key.get(key)
            if description is None:
                problems.append(f"icon for {platform}.{key}, which no entity uses")
                continue
            prefix, states = _states(platform, description)
            if platform in (Platform.BINARY_SENSOR, Platform.SWITCH):
                states = {"on", "off"}
            given = {
                k.removeprefix(f"{prefix}.") for k in flatten(entry) if k.startswith(f"{prefix}.")
            }
            if unknown := given - states:
                problems.append(f"{platform}.{key}: icons for states {sorted(unknown)}")
    assert problems == []


# --- services.py: every action is described, translated and has an icon -------------------


def _services_yaml() -> dict[str, Any]:
    path = INTEGRATION / "services.yaml"
    loaded: dict[str, Any] = yaml.safe_load(path.read_text("utf-8")) if path.exists() else {}
    return loaded or {}


def actions_in_code() -> set[str]:
    """The actions the code registers for its own domain (`hass.services.async_register`)."""
    registered: set[str] = set()
    for module, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _call_name(node) == "async_register":
                if len(node.args) < 2 or _strings(node.args[0], module)[0] != {DOMAIN}:
                    continue
                names, dynamic = _strings(node.args[1], module)
                assert not dynamic, f"{module.__name__}:{node.lineno}: an action of unknown name"
                registered |= names
    return registered


def test_every_action_is_described_translated_and_has_an_icon() -> None:
    """services.yaml, the action's texts in en.json and its icon, for every action registered."""
    described = _services_yaml()
    assert sorted(actions_in_code()) == sorted(described), "registered vs services.yaml"
    english = translations("en").get("services", {})
    assert sorted(english) == sorted(described), "services.yaml vs en.json services"
    assert sorted(_icons().get("services", {})) == sorted(described), "icons.json services"
    for action, spec in described.items():
        fields = (spec or {}).get("fields", {})
        texts = english[action].get("fields", {})
        assert sorted(texts) == sorted(fields), f"{action}: fields vs their texts"
        for field_spec in fields.values():
            selector.validate_selector(field_spec["selector"])


# --- quality_scale.py and quality_scale_validation/ -----------------------------------------

RULES = {
    "bronze": [
        "action-setup",
        "appropriate-polling",
        "brands",
        "common-modules",
        "config-flow",
        "config-flow-test-coverage",
        "dependency-transparency",
        "docs-actions",
        "docs-conditions",
        "docs-high-level-description",
        "docs-installation-instructions",
        "docs-removal-instructions",
        "docs-triggers",
        "entity-event-setup",
        "entity-unique-id",
        "has-entity-name",
        "runtime-data",
        "test-before-configure",
        "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions",
        "config-entry-unloading",
        "docs-configuration-parameters",
        "docs-installation-parameters",
        "entity-unavailable",
        "integration-owner",
        "log-when-unavailable",
        "parallel-updates",
        "reauthentication-flow",
        "test-coverage",
    ],
    "gold": [
        "devices",
        "diagnostics",
        "discovery",
        "discovery-update-info",
        "docs-data-update",
        "docs-examples",
        "docs-known-limitations",
        "docs-supported-devices",
        "docs-supported-functions",
        "docs-troubleshooting",
        "docs-use-cases",
        "dynamic-devices",
        "entity-category",
        "entity-device-class",
        "entity-disabled-by-default",
        "entity-translations",
        "exception-translations",
        "icon-translations",
        "reconfiguration-flow",
        "repair-issues",
        "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}
QUALITY_SCALE_SCHEMA = vol.Schema(
    {
        vol.Required("rules"): {
            vol.Optional(rule): vol.Any(
                vol.In(["todo", "done"]),
                {vol.Required("status"): vol.In(["todo", "done"]), vol.Optional("comment"): str},
                {vol.Required("status"): "exempt", vol.Required("comment"): str},
            )
            for rules in RULES.values()
            for rule in rules
        }
    }
)


def _quality_rules() -> dict[str, str]:
    data = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text("utf-8"))
    try:
        QUALITY_SCALE_SCHEMA(data)
    except vol.Invalid as err:
        pytest.fail(f"quality_scale.yaml: {humanize_error(data, err)}")
    return {
        rule: value["status"] if isinstance(value, dict) else value
        for rule, value in data["rules"].items()
    }


def test_quality_scale_file_meets_the_declared_tier() -> None:
    status = _quality_rules()
    declared = manifest()["quality_scale"]
    tiers = list(RULES)
    assert declared in tiers
    missing = [
        rule
        for tier in tiers[: tiers.index(declared) + 1]
        for rule in RULES[tier]
        if status.get(rule) not in ("done", "exempt")
    ]
    assert missing == [], f"quality scale {declared} needs these rules met"


def _parse(name: str) -> ast.Module:
    return ast.parse((INTEGRATION / name).read_text("utf-8"))


def _top_function(tree: ast.Module, name: str) -> ast.AsyncFunctionDef | ast.FunctionDef | None:
    return next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) and node.name == name
        ),
        None,
    )


def _defines_anywhere(tree: ast.Module, names: set[str]) -> bool:
    return any(isinstance(n, ast.AsyncFunctionDef) and n.name in names for n in ast.walk(tree))


def _calls(tree: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Call) and _call_name(n) == name for n in ast.walk(tree))


RE_TYPED_ENTRY = re.compile(r"^[A-Za-z]+ConfigEntry$")


def _entry_annotation_problem(
    function: ast.AsyncFunctionDef | ast.FunctionDef, position: int
) -> str:
    if len(function.args.args) < position:
        return f"{function.name} has an incorrect signature"
    annotation = function.args.args[position - 1].annotation
    if not (isinstance(annotation, ast.Name) and RE_TYPED_ENTRY.match(annotation.id)):
        return f"{function.name} does not use the typed ConfigEntry"
    return ""


def _rule_problems(rule: str, status: dict[str, str]) -> list[str]:
    """The code checks hassfest makes of a rule marked done (quality_scale_validation/)."""
    data = manifest()
    init = _parse("__init__.py")
    config_flow = _parse("config_flow.py")
    setup_entry = _top_function(init, "async_setup_entry")
    if rule == "config-flow":
        if not data.get("config_flow") or not (INTEGRATION / "config_flow.py").exists():
            return ["no config flow"]
    elif rule == "action-setup":
        # Actions are registered when the integration is set up, not per config entry, so an
        # automation calling one with an unloaded entry gets a clear error, not "unknown action".
        assert setup_entry is not None
        if not actions_in_code():
            return ["no actions registered"]
        if _top_function(init, "async_setup") is None or _calls(setup_entry, "async_register"):
            return ["actions are not registered in async_setup"]
    elif rule == "config-entry-unloading":
        if _top_function(init, "async_unload_entry") is None:
            return ["no async_unload_entry in __init__.py"]
    elif rule == "diagnostics":
        tree = _parse("diagnostics.py")
        names = {"async_get_config_entry_diagnostics", "async_get_device_diagnostics"}
        if not _defines_anywhere(tree, names):
            return ["diagnostics.py defines no diagnostics function"]
    elif rule == "discovery":
        keys = ("bluetooth", "dhcp", "homekit", "mqtt", "ssdp", "usb", "zeroconf")
        if not any(key in data for key in keys) and not _defines_anywhere(
            config_flow, DISCOVERY_STEPS
        ):
            return ["no discovery in the manifest or the config flow"]
    elif rule == "parallel-updates":
        missing = [
            str(platform)
            for platform in Platform
            if (INTEGRATION / f"{platform}.py").exists()
            and not any(
                isinstance(node, ast.Assign)
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id == "PARALLEL_UPDATES"
                for node in _parse(f"{platform}.py").body
            )
        ]
        return [f"{platform}.py does not set PARALLEL_UPDATES" for platform in missing]
    elif rule == "reconfiguration-flow":
        if not _defines_anywhere(config_flow, {"async_step_reconfigure"}):
            return ["no async_step_reconfigure in config_flow.py"]
    elif rule == "runtime-data":
        assert setup_entry is not None
        entry_name = setup_entry.args.args[1].arg
        if not any(
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == entry_name
            and node.attr == "runtime_data"
            and isinstance(node.ctx, ast.Store)
            for node in ast.walk(setup_entry)
        ):
            return ["async_setup_entry does not set entry.runtime_data"]
        if status.get("strict-typing") == "done":
            return _typed_entry_problems(init, config_flow)
    elif rule == "test-before-setup":
        assert setup_entry is not None
        raises = {"ConfigEntryNotReady", "ConfigEntryAuthFailed", "ConfigEntryError"}
        raised = any(
            isinstance(node, ast.Raise)
            and isinstance(node.exc, ast.Call)
            and _call_name(node.exc) in raises
            for _, tree in _modules()
            for node in ast.walk(tree)
        )
        if not raised and not _calls(setup_entry, "async_config_entry_first_refresh"):
            return ["setup neither refreshes first nor raises ConfigEntryNotReady"]
    elif rule == "unique-config-entry":
        if not data.get("single_config_entry") and not (
            _calls(config_flow, "_async_abort_entries_match")
            or (
                _calls(config_flow, "async_set_unique_id")
                and _calls(config_flow, "_abort_if_unique_id_configured")
            )
        ):
            return ["the config flow does not refuse a second entry for the same site"]
    elif rule == "strict-typing":
        mypy = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))["tool"]["mypy"]
        if mypy.get("strict") is not True or "custom_components/sot" not in mypy["files"]:
            return ["mypy is not strict on custom_components/sot"]
    elif rule == "brands":
        icon_file = INTEGRATION / "brand" / "icon.png"
        if not icon_file.exists() or not icon_file.read_bytes().startswith(b"\x89PNG"):
            return ["brand/icon.png is not a PNG"]
    return []


def _typed_entry_problems(init: ast.Module, config_flow: ast.Module) -> list[str]:
    """runtime-data with strict-typing: entry arguments use our typed ConfigEntry alias."""
    problems: list[str] = []
    files = {
        "__init__.py": (
            "async_migrate_entry",
            "async_remove_config_entry_device",
            "async_remove_entry",
            "async_setup_entry",
            "async_unload_entry",
        ),
        "diagnostics.py": ("async_get_config_entry_diagnostics", "async_get_device_diagnostics"),
        **{f"{platform}.py": ("async_setup_entry",) for platform in Platform},
    }
    for name, functions in files.items():
        if not (INTEGRATION / name).exists():
            continue
        tree = init if name == "__init__.py" else _parse(name)
        for function_name in functions:
            function = _top_function(tree, function_name)
            if isinstance(function, ast.AsyncFunctionDef) and (
                problem := _entry_annotation_problem(function, 2)
            ):
                problems.append(f"{problem} in {name}")
    for node in config_flow.body:
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if (
                    isinstance(item, ast.FunctionDef)
                    and item.name == "async_get_options_flow"
                    and (problem := _entry_annotation_problem(item, 1))
                ):
                    problems.append(f"{problem} in config_flow.py")
    return problems


def test_rules_marked_done_hold_in_the_code() -> None:
    status = _quality_rules()
    problems = [
        f"[{rule}] {problem}"
        for rule, value in status.items()
        if value == "done"
        for problem in _rule_problems(rule, status)
    ]
    assert problems == []
