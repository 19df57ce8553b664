"""Client commands: ``endorse proxy``, ``endorse install`` and ``endorse verify``.

The index comes from ``--index`` / ``ENDORSE_INDEX_URL`` (the index itself or
any mirror of its ``/tuf/`` tree), the client cache from ``--cache-dir`` /
``ENDORSE_CLIENT_CACHE`` (default ``~/.cache/endorse``), the policy from
``--policy`` / ``ENDORSE_CLIENT_POLICY`` (default
``~/.config/endorse/client.toml`` when it exists) plus the policy options.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from endorse.cli._console import ExitCode, err, exit_now, setup_logging
from endorse.client.errors import (
    NoTrustedRoot,
    PolicyNotMet,
    UpstreamUnavailable,
    VerificationFailed,
)
from endorse.client.install import Installer, InstallResult, run_install
from endorse.errors import ConfigError, EndorseError

if TYPE_CHECKING:
    # The verifying side is imported when a command needs it: `endorse install`
    # starts the installer first (see endorse.client.install.run_install).
    from endorse.client.policy import Policy
    from endorse.client.proxy import ProxyApp, Refusal
    from endorse.client.resolver import VerifiedIndex, VerifiedTarget
    from endorse.client.verify import Check

P = ParamSpec("P")
R = TypeVar("R")

_LEVEL_STYLE = {1: "yellow", 2: "yellow", 3: "green", 4: "bold green"}
_UNSAFE_WARNING = (
    "[bold red]PACKAGE VERIFICATION IS DISABLED[/] (--unsafely-disable-package-verification): "
    "listings and files are passed through from {url} as they come, with no signature, "
    "hash, version or expiry check and no policy. A mirror, the network or a compromised "
    "index can make you install anything."
)


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


def client_options(*, unsafe: bool = True) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """The shared options, gathered into one ``ClientOptions`` argument ``opts``."""

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


def reports_refusals(func: Callable[P, R]) -> Callable[P, R]:
    """Refusals exit 3, other errors 1, each with its message and hint."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (VerificationFailed, PolicyNotMet) as e:
            _print_error("endorse", e)
            raise SystemExit(ExitCode.REFUSED) from None
        except ConfigError as e:
            _print_error("error", e)
            raise SystemExit(ExitCode.USAGE) from None
        except EndorseError as e:
            _print_error("error", e)
            raise SystemExit(ExitCode.ERROR) from None
        except KeyboardInterrupt:
            err.print("interrupted")
            raise SystemExit(ExitCode.INTERRUPTED) from None

    return wrapper


def _print_error(label: str, error: EndorseError) -> None:
    err.print(f"[bold red]{label}:[/] {escape(error.message)}", highlight=False)
    if error.hint:
        err.print(f"[bold]hint:[/] {escape(error.hint)}", highlight=False)
    logging.getLogger(__name__).debug("traceback", exc_info=True)


def _announce(opts: ClientOptions, index: VerifiedIndex) -> None:
    if opts.unsafe:
        err.print(Panel(_UNSAFE_WARNING.format(url=index.upstream.url), border_style="red"))
    elif opts.trust_on_first_use and not index.cache.has_root():
        err.print(
            Panel(
                "[bold red]TRUST ON FIRST USE[/]: the root metadata is taken from "
                f"{index.upstream.url} with no check that it is the real index's. Whoever "
                "answers this first request decides what you install from now on. Pin the "
                "root instead (--root or --root-sha256) when you can.",
                border_style="red",
            )
        )


def _refresh(index: VerifiedIndex) -> None:
    session = index.session()
    status = session.status()
    mode = "[bold yellow]OFFLINE, from the cache[/] " if session.offline else ""
    err.print(
        f"endorse: {mode}verified {escape(index.upstream.url)}: root v{status['root']['version']}, "
        f"timestamp v{status['timestamp']['version']}, snapshot v"
        f"{status['snapshot']['version']} ({escape(index.root_source)})",
        highlight=False,
    )


# -- trust table ---------------------------------------------------------------


def _level_cell(verified: VerifiedTarget) -> str:
    level = int(verified.trust.level)
    style = _LEVEL_STYLE.get(level, "")
    from endorse.client.trust import Source

    if verified.trust.source is Source.RECENTLY_CLAIMED:
        style = "dark_orange"
    return f"[{style}]{level} {verified.trust.label}[/]"


def trust_table(files: Sequence[VerifiedTarget], title: str) -> Table:
    """One row per file: project, file, level and why."""
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("project", no_wrap=True)
    table.add_column("file", overflow="fold")
    table.add_column("trust", no_wrap=True)
    table.add_column("why", overflow="fold")
    for v in sorted(files, key=lambda f: (f.project, f.filename)):
        table.add_row(escape(v.project), escape(v.filename), _level_cell(v), escape(v.trust.reason))
    return table


def _print_refusals(refusals: Sequence[Refusal]) -> None:
    for refusal in refusals:
        label = {"policy": "endorse (policy)", "verification": "endorse"}.get(
            refusal.kind, "endorse (error)"
        )
        text = f"[bold red]{label}:[/] {escape(refusal.message)}"
        if refusal.hint:
            text += f"\n[bold]hint:[/] {escape(refusal.hint)}"
        err.print(Panel(text, border_style="red"), highlight=False)


# -- commands ------------------------------------------------------------------


@click.command()
@client_options()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port", type=int, default=3141, show_default=True, help="Port (0 picks a free one)."
)
@click.option(
    "--refresh-interval",
    type=float,
    default=60.0,
    show_default=True,
    help="Seconds between refreshes of the index's metadata.",
)
@reports_refusals
def proxy(opts: ClientOptions, host: str, port: int, refresh_interval: float) -> None:
    """Run a local verifying index for pip, uv or any PEP 503/691 installer.

    It fetches metadata, listings and files from the index (or a mirror),
    verifies them with TUF, applies the policy, and only then serves them.

    \b
    Example:
      endorse proxy --index https://index.example.org --root-sha256 3f2a...
      pip install --index-url http://127.0.0.1:3141/simple/ requests
    """
    index = opts.verified_index(refresh_interval)
    policy = opts.policy()
    _announce(opts, index)
    if not opts.unsafe:
        try:
            _refresh(index)
        except (VerificationFailed, UpstreamUnavailable) as e:
            if isinstance(e, NoTrustedRoot):
                raise
            _print_error("endorse" if isinstance(e, VerificationFailed) else "error", e)
            err.print("endorse: serving refusals until the metadata verifies", highlight=False)
        for line in policy.describe():
            err.print(f"policy: {line}", highlight=False)
    from endorse.client.proxy import ProxyApp, ProxyServer

    app = ProxyApp(index, policy, unsafe=opts.unsafe)
    server = ProxyServer(app, host, port)
    err.print(f"install with:  pip install --index-url {server.index_url} PROJECT", highlight=False)
    # Tests and scripts read this line to find the port.
    print(f"endorse proxy serving on {server.index_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.close()


@click.command(context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@client_options()
@click.option(
    "--installer",
    type=click.Choice(["pip", "uv"]),
    default="pip",
    show_default=True,
    help="Run `pip install` or `uv pip install`.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
@click.argument("installer_args", nargs=-1, type=click.UNPROCESSED)
@reports_refusals
def install(
    opts: ClientOptions, installer: Installer, as_json: bool, installer_args: tuple[str, ...]
) -> None:
    """Install with pip (or uv) from the index, only what verifies.

    Every argument after endorse's own options goes to the installer
    unchanged (put `--` first if one looks like an endorse option). The
    trust level of each file installed is printed at the end.

    \b
    Example:
      endorse install --index https://index.example.org -r requirements.txt
      endorse install --installer uv --require-developer-signed requests -- requests
    """

    def open_app() -> ProxyApp:
        # Runs while the installer starts up; nothing is served before it returns.
        from endorse.client.proxy import ProxyApp

        policy = opts.policy()
        index = opts.verified_index(refresh_interval=3600.0)
        _announce(opts, index)
        if not opts.unsafe:
            _refresh(index)
        return ProxyApp(index, policy, unsafe=opts.unsafe, log_refusals=False)

    result = run_install(
        open_app,
        installer,
        installer_args,
        unsafe=opts.unsafe,
        stdout=sys.stderr if as_json else None,
    )
    _report_install(result, as_json=as_json, unsafe=opts.unsafe)
    exit_now(ExitCode.REFUSED if result.returncode != 0 and result.refused else result.returncode)


def _report_install(result: InstallResult, *, as_json: bool, unsafe: bool) -> None:
    if result.served:
        title = (
            f"endorse: {len(result.served)} file(s) verified from {result.upstream} "
            f"and served to {result.installer}"
        )
        err.print(trust_table(result.served, title))
    if result.unverified:
        err.print(
            "[bold red]UNVERIFIED[/] files served with verification disabled: "
            + ", ".join(p.rsplit("/", 1)[-1] for p in result.unverified),
            highlight=False,
        )
    _print_refusals(result.refusals)
    if result.returncode != 0 and not result.refusals:
        err.print(
            f"{result.installer} failed (exit {result.returncode}); endorse refused nothing",
            highlight=False,
        )
    if as_json:
        doc = result.to_json()
        doc["verification"] = not unsafe
        _print_json(doc)


@click.command()
@client_options(unsafe=False)
@click.option(
    "-r",
    "--requirement",
    "requirements",
    multiple=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="A requirements file (pinned, ideally with --hash). Repeatable.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable report on stdout.")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False, exists=True, path_type=Path))
@reports_refusals
def verify(
    opts: ClientOptions, requirements: tuple[Path, ...], as_json: bool, files: tuple[Path, ...]
) -> None:
    """Check wheels, sdists or a requirements file against the signed metadata.

    Nothing is installed. Exit 0 when everything verifies and meets the
    policy, 3 when something does not.

    \b
    Example:
      endorse verify --index https://index.example.org dist/*.whl
      endorse verify --index https://index.example.org -r requirements.txt
    """
    if not files and not requirements:
        raise ConfigError("nothing to verify", hint="name files, or -r requirements.txt")
    index = opts.verified_index()
    policy = opts.policy()
    _announce(opts, index)
    _refresh(index)
    from endorse.client.verify import verify_file, verify_requirements

    session = index.session()
    checks: list[Check] = [verify_file(session, f, policy) for f in files]
    for path in requirements:
        checks += verify_requirements(session, path, policy)
    _report_checks(checks, index, as_json)
    if not all(c.ok for c in checks):
        raise SystemExit(ExitCode.REFUSED)


def _report_checks(checks: Sequence[Check], index: VerifiedIndex, as_json: bool) -> None:
    good = [c.verified for c in checks if c.ok and c.verified is not None]
    if good:
        err.print(trust_table(good, f"endorse: verified against {index.upstream.url}"))
    for check in checks:
        if check.error is not None:
            label = "refused by policy" if isinstance(check.error, PolicyNotMet) else "refused"
            text = f"[bold red]{label}:[/] {escape(check.subject)}: {escape(check.error.message)}"
            if check.error.hint:
                text += f"\n[bold]hint:[/] {escape(check.error.hint)}"
            err.print(Panel(text, border_style="red"), highlight=False)
        elif check.note:
            err.print(
                f"[yellow]note:[/] {escape(check.subject)}: {escape(check.note)}", highlight=False
            )
    ok = sum(c.ok for c in checks)
    err.print(f"endorse: {ok} of {len(checks)} verified", highlight=False)
    if as_json:
        _print_json(
            {
                "upstream": index.upstream.url,
                "ok": ok == len(checks),
                "checks": [c.to_json() for c in checks],
            }
        )


def _print_json(doc: dict[str, Any]) -> None:
    # Plain text: scripts read it, and rich's JSON highlighting cost 30 ms a run.
    click.echo(json.dumps(doc, indent=2))


__all__ = ["install", "proxy", "trust_table", "verify"]
