"""``endorse key``: this machine's developer keys (PEP 480).

Passphrases, key-file passwords and PINs are read without echo, or from
standard input with ``--passphrase-stdin`` (one line) for automation; never
from a flag value. They are held in a masked :class:`~endorse.signing.Secret`.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ParamSpec, TypeVar

import click
from rich.table import Table
from securesystemslib.signer import SecretsHandler

from endorse.cli._console import err, out, read_secret, setup_logging
from endorse.cli._exit import reports_errors
from endorse.errors import EndorseError
from endorse.signing import hsm, keyfile, passphrase
from endorse.signing.descriptor import KeyDescriptor, KeyKind, KeyLabels, parse_public_dict
from endorse.signing.kdf import DEFAULT_ARGON2, Argon2Params
from endorse.signing.keystore import Keystore, load_signer
from endorse.signing.machines import endorse_new_key
from endorse.signing.secret import Secret
from endorse.signing.strength import Strength

P = ParamSpec("P")
R = TypeVar("R")

KEYS_DIR_ENV = "ENDORSE_DEVELOPER_KEYS_DIR"
DEFAULT_KEYS_DIR = Path("~/.config/endorse/keys")


def _keys_dir_option(func: Callable[P, R]) -> Callable[P, R]:
    return click.option(
        "--keys-dir",
        type=click.Path(file_okay=False, path_type=Path),
        envvar=KEYS_DIR_ENV,
        default=None,
        help=f"Folder of this machine's key descriptors [env {KEYS_DIR_ENV}; "
        "default ~/.config/endorse/keys].",
    )(func)


def _stdin_option(func: Callable[P, R]) -> Callable[P, R]:
    return click.option(
        "--passphrase-stdin",
        is_flag=True,
        help="Read the passphrase, password or PIN from standard input (one line).",
    )(func)


def _keystore(keys_dir: Path | None) -> Keystore:
    return Keystore((keys_dir or DEFAULT_KEYS_DIR).expanduser())


def _secrets_handler(key_name: str, *, from_stdin: bool) -> SecretsHandler:
    """Ask once per secret name ("passphrase", "password", "pin") and remember it."""
    asked: dict[str, Secret] = {}

    def handler(secret_name: str) -> str:
        if secret_name not in asked:
            prompt = f"{secret_name.capitalize()} of key {key_name!r}"
            asked[secret_name] = Secret(read_secret(prompt, from_stdin=from_stdin))
        return asked[secret_name].reveal()

    return handler


@contextlib.contextmanager
def _token_module(descriptor: KeyDescriptor, pkcs11_lib: str | None) -> Iterator[None]:
    """Give HSMSigner the PKCS#11 module (--pkcs11-lib / PYKCS11LIB, else the descriptor's)."""
    module = pkcs11_lib or descriptor.pkcs11_module
    if descriptor.kind is not KeyKind.TOKEN or not module:
        yield
        return
    with hsm.pkcs11_module(module):
        yield


def _print_strength(strength: Strength) -> None:
    err.print(f"strength: {strength.describe()}", highlight=False)
    for line in strength.feedback():
        err.print(f"  {line}", highlight=False)


@click.group("key")
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
def key(verbose: int) -> None:
    """Developer keys on this machine: make, list, show, endorse a new machine.

    \b
    Example:
      endorse key new --kind passphrase --name laptop --user alice
    """
    setup_logging(verbose)


@key.command("new")
@click.option(
    "--kind",
    type=click.Choice([k.value for k in KeyKind]),
    default=KeyKind.PASSPHRASE.value,
    show_default=True,
    help="passphrase: derived with Argon2id; file: encrypted key file; token: PKCS#11.",
)
@click.option("--name", required=True, help="Local name of the key, e.g. 'laptop'.")
@click.option("--user", required=True, help="Your username on the index (the maintainer).")
@click.option("--machine", default=None, help="Label of this machine [its host name].")
@_stdin_option
@click.option(
    "--argon2-memory-kib",
    type=click.IntRange(min=8),
    default=DEFAULT_ARGON2.memory_kib,
    show_default=True,
    help="Argon2id memory (passphrase and file kinds).",
)
@click.option(
    "--argon2-iterations",
    type=click.IntRange(min=1),
    default=DEFAULT_ARGON2.iterations,
    show_default=True,
    help="Argon2id passes.",
)
@click.option(
    "--argon2-lanes",
    type=click.IntRange(min=1),
    default=DEFAULT_ARGON2.lanes,
    show_default=True,
    help="Argon2id lanes.",
)
@click.option(
    "--pkcs11-lib",
    envvar=hsm.PYKCS11LIB,
    default=None,
    help=f"PKCS#11 module of the token [env {hsm.PYKCS11LIB}].",
)
@click.option("--token-label", default=None, help="Label of the token [the only token].")
@click.option(
    "--hsm-keyid",
    type=click.IntRange(min=0),
    default=hsm.DEFAULT_HSM_KEYID,
    show_default=True,
    help="Key id on the token (2 is YubiKey PIV slot 9c).",
)
@click.option(
    "--use-existing",
    is_flag=True,
    help="Register the key already at --hsm-keyid instead of generating one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the public key as JSON.")
@_keys_dir_option
@reports_errors
def new(
    kind: str,
    name: str,
    user: str,
    machine: str | None,
    passphrase_stdin: bool,
    argon2_memory_kib: int,
    argon2_iterations: int,
    argon2_lanes: int,
    pkcs11_lib: str | None,
    token_label: str | None,
    hsm_keyid: int,
    use_existing: bool,
    as_json: bool,
    keys_dir: Path | None,
) -> None:
    """Make a new key on this machine and store its descriptor.

    Passphrases are measured (zxcvbn) and weak ones refused; the figures are
    shown either way. Nothing secret is written for a passphrase key.

    \b
    Example:
      endorse key new --kind file --name work --user alice
    """
    keystore = _keystore(keys_dir)
    labels = KeyLabels(name=name, maintainer=user, machine=machine or socket.gethostname())
    keystore.check_free(name)
    key_kind = KeyKind(kind)
    try:
        params = Argon2Params(argon2_memory_kib, argon2_iterations, argon2_lanes)
    except ValueError as e:
        raise click.BadParameter(str(e)) from e

    if key_kind is KeyKind.PASSPHRASE:
        secret = Secret(read_secret("New passphrase", from_stdin=passphrase_stdin, confirm=True))
        _print_strength(passphrase.check_passphrase(secret, labels, params=params))
        with err.status(f"deriving the key ({params.describe()})"):
            descriptor = passphrase.generate(secret, labels, params=params)
    elif key_kind is KeyKind.FILE:
        secret = Secret(
            read_secret("Password for the key file", from_stdin=passphrase_stdin, confirm=True)
        )
        _print_strength(keyfile.check_password(secret, labels, params=params))
        with err.status("making the encrypted key file"):
            descriptor = keyfile.generate(
                secret, labels, keystore.key_file_path(name), params=params
            )
    else:
        if not pkcs11_lib:
            raise EndorseError(
                "a token key needs the PKCS#11 module of the token",
                hint=f"pass --pkcs11-lib or set {hsm.PYKCS11LIB} (see docs/developer-keys.md)",
            )
        pin = Secret(read_secret("Token PIN", from_stdin=passphrase_stdin))
        slot = hsm.TokenSlot(pkcs11_lib, token_label, hsm_keyid)
        with err.status("making the key pair on the token"):
            descriptor = hsm.generate(slot, pin, labels, use_existing=use_existing)

    keystore.add(descriptor)
    if as_json:
        out.print_json(json.dumps(descriptor.public_dict()))
        return
    out.print(
        f"made {descriptor.kind.value} key {descriptor.name!r} {descriptor.short_keyid} "
        f"for {descriptor.maintainer} on {descriptor.machine}",
        highlight=False,
    )
    err.print(
        f"next: `endorse key show {descriptor.name} > {descriptor.name}.pub.json`, then "
        "register it with the index, or endorse it on a machine whose key is registered: "
        f"`endorse key endorse-machine {descriptor.name}.pub.json --by <that key>`",
        highlight=False,
    )


@key.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the descriptors as JSON.")
@_keys_dir_option
@reports_errors
def list_keys(as_json: bool, keys_dir: Path | None) -> None:
    """List the keys on this machine.

    \b
    Example:
      endorse key list --json
    """
    descriptors = _keystore(keys_dir).descriptors()
    if as_json:
        click.echo(json.dumps([d.to_dict() for d in descriptors], indent=2, sort_keys=True))
        return
    if not descriptors:
        err.print("no keys on this machine: make one with `endorse key new`")
        return
    table = Table("name", "kind", "key id", "maintainer", "machine", "created (UTC)")
    for d in descriptors:
        table.add_row(
            d.name,
            d.kind.value,
            d.short_keyid,
            d.maintainer,
            d.machine,
            d.created.strftime("%Y-%m-%d %H:%M"),
        )
    out.print(table)


@key.command("show")
@click.argument("name")
@_keys_dir_option
@reports_errors
def show(name: str, keys_dir: Path | None) -> None:
    """Print a key's public half as JSON, for registering it with the index.

    \b
    Example:
      endorse key show laptop > laptop.pub.json
    """
    descriptor = _keystore(keys_dir).get(name)
    click.echo(json.dumps(descriptor.public_dict(), indent=2, sort_keys=True))


@key.command("endorse-machine")
@click.argument("new_key")
@click.option("--by", "by_name", required=True, help="Name of an already registered key here.")
@click.option("--project", default=None, help="Limit the new key to one project.")
@click.option(
    "--pkcs11-lib",
    envvar=hsm.PYKCS11LIB,
    default=None,
    help=f"PKCS#11 module, if --by is a token key [env {hsm.PYKCS11LIB}; default: "
    "the one it was made with].",
)
@_stdin_option
@_keys_dir_option
@reports_errors
def endorse_machine(
    new_key: str,
    by_name: str,
    project: str | None,
    pkcs11_lib: str | None,
    passphrase_stdin: bool,
    keys_dir: Path | None,
) -> None:
    """Sign "add this key to me" for a new machine's key, with an existing key.

    NEW_KEY is a key name on this machine, or a file that `endorse key show`
    wrote on the new machine. Prints the statement and the signature as JSON,
    for the index.

    \b
    Example:
      endorse key endorse-machine desktop.pub.json --by laptop
    """
    keystore = _keystore(keys_dir)
    by = keystore.get(by_name)
    path = Path(new_key)
    if path.is_file():
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise EndorseError(f"cannot read public key file {new_key!r}: {e}") from e
        public_key, maintainer = parse_public_dict(raw)
    else:
        target = keystore.get(new_key)
        public_key, maintainer = target.public_key, target.maintainer
    handler = _secrets_handler(by.name, from_stdin=passphrase_stdin)
    with _token_module(by, pkcs11_lib):
        signer = load_signer(by, handler)
        statement, signature = endorse_new_key(public_key, maintainer, by, signer, project=project)
    document = {"statement": statement.to_dict(), "signature": signature.to_dict()}
    click.echo(json.dumps(document, indent=2, sort_keys=True))
    err.print(
        f"key {public_key.keyid[:12]} endorsed by {by.name} ({by.short_keyid}) for "
        f"{maintainer}: give this JSON to the index",
        highlight=False,
    )
