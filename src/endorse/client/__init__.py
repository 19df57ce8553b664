"""The verifying client: unmodified pip and uv install only what verifies.

It sees the index only as pip would, over HTTP, through python-tuf's
ngclient and its own delegation walk; it never imports the index's own code
(``repository``, ``storage``).

* :mod:`endorse.client.delegations`: target lookups that verify each role along their own path
* :mod:`endorse.client.view`: one refreshed view of any TUF repository (ngclient + the walk)
* :mod:`endorse.client.conformance`: the TUF conformance suite's client protocol
* :mod:`endorse.client.updater`: ngclient over a per-upstream cache, the root pin
* :mod:`endorse.client.resolver`: a project's verified files and their trust
* :mod:`endorse.client.policy`: the minimum trust level, for all or per project
* :mod:`endorse.client.proxy`: the local verifying index pip and uv use
* :mod:`endorse.client.install`: pip or uv through the proxy
* :mod:`endorse.client.verify`: files or requirements, without installing

The names below are imported on first use (PEP 562): ``endorse install``
starts the installer before it imports the verifying side (python-tuf,
securesystemslib and, through it, boto3 take ~0.3 s to import).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from endorse.client.errors import (
        NoTrustedRoot,
        PolicyNotMet,
        UpstreamUnavailable,
        VerificationFailed,
    )
    from endorse.client.install import InstallResult, run_install
    from endorse.client.policy import Policy, Rule
    from endorse.client.proxy import Activity, ProxyApp, ProxyServer, Refusal
    from endorse.client.resolver import IndexSession, ProjectView, VerifiedIndex, VerifiedTarget
    from endorse.client.trust import FileTrust, Source
    from endorse.client.updater import ClientCache, RootPin, Upstream
    from endorse.client.verify import Check, verify_file, verify_requirements

_MODULE_OF = {
    "NoTrustedRoot": "endorse.client.errors",
    "PolicyNotMet": "endorse.client.errors",
    "UpstreamUnavailable": "endorse.client.errors",
    "VerificationFailed": "endorse.client.errors",
    "InstallResult": "endorse.client.install",
    "run_install": "endorse.client.install",
    "Policy": "endorse.client.policy",
    "Rule": "endorse.client.policy",
    "Activity": "endorse.client.proxy",
    "ProxyApp": "endorse.client.proxy",
    "ProxyServer": "endorse.client.proxy",
    "Refusal": "endorse.client.proxy",
    "IndexSession": "endorse.client.resolver",
    "ProjectView": "endorse.client.resolver",
    "VerifiedIndex": "endorse.client.resolver",
    "VerifiedTarget": "endorse.client.resolver",
    "FileTrust": "endorse.client.trust",
    "Source": "endorse.client.trust",
    "ClientCache": "endorse.client.updater",
    "RootPin": "endorse.client.updater",
    "Upstream": "endorse.client.updater",
    "Check": "endorse.client.verify",
    "verify_file": "endorse.client.verify",
    "verify_requirements": "endorse.client.verify",
}

__all__ = [
    "Activity",
    "Check",
    "ClientCache",
    "FileTrust",
    "IndexSession",
    "InstallResult",
    "NoTrustedRoot",
    "Policy",
    "PolicyNotMet",
    "ProjectView",
    "ProxyApp",
    "ProxyServer",
    "Refusal",
    "RootPin",
    "Rule",
    "Source",
    "Upstream",
    "UpstreamUnavailable",
    "VerificationFailed",
    "VerifiedIndex",
    "VerifiedTarget",
    "run_install",
    "verify_file",
    "verify_requirements",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
