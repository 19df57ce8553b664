"""Client commands ``endorse proxy`` and ``endorse verify``, and the client's output.

``endorse install`` lives in :mod:`endorse.cli.install`, which must start light:
it imports this module only once the installer runs.

The index comes from ``--index`` / ``ENDORSE_INDEX_URL`` (the index itself or
any mirror of its ``/tuf/`` tree), the client cache from ``--cache-dir`` /
``ENDORSE_CLIENT_CACHE`` (default ``~/.cache/endorse``), the policy from
``--policy`` / ``ENDORSE_CLIENT_POLICY`` (default
``~/.config/endorse/client.toml`` when it exists) plus the policy options.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table

from endorse.cli._console import err
from endorse.cli._exit import ExitCode, report, reports_errors
from endorse.cli.client_options import ClientOptions, client_options
from endorse.client.errors import (
    NoTrustedRoot,
    PolicyNotMet,
    UpstreamUnavailable,
    VerificationFailed,
)
from endorse.client.proxy import ProxyApp, ProxyServer, Refusal
from endorse.client.resolver import VerifiedIndex, VerifiedTarget
from endorse.client.trust import Source
from endorse.client.verify import Check, verify_file, verify_requirements
from endorse.errors import ConfigError

if TYPE_CHECKING:
    from endorse.client.install import InstallResult

_LEVEL_STYLE = {1: "yellow", 2: "yellow", 3: "green", 4: "bold green"}
_UNSAFE_WARNING = (
    "[bold red]PACKAGE VERIFICATION IS DISABLED[/] (--unsafely-disable-package-verification): "
    "listings and files are passed through from {url} as they come, with no signature, "
    "hash, version or expiry check and no policy. A mirror, the network or a compromised "
    "index can make you install anything."
)


def announce(opts: ClientOptions, index: VerifiedIndex) -> None:
    """Warn loudly about verification disabled or a root trusted on first use."""
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


def refresh(index: VerifiedIndex) -> None:
    """Refresh and verify the index's metadata; say what is now trusted."""
    session = index.session()
    status = session.status()
    mode = "[bold yellow]OFFLINE, from the cache[/] " if session.offline else ""
    err.print(
        f"endorse: {mode}verified {escape(index.upstream.url)}: root v{status['root']['version']}, "
        f"timestamp v{status['timestamp']['version']}, snapshot v"
        f"{status['snapshot']['version']} ({escape(index.root_source)})",
        highlight=False,
    )
    if session.offline:
        err.print(
            f"[bold yellow]endorse: the upstream cannot be reached[/] "
            f"({escape(session.offline_reason)}): installing what was verified earlier, which "
            f"stays valid until {status['timestamp']['expires']}; newer releases are not seen",
            highlight=False,
        )


# -- trust table ---------------------------------------------------------------


def _level_cell(verified: VerifiedTarget) -> str:
    level = int(verified.trust.level)
    style = _LEVEL_STYLE.get(level, "")
    label = f"{level} {verified.trust.level.label}"
    if verified.trust.source is Source.RECENTLY_CLAIMED:
        style = "dark_orange"
        label += "\n(recently claimed)"
    return f"[{style}]{label}[/]"


def trust_table(files: Sequence[VerifiedTarget], title: str) -> Group:
    """One row per file (file, level, who signed), then what each kind of
    signature protects against, once per kind rather than on every row."""
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("file", overflow="fold")
    table.add_column("trust", no_wrap=True)
    table.add_column("signed by", overflow="fold")
    for v in sorted(files, key=lambda f: (f.project, f.filename)):
        signed_by = v.trust.signed_by + v.trust.note
        table.add_row(escape(v.filename), _level_cell(v), escape(signed_by))
    shown = {v.trust.source for v in files}
    legend = [
        f"  [bold]{source.value}[/]: {escape(source.meaning)}"
        for source in (Source.CLAIMED, Source.RECENTLY_CLAIMED, Source.INDEX_SIGNED)
        if source in shown
    ]
    return Group(table, *legend)


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
@reports_errors
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
    announce(opts, index)
    if not opts.unsafe:
        try:
            refresh(index)
        except (VerificationFailed, UpstreamUnavailable) as e:
            if isinstance(e, NoTrustedRoot):
                raise
            report(e)
            err.print("endorse: serving refusals until the metadata verifies", highlight=False)
        for line in policy.describe():
            err.print(f"policy: {line}", highlight=False)
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


def report_install(result: InstallResult, *, as_json: bool, unsafe: bool) -> None:
    """The trust table, refusals and (``--json``) the report of ``endorse install``."""
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
    where = result.environment.describe() if result.environment else f"{result.installer}'s choice"
    err.print(f"endorse: {result.installer} installed into {escape(where)}", highlight=False)
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
@reports_errors
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
    announce(opts, index)
    refresh(index)
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


__all__ = ["announce", "proxy", "refresh", "report_install", "trust_table", "verify"]
