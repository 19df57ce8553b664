"""The client's policy: a minimum trust level, for all projects or per project.

A policy file (``~/.config/endorse/client.toml``, or ``--policy FILE``)::

    # every file must be at least this level (1-4 or a name; default 1)
    min-trust = 1
    # only projects under the offline-signed `claimed` role (default false)
    claimed-only = false
    # shorthand for [projects.<name>] min-trust = 3
    require-developer-signed = ["requests", "urllib3"]

    [projects.cryptography]
    min-trust = "developer-signed"
    claimed-only = true

    [projects.my-internal-tool]
    min-trust = 1          # a project rule replaces the global one for that project

Command-line options (``--min-trust``, ``--claimed-only``,
``--require-developer-signed``) are rules too, layered on top of the file.
The most specific rule wins: a project's own rule, then the global one. A
refusal always quotes the rule that refused, with where it was written.

Nothing here does IO except ``Policy.from_file``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.utils import InvalidName, NormalizedName, canonicalize_name

from endorse.client.errors import PolicyNotMet
from endorse.client.trust import FileTrust, Source
from endorse.errors import ConfigError
from endorse.metadata.trust import TrustLevel

__all__ = ["DEFAULT_POLICY_FILE", "Policy", "Rule", "parse_level"]

#: Where the policy is read from when ``--policy`` is not given (if it exists).
DEFAULT_POLICY_FILE = Path("~/.config/endorse/client.toml")

_LEVEL_NAMES = {
    "index-signed": TrustLevel.INDEX_SIGNED,
    "index-signed-strong-auth": TrustLevel.INDEX_SIGNED_STRONG_AUTH,
    "strong-auth": TrustLevel.INDEX_SIGNED_STRONG_AUTH,
    "developer-signed": TrustLevel.DEVELOPER_SIGNED,
    "rebuilt": TrustLevel.DEVELOPER_SIGNED_REBUILT,
    "developer-signed-rebuilt": TrustLevel.DEVELOPER_SIGNED_REBUILT,
}
_RULE_KEYS = {"min-trust", "claimed-only"}
_TOP_KEYS = {*_RULE_KEYS, "require-developer-signed", "projects"}


def parse_level(value: object, where: str) -> TrustLevel:
    """A trust level from ``1``-``4`` or a name (``"developer-signed"``)."""
    if isinstance(value, bool):
        raise ConfigError(f"{where} has value {value!r}. Not a trust level.")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        try:
            return TrustLevel(int(value))
        except ValueError:
            pass
    elif isinstance(value, str) and value.strip().lower() in _LEVEL_NAMES:
        return _LEVEL_NAMES[value.strip().lower()]
    raise ConfigError(
        f"{where} has value {value!r}. Not a trust level.",
        hint="use 1-4, or one of: " + ", ".join(sorted(_LEVEL_NAMES)),
    )


@dataclass(frozen=True)
class Rule:
    """What one rule demands; ``None`` fields leave the decision to a wider rule."""

    min_trust: TrustLevel | None = None
    claimed_only: bool | None = None
    #: Where the rule was written, quoted in refusals.
    source: str = "default"


@dataclass(frozen=True)
class _Effective:
    min_trust: TrustLevel
    min_trust_rule: str
    claimed_only: bool
    claimed_only_rule: str


@dataclass(frozen=True)
class Policy:
    """Global rules and per-project rules, later rules over earlier ones."""

    rules: tuple[Rule, ...] = ()
    projects: Mapping[NormalizedName, tuple[Rule, ...]] = field(default_factory=dict)

    # -- building -------------------------------------------------------------

    @classmethod
    def from_file(cls, path: Path) -> Policy:
        """Read a TOML policy file (ConfigError names the key and the file)."""
        try:
            data = tomllib.loads(path.read_text())
        except OSError as e:
            raise ConfigError(f"cannot read the policy file {str(path)!r}: {e}") from e
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"policy file {str(path)!r} is not valid TOML: {e}") from e
        return cls.from_mapping(data, str(path))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> Policy:
        """A policy from parsed TOML; ``where`` names the file in messages."""
        unknown = set(data) - _TOP_KEYS
        if unknown:
            raise ConfigError(
                f"policy file {where!r}: unknown key {sorted(unknown)[0]!r}",
                hint="known keys: " + ", ".join(sorted(_TOP_KEYS)),
            )
        policy = cls()
        top = _rule_from(data, where, where)
        if top.min_trust is not None or top.claimed_only is not None:
            policy = policy.with_rule(top)
        required = data.get("require-developer-signed", [])
        if not isinstance(required, list) or not all(isinstance(p, str) for p in required):
            raise ConfigError(f"{where}: 'require-developer-signed' must be a list of names")
        for project in required:
            rule = Rule(
                min_trust=TrustLevel.DEVELOPER_SIGNED,
                source=f"{where}: require-developer-signed {project}",
            )
            policy = policy.with_project_rule(project, rule)
        projects = data.get("projects", {})
        if not isinstance(projects, dict):
            raise ConfigError(f"{where}: [projects] must be a table")
        for project, table in projects.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{where}: [projects.{project}] must be a table")
            bad = set(table) - _RULE_KEYS
            if bad:
                raise ConfigError(
                    f"{where}: [projects.{project}] has unknown key {sorted(bad)[0]!r}",
                    hint="known keys: " + ", ".join(sorted(_RULE_KEYS)),
                )
            label = f"{where}: [projects.{project}]"
            policy = policy.with_project_rule(project, _rule_from(table, label, label))
        return policy

    def with_rule(self, rule: Rule) -> Policy:
        """This policy with one more global rule (it wins over earlier ones)."""
        return replace(self, rules=(*self.rules, rule))

    def with_project_rule(self, project: str, rule: Rule) -> Policy:
        """This policy with one more rule for one project."""
        name = _name(project)
        projects = dict(self.projects)
        projects[name] = (*projects.get(name, ()), rule)
        return replace(self, projects=projects)

    def with_options(
        self,
        *,
        min_trust: TrustLevel | None = None,
        claimed_only: bool = False,
        require_developer_signed: Iterable[str] = (),
    ) -> Policy:
        """Command-line options as rules on top of this policy."""
        policy = self
        if min_trust is not None:
            policy = policy.with_rule(Rule(min_trust=min_trust, source=f"--min-trust {min_trust}"))
        if claimed_only:
            policy = policy.with_rule(Rule(claimed_only=True, source="--claimed-only"))
        for project in require_developer_signed:
            policy = policy.with_project_rule(
                project,
                Rule(
                    min_trust=TrustLevel.DEVELOPER_SIGNED,
                    source=f"--require-developer-signed {project}",
                ),
            )
        return policy

    # -- deciding -------------------------------------------------------------

    def _effective(self, project: NormalizedName) -> _Effective:
        level, level_rule = TrustLevel.INDEX_SIGNED, "default"
        claimed, claimed_rule = False, "default"
        for rule in (*self.rules, *self.projects.get(project, ())):
            if rule.min_trust is not None:
                level, level_rule = rule.min_trust, rule.source
            if rule.claimed_only is not None:
                claimed, claimed_rule = rule.claimed_only, rule.source
        return _Effective(level, level_rule, claimed, claimed_rule)

    def required_level(self, project: NormalizedName) -> TrustLevel:
        """The lowest trust level this policy accepts for a project."""
        return self._effective(project).min_trust

    def check(self, project: NormalizedName, filename: str, trust: FileTrust) -> None:
        """Return if the file may be served; raise PolicyNotMet naming the rule if not."""
        eff = self._effective(project)
        if trust.level < eff.min_trust:
            raise PolicyNotMet(
                f"refused {filename} of {project}: trust level {int(trust.level)} "
                f"({trust.label}) is below the {int(eff.min_trust)} ({eff.min_trust.label}) "
                f"the policy requires [rule: {eff.min_trust_rule}]",
                project=project,
                filename=filename,
                rule=eff.min_trust_rule,
                level=int(trust.level),
                required=int(eff.min_trust),
                hint=_hint(project, trust, eff.min_trust_rule),
            )
        if eff.claimed_only and trust.source is not Source.CLAIMED:
            where = (
                "recently claimed (its role is signed by an online key until the next "
                "signing event)"
                if trust.source is Source.RECENTLY_CLAIMED
                else "not claimed (the index signs its files)"
            )
            raise PolicyNotMet(
                f"refused {filename} of {project}: the project is {where}, and the policy "
                f"accepts only projects under the offline-signed claimed role "
                f"[rule: {eff.claimed_only_rule}]",
                project=project,
                filename=filename,
                rule=eff.claimed_only_rule,
                level=int(trust.level),
                required=int(TrustLevel.DEVELOPER_SIGNED),
                hint=_hint(project, trust, eff.claimed_only_rule),
            )

    def describe(self) -> list[str]:
        """The rules, one line each, for ``endorse proxy`` to print at start."""
        lines = [f"{r.source}: {_rule_text(r)}" for r in self.rules]
        for project, rules in sorted(self.projects.items()):
            lines += [f"{r.source}: {project}: {_rule_text(r)}" for r in rules]
        return lines or ["default: every verified file (minimum trust level 1)"]


def _rule_text(rule: Rule) -> str:
    parts = []
    if rule.min_trust is not None:
        parts.append(f"minimum trust level {int(rule.min_trust)} ({rule.min_trust.label})")
    if rule.claimed_only is not None:
        parts.append("claimed projects only" if rule.claimed_only else "claimed or not")
    return ", ".join(parts)


def _hint(project: str, trust: FileTrust, rule: str) -> str:
    if trust.source is Source.INDEX_SIGNED:
        ask = f"ask the maintainers of {project} to claim it and sign their releases (PEP 480)"
    elif trust.source is Source.RECENTLY_CLAIMED:
        ask = f"wait until the index's next signing event moves {project} into claimed"
    else:
        ask = f"ask the maintainers of {project} for a file that meets the rule"
    return f"{ask}, or change the rule ({rule}) if you accept this file as it is"


def _rule_from(table: Mapping[str, Any], where: str, source: str) -> Rule:
    min_trust = None
    if "min-trust" in table:
        min_trust = parse_level(table["min-trust"], f"{where}: 'min-trust'")
    claimed_only = table.get("claimed-only")
    if claimed_only is not None and not isinstance(claimed_only, bool):
        raise ConfigError(f"{where}: 'claimed-only' has value {claimed_only!r}. Not a bool.")
    return Rule(min_trust=min_trust, claimed_only=claimed_only, source=source)


def _name(project: str) -> NormalizedName:
    try:
        return canonicalize_name(project, validate=True)
    except InvalidName as e:
        raise ConfigError(f"{project!r} is not a valid project name") from e
