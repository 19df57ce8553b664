"""The verifying client: unmodified pip and uv install only what verifies.

It sees the index only as pip would, over HTTP, through python-tuf's
ngclient; it never imports the index's own code (``repository``, ``storage``).

* :mod:`endorse.client.updater`: ngclient over a per-upstream cache, the root pin
* :mod:`endorse.client.resolver`: a project's verified files and their trust
* :mod:`endorse.client.policy`: the minimum trust level, for all or per project
* :mod:`endorse.client.proxy`: the local verifying index pip and uv use
* :mod:`endorse.client.install`: pip or uv through the proxy
* :mod:`endorse.client.verify`: files or requirements, without installing
"""

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
