"""Passphrase strength: zxcvbn figures, the Argon2id crack-time estimate, the bars."""

from __future__ import annotations

import pytest

from endorse.signing.kdf import DEFAULT_ARGON2, Argon2Params
from endorse.signing.secret import Secret
from endorse.signing.strength import (
    KEY_FILE_BAR,
    PASSPHRASE_KEY_BAR,
    AttackModel,
    WeakPassphrase,
    format_duration,
    measure,
    require_strength,
)
from tests.signing import MEDIUM, STRONG, WEAK


def test_strong_passphrase_clears_the_passphrase_key_bar() -> None:
    strength = measure(Secret(STRONG))
    require_strength(strength, PASSPHRASE_KEY_BAR)
    assert strength.score == 4
    assert strength.guesses_log10 > 20


def test_weak_passphrase_is_refused_with_its_figures_and_zxcvbn_feedback() -> None:
    strength = measure(Secret(WEAK))
    with pytest.raises(WeakPassphrase) as caught:
        require_strength(strength, KEY_FILE_BAR)
    message = caught.value.message
    assert "score 0/4" in message
    assert "guesses" in message and "offline crack time" in message
    assert "needs zxcvbn score 3 and at least 10^12 guesses" in message
    assert "very common password" in (caught.value.hint or "")
    assert WEAK not in message and WEAK not in (caught.value.hint or "")


def test_medium_password_is_enough_for_a_key_file_not_for_a_passphrase_key() -> None:
    strength = measure(Secret(MEDIUM))
    require_strength(strength, KEY_FILE_BAR)
    with pytest.raises(WeakPassphrase):
        require_strength(strength, PASSPHRASE_KEY_BAR)


@pytest.mark.parametrize(
    "famous", ["correct horse battery staple", "Tr0ub4dor&3", "correcthorsebatterystaple"]
)
def test_famous_example_passphrases_count_as_no_entropy(famous: str) -> None:
    with pytest.raises(WeakPassphrase):
        require_strength(measure(Secret(famous)), KEY_FILE_BAR)


def test_own_name_and_machine_do_not_count() -> None:
    alone = measure(Secret("zebulon-quartzfield"))
    as_inputs = measure(Secret("zebulon-quartzfield"), user_inputs=["zebulon", "quartzfield"])
    assert as_inputs.guesses_log10 < alone.guesses_log10


def test_crack_time_scales_with_the_argon2id_cost() -> None:
    cheap = measure(Secret(STRONG), params=Argon2Params(memory_kib=1024, iterations=1, lanes=1))
    default = measure(Secret(STRONG), params=DEFAULT_ARGON2)
    assert default.crack_seconds == pytest.approx(cheap.crack_seconds * 256 * 3)
    # 10^14 guesses at the default cost, attacker with 10^15 B/s: about five years.
    seconds = 1e14 / AttackModel().guesses_per_second(DEFAULT_ARGON2)
    assert format_duration(seconds) == "5.1 years"


def test_passphrases_longer_than_zxcvbn_accepts_are_measured_on_a_prefix() -> None:
    strength = measure(Secret(STRONG * 3))
    assert strength.truncated
    assert "first 72 characters" in strength.describe()


def test_secret_repr_is_masked() -> None:
    secret = Secret(STRONG)
    assert STRONG not in repr(secret) and STRONG not in str(secret)
    assert repr(secret) == "Secret('**********')"
    assert f"{secret}" == "Secret('**********')"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.001, "under a second"),
        (5, "5.0 seconds"),
        (600, "10 minutes"),
        (7200, "2.0 hours"),
        (1.6e6, "19 days"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
