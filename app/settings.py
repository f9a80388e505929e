"""App-wide and per-conversation settings, validated field by field.

App settings live in a JSON file under the config folder (``app_paths().settings_file``).
Loading never fails: a missing file gives the defaults, an unreadable or corrupt file gives the
defaults and a warning (a corrupt file is kept beside it as ``settings.json.corrupt``), and a
bad value falls back to that field's default with a warning naming the field. Saving is atomic.

Every assignment to a settings object is checked too, so an invalid value cannot be saved:
``SettingsValueError`` names the field and says what it accepts.

Per-conversation settings (``ConversationSettings``) are stored by the conversation store as a
dict (``to_dict``/``from_dict``). Their sampling fields are overrides: None means "use the
model's recommended value" (``engine.default_sampling()``), so resetting to the preset is
``reset_sampling()``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .atomic import atomic_write_bytes, atomic_write_text

log = logging.getLogger(__name__)

SETTINGS_FORMAT_VERSION = 1
THEMES = ("system", "light", "dark")
KV_CACHE_TYPES = ("f16", "q8_0", "q4_0")
SAMPLING_FIELDS = (
    "temperature",
    "top_p",
    "top_k",
    "min_p",
    "presence_penalty",
    "max_tokens",
    "thinking_budget",
)


class SettingsValueError(ValueError):
    """A settings field was given a value it does not accept."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field!r} {message}")
        self.field = field


@dataclass(frozen=True)
class Rule:
    """What one settings field accepts."""

    kind: type
    nullable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    max_length: int | None = None

    def describe(self) -> str:
        if self.choices:
            text = "one of " + ", ".join(repr(c) for c in self.choices)
        elif self.kind is int:
            text = f"a whole number from {_num(self.minimum)} to {_num(self.maximum)}"
        elif self.kind is float:
            text = f"a number from {_num(self.minimum)} to {_num(self.maximum)}"
        elif self.kind is bool:
            text = "true or false"
        else:
            text = "text"
        return f"{text} or null" if self.nullable else text

    def check(self, field: str, value: Any) -> Any:
        """Return ``value`` normalised (4.0 → 4 for whole numbers) or raise SettingsValueError."""
        if value is None and self.nullable:
            return None
        if not self._accepts(value):
            raise SettingsValueError(field, f"must be {self.describe()}, not {value!r}")
        if self.kind is int:
            return int(value)
        if self.kind is float:
            return float(value)
        return value

    def _accepts(self, value: Any) -> bool:
        if self.kind is bool:
            return isinstance(value, bool)
        if self.kind is str:
            return (
                isinstance(value, str)
                and (not self.choices or value in self.choices)
                and (self.max_length is None or len(value) <= self.max_length)
            )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.kind is int and isinstance(value, float) and not value.is_integer():
            return False
        return (self.minimum is None or value >= self.minimum) and (
            self.maximum is None or value <= self.maximum
        )


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


class _Validated:
    """Base for settings dataclasses: every assignment is checked against ``RULES``."""

    RULES: ClassVar[dict[str, Rule]] = {}

    def __setattr__(self, name: str, value: Any) -> None:
        rule = self.RULES.get(name)
        if rule is not None:
            value = rule.check(name, value)
        object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        """All fields as JSON-ready values."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Any, warnings: list[str] | None = None, source: str = ""):
        """Build from a dict, field by field: a bad value falls back to the field's default
        with a warning (appended to ``warnings`` and logged); unknown keys are ignored."""
        found: list[str] = []
        values: dict[str, Any] = {}
        where = f"{source}: " if source else ""
        if not isinstance(data, dict):
            found.append(
                f"{where}expected a JSON object, found {type(data).__name__}; using defaults"
            )
            data = {}
        defaults = cls()
        for f in dataclasses.fields(cls):
            if f.name not in data:
                continue
            try:
                values[f.name] = cls.RULES[f.name].check(f.name, data[f.name])
            except SettingsValueError as exc:
                default = getattr(defaults, f.name)
                found.append(f"{where}{exc}; using the default ({default!r})")
        for message in found:
            log.warning("%s", message)
        if warnings is not None:
            warnings.extend(found)
        return cls(**values)


@dataclass(eq=True)
class ConversationSettings(_Validated):
    """One conversation's system prompt and sampling overrides (None = the model's preset)."""

    RULES: ClassVar[dict[str, Rule]] = {
        "system_prompt": Rule(str, max_length=100_000),
        "temperature": Rule(float, nullable=True, minimum=0.0, maximum=5.0),
        "top_p": Rule(float, nullable=True, minimum=0.0, maximum=1.0),
        "top_k": Rule(int, nullable=True, minimum=0, maximum=1000),
        "min_p": Rule(float, nullable=True, minimum=0.0, maximum=1.0),
        "presence_penalty": Rule(float, nullable=True, minimum=-2.0, maximum=2.0),
        "max_tokens": Rule(int, nullable=True, minimum=1, maximum=1_048_576),
        "thinking_budget": Rule(int, nullable=True, minimum=0, maximum=1_048_576),
    }

    system_prompt: str = ""
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    min_p: float | None = None
    presence_penalty: float | None = None
    max_tokens: int | None = None
    thinking_budget: int | None = None

    def sampling_overrides(self) -> dict[str, Any]:
        """The sampling fields set in this conversation, e.g. for
        ``dataclasses.replace(engine.default_sampling(), **overrides)``."""
        return {
            name: getattr(self, name) for name in SAMPLING_FIELDS if getattr(self, name) is not None
        }

    def reset_sampling(self) -> ConversationSettings:
        """A copy that uses the model's recommended sampling again (system prompt kept)."""
        return ConversationSettings(system_prompt=self.system_prompt)


@dataclass(eq=True)
class AppSettings(_Validated):
    """App-wide settings. None means "auto" (the memory planner or the hardware decides)."""

    RULES: ClassVar[dict[str, Rule]] = {
        "threads": Rule(int, nullable=True, minimum=1, maximum=512),
        "gpu_layers": Rule(int, nullable=True, minimum=-1, maximum=10_000),
        "context_size": Rule(int, nullable=True, minimum=256, maximum=1_048_576),
        "kv_cache_type": Rule(str, choices=KV_CACHE_TYPES),
        "theme": Rule(str, choices=THEMES),
        "font_size": Rule(int, minimum=6, maximum=48),
        "last_model": Rule(str, nullable=True, max_length=4096),
        "thinking_budget": Rule(int, nullable=True, minimum=0, maximum=1_048_576),
        "api_server": Rule(bool),
        "api_host": Rule(str, max_length=255),
        "api_port": Rule(int, minimum=0, maximum=65535),
    }

    threads: int | None = None
    gpu_layers: int | None = None  # -1 = every layer
    context_size: int | None = None
    kv_cache_type: str = "f16"
    theme: str = "system"
    font_size: int = 11
    last_model: str | None = None
    thinking_budget: int | None = None
    # The local API server in the app (its key is in the OS keyring, never here); 0 = any port.
    api_server: bool = False
    api_host: str = "127.0.0.1"
    api_port: int = 8080


def default_settings_path() -> Path:
    """``settings.json`` in the app's config folder."""
    from .paths import app_paths

    return app_paths().settings_file


def load_settings(path: str | os.PathLike[str] | None = None) -> tuple[AppSettings, list[str]]:
    """Read the app settings; return them and the warnings for the user. Never raises."""
    file = Path(path) if path is not None else default_settings_path()
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        return AppSettings(), []
    except OSError as exc:
        message = f"Could not read the settings file {file} ({exc}); using the default settings"
        log.warning("%s", message)
        return AppSettings(), [message]
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        kept = _keep_corrupt_copy(file, raw)
        message = f"The settings file {file} is damaged ({exc}); using the default settings"
        if kept is not None:
            message += f". A copy of the damaged file was kept at {kept}"
        log.warning("%s", message)
        return AppSettings(), [message]
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "version"}
    warnings: list[str] = []
    settings = AppSettings.from_dict(data, warnings, source=f"Settings file {file}")
    return settings, warnings


def save_settings(path: str | os.PathLike[str] | None, settings: AppSettings) -> None:
    """Write the app settings atomically (a crash leaves the old file or the new one)."""
    file = Path(path) if path is not None else default_settings_path()
    document = {"version": SETTINGS_FORMAT_VERSION, **settings.to_dict()}
    atomic_write_text(file, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _keep_corrupt_copy(file: Path, raw: bytes) -> Path | None:
    copy = file.with_name(file.name + ".corrupt")
    try:
        atomic_write_bytes(copy, raw)
    except OSError as exc:
        log.warning("Could not keep a copy of the damaged settings file: %s", exc)
        return None
    return copy
