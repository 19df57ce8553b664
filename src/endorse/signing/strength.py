"""How hard a passphrase is to guess, measured with zxcvbn, and the bar it must clear.

A passphrase key's public key is published, so anyone holding the key's
descriptor (its random salt) can guess offline: the only limits are the
passphrase's strength and the Argon2id cost of each guess. We therefore

1. measure the passphrase with zxcvbn (Dropbox's estimator: dictionary words,
   names, keyboard patterns, dates, l33t, repeats), passing the maintainer's
   name, the key name, the machine label and a few famous example passphrases
   as user inputs so that none of them counts as entropy;
2. turn zxcvbn's guess count into an offline crack time for an attacker
   with a stated memory bandwidth (:class:`AttackModel`), at the Argon2id cost
   the key is made with;
3. refuse anything below a :class:`StrengthBar` and show all of the figures.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # zxcvbn ships no type hints

from endorse.errors import WeakPassphrase
from endorse.signing.kdf import DEFAULT_ARGON2, Argon2Params
from endorse.signing.secret import Secret

__all__ = [
    "KEY_FILE_BAR",
    "PASSPHRASE_KEY_BAR",
    "AttackModel",
    "Strength",
    "StrengthBar",
    "WeakPassphrase",
    "format_duration",
    "measure",
    "require_strength",
]

#: zxcvbn refuses longer input (its matching is quadratic); longer passphrases
#: are measured on their first 72 characters, which can only under-estimate them.
_ZXCVBN_MAX_LENGTH = 72

#: Example passphrases from famous explanations (xkcd 936 and the like): they
#: are the first thing an attacker tries, so they count as no entropy.
KNOWN_EXAMPLES = (
    "correct horse battery staple",
    "correcthorsebatterystaple",
    "tr0ub4dor&3",
    "troubador",
    "endorse",
    "pypi",
    "python",
    "passphrase",
)

_SECONDS_PER_YEAR = 365.25 * 24 * 3600


@dataclass(frozen=True)
class AttackModel:
    """An offline attacker, sized by memory bandwidth (Argon2id is memory-bound).

    The default, 10^15 bytes per second, is about one thousand current
    data-centre GPUs at roughly 1 TB/s each, all guessing one passphrase.
    """

    bandwidth_bytes_per_second: float = 1e15

    def guesses_per_second(self, params: Argon2Params) -> float:
        """Guesses per second at the Argon2id cost ``params``."""
        return self.bandwidth_bytes_per_second / params.bytes_per_guess


@dataclass(frozen=True)
class StrengthBar:
    """The least a passphrase must score: zxcvbn score and log10 of its guesses."""

    min_score: int
    min_guesses_log10: float

    def describe(self) -> str:
        """Human-readable, for messages and docs."""
        return f"zxcvbn score {self.min_score} and at least 10^{self.min_guesses_log10:g} guesses"


#: Passphrase keys: the public key is public, so the bar is high. 10^14 guesses
#: at the default Argon2id cost keep the default attacker busy for about five years.
PASSPHRASE_KEY_BAR = StrengthBar(min_score=4, min_guesses_log10=14.0)
#: Key-file passwords: the attacker must first steal the file, so the bar is
#: lower: 10^12 guesses are about 19 days for the same attacker, time to notice
#: the theft and revoke the key.
KEY_FILE_BAR = StrengthBar(min_score=3, min_guesses_log10=12.0)


@dataclass(frozen=True)
class Strength:
    """What zxcvbn estimated, and what that means against Argon2id."""

    score: int
    guesses_log10: float
    crack_seconds: float
    warning: str
    suggestions: tuple[str, ...]
    params: Argon2Params
    attack: AttackModel
    truncated: bool = False

    def describe(self) -> str:
        """One line of figures, for people."""
        text = (
            f"zxcvbn score {self.score}/4, about 10^{self.guesses_log10:.1f} guesses, "
            f"offline crack time {format_duration(self.crack_seconds)} at "
            f"{self.params.describe()} (attacker with "
            f"{self.attack.bandwidth_bytes_per_second:.0e} B/s of memory bandwidth)"
        )
        if self.truncated:
            text += f"; measured on the first {_ZXCVBN_MAX_LENGTH} characters"
        return text

    def feedback(self) -> list[str]:
        """zxcvbn's warning and suggestions, non-empty ones only."""
        return [line for line in (self.warning, *self.suggestions) if line]


def measure(
    secret: Secret,
    *,
    user_inputs: Iterable[str] = (),
    params: Argon2Params = DEFAULT_ARGON2,
    attack: AttackModel | None = None,
) -> Strength:
    """Estimate how many guesses ``secret`` takes and how long that is offline."""
    attack = attack or AttackModel()
    value = secret.reveal()
    truncated = len(value) > _ZXCVBN_MAX_LENGTH
    inputs = [s for s in (*user_inputs, *KNOWN_EXAMPLES) if s]
    result = zxcvbn(value[:_ZXCVBN_MAX_LENGTH], user_inputs=inputs)
    guesses_log10 = float(result["guesses_log10"])
    feedback = result.get("feedback") or {}
    return Strength(
        score=int(result["score"]),
        guesses_log10=guesses_log10,
        crack_seconds=10**guesses_log10 / attack.guesses_per_second(params),
        warning=str(feedback.get("warning") or ""),
        suggestions=tuple(str(s) for s in feedback.get("suggestions") or ()),
        params=params,
        attack=attack,
        truncated=truncated,
    )


def check_new_secret(
    secret: Secret, user_inputs: Iterable[str], *, params: Argon2Params, bar: StrengthBar
) -> Strength:
    """Measure the secret of a new key; raise WeakPassphrase below ``bar``."""
    strength = measure(secret, user_inputs=user_inputs, params=params)
    require_strength(strength, bar)
    return strength


def require_strength(strength: Strength, bar: StrengthBar) -> None:
    """Raise :class:`WeakPassphrase` unless ``strength`` clears ``bar``."""
    if strength.score < bar.min_score or strength.guesses_log10 < bar.min_guesses_log10:
        feedback = " ".join(strength.feedback())
        raise WeakPassphrase(
            f"passphrase refused: {strength.describe()}; needs {bar.describe()}",
            hint=(
                (feedback + " " if feedback else "")
                + "Use five or more random words (diceware) or a password manager's "
                "generator; see docs/developer-keys.md."
            ),
        )


def format_duration(seconds: float) -> str:
    """Seconds as the largest sensible unit: '3 hours', '19 days', '5.1 years', '1e+06 years'."""
    if not math.isfinite(seconds):
        return "forever"
    for unit, size in (("year", _SECONDS_PER_YEAR), ("day", 86400.0), ("hour", 3600.0)):
        if seconds >= size:
            count = seconds / size
            if count >= 1e4:
                return f"{count:.0e} {unit}s"
            shown = f"{count:.1f}" if count < 10 else f"{count:.0f}"
            return f"{shown} {unit}{'' if shown == '1.0' else 's'}"
    if seconds >= 60:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 1:
        return "under a second"
    return f"{seconds:.1f} seconds"
