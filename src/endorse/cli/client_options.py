"""The options every client command shares.

Imports nothing heavy (no rich, no python-tuf): ``endorse install`` starts the
installer before it imports the rest (see ``endorse.client.install``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

if TYPE_CHECKING:
    from endorse.client.policy import Policy
    from endorse.client.resolver import VerifiedIndex

__all__ = ["ClientOptions", "client_options"]

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class ClientOptions:
    """The options every client command shares."""

    index: str
    root: Path | None
    root_sha256: str | None
    trust_on_first_use: bool
    cache_dir: Path | None
    policy_file: Path | None
    min_trust: str | None
    require_developer_signed: tuple[str, ...]
    claimed_only: bool
    unsafe: bool
    verbose: int

    def policy(self) -> Policy:
        """The policy file (if any) with the command-line rules on top."""
        from endorse.client.policy import DEFAULT_POLICY_FILE, Policy, parse_level

        path = self.policy_file
        if path is None and DEFAULT_POLICY_FILE.expanduser().exists():
            path = DEFAULT_POLICY_FILE.expanduser()
        policy = Policy.from_file(path) if path is not None else Policy()
        level = parse_level(self.min_trust, "--min-trust") if self.min_trust else None
        return policy.with_options(
            min_trust=level,
            claimed_only=self.claimed_only,
            require_developer_signed=self.require_developer_signed,
        )

    def verified_index(self, refresh_interval: float = 60.0) -> VerifiedIndex:
        """The verified view of the upstream (not refreshed yet)."""
        from endorse.client.resolver import VerifiedIndex
        from endorse.client.updater import ClientCache, RootPin, Upstream

        upstream = Upstream.parse(self.index)
        pin = RootPin(self.root, self.root_sha256, self.trust_on_first_use)
        return VerifiedIndex(
            upstream,
            ClientCache.for_upstream(upstream, self.cache_dir),
            pin,
            refresh_interval=refresh_interval,
        )


def client_options(
    *, unsafe: bool = True, set_up_logging: bool = True
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """The shared options, gathered into one ``ClientOptions`` argument ``opts``.

    ``set_up_logging=False`` leaves ``setup_logging(opts.verbose)`` to the
    command (``endorse install`` calls it once the installer runs).
    """

    def decorate(func: Callable[..., R]) -> Callable[..., R]:
        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> R:
            opts = ClientOptions(
                index=kwargs.pop("index"),
                root=kwargs.pop("root"),
                root_sha256=kwargs.pop("root_sha256"),
                trust_on_first_use=kwargs.pop("trust_on_first_use"),
                cache_dir=kwargs.pop("cache_dir"),
                policy_file=kwargs.pop("policy_file"),
                min_trust=kwargs.pop("min_trust"),
                require_developer_signed=kwargs.pop("require_developer_signed"),
                claimed_only=kwargs.pop("claimed_only"),
                unsafe=kwargs.pop("unsafe", False),
                verbose=kwargs.pop("verbose"),
            )
            if set_up_logging:
                from endorse.cli._console import setup_logging

                setup_logging(opts.verbose)
            return func(opts=opts, **kwargs)

        options = [
            click.option(
                "--index",
                envvar="ENDORSE_INDEX_URL",
                required=True,
                help="The index, or a mirror of it [env ENDORSE_INDEX_URL].",
            ),
            click.option(
                "--root",
                type=click.Path(dir_okay=False, exists=True, path_type=Path),
                help="Pin this root.json (from the index's operators).",
            ),
            click.option(
                "--root-sha256",
                metavar="HEX",
                help="Pin the root by its SHA-256 (printed by `endorse serve`).",
            ),
            click.option(
                "--trust-on-first-use",
                is_flag=True,
                help="Trust whatever root the index serves first (NOT SAFE: no pin at all).",
            ),
            click.option(
                "--cache-dir",
                envvar="ENDORSE_CLIENT_CACHE",
                type=click.Path(file_okay=False, path_type=Path),
                help="Client cache [env ENDORSE_CLIENT_CACHE; default ~/.cache/endorse].",
            ),
            click.option(
                "--policy",
                "policy_file",
                envvar="ENDORSE_CLIENT_POLICY",
                type=click.Path(dir_okay=False, exists=True, path_type=Path),
                help="Policy file [env ENDORSE_CLIENT_POLICY; default "
                "~/.config/endorse/client.toml if it exists].",
            ),
            click.option(
                "--min-trust",
                metavar="LEVEL",
                help="Minimum trust level for every file: 1-4 or a name (developer-signed).",
            ),
            click.option(
                "--require-developer-signed",
                metavar="PROJECT",
                multiple=True,
                help="This project's files must be developer-signed (level 3). Repeatable.",
            ),
            click.option(
                "--claimed-only",
                is_flag=True,
                help="Only projects under the offline-signed claimed role.",
            ),
            click.option("-v", "--verbose", count=True, help="More logging (-vv for debug)."),
        ]
        if unsafe:
            options.append(
                click.option(
                    "--unsafely-disable-package-verification",
                    "unsafe",
                    is_flag=True,
                    help="Pass everything through UNVERIFIED (PEP 458's escape hatch).",
                )
            )
        decorated: Callable[..., R] = wrapper
        for option in reversed(options):
            decorated = option(decorated)
        return decorated

    return decorate
