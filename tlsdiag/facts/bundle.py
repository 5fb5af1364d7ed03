"""Facts of ``bundle`` (what was run and written, with the environment block of ``env.json``)
and ``bundle show`` (a bundle's summary and its manifest check)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast

if TYPE_CHECKING:
    from tlsdiag.facts.machine import MachineFacts
    from tlsdiag.facts.proxy import EventFacts
    from tlsdiag.model import Report

# The platform's proxy settings as read (``source``, ``mode`` and, by platform, ``http``,
# ``https``, ``pac_url``, ``wpad``, ``exceptions``, ``server``, or any scheme the Windows
# ``ProxyServer`` value names): the keys vary, so this stays a plain mapping.
PlatformProxyFacts = dict[str, Any]


class StepFacts(TypedDict):
    """One step of the bundle run (``core.bundle.Step.to_dict``)."""

    step: str
    status: str  # ok | failed | skipped | not run
    detail: str
    seconds: float


class EnvOsFacts(TypedDict):
    """The operating system."""

    system: str
    release: str
    version: str
    name: str
    arch: str


class EnvVersionsFacts(TypedDict):
    """tlsdiag, Python and OpenSSL versions."""

    tlsdiag: str
    python: str
    python_implementation: str
    openssl: str


class EnvTimeFacts(TypedDict):
    """The time of the run, UTC and local, and the time zone."""

    utc: str
    local: str
    time_zone: str
    utc_offset: str
    tz_env: str


class EnvProxyFacts(TypedDict):
    """Proxy variables set (credentials masked) and the platform's proxy settings."""

    environment: dict[str, str]
    platform: list[PlatformProxyFacts]


class ResolvConfFacts(TypedDict):
    """``nameserver``, ``search`` and ``options`` lines of ``/etc/resolv.conf``."""

    nameservers: list[str]
    search: list[str]
    options: list[str]


class DnsFacts(TypedDict):
    """Where the resolvers were read, and them (or why they could not be read)."""

    source: str
    error: NotRequired[str]
    nameservers: NotRequired[list[str]]
    search: NotRequired[list[str]]
    options: NotRequired[list[str]]


class ClockFacts(TypedDict):
    """This clock minus a server's ``Date`` header (``core.environment.clock_skew``), or a note
    that no server's Date header was seen."""

    skew_seconds: int | None
    host: NotRequired[str]
    server_date: NotRequired[str]
    local_utc: NotRequired[str]
    precision: NotRequired[str]
    note: NotRequired[str]


class EnvEventsFacts(TypedDict):
    """``--events``: the file, how many events it holds and the last ones."""

    file: str
    count: int
    events: list[EventFacts]


class EnvironmentFacts(TypedDict):
    """``env.json`` (``stores.environment.collect_environment``, then the clock skew and the
    embedded proxy's events and policy added by the command)."""

    machine: MachineFacts
    os: EnvOsFacts
    versions: EnvVersionsFacts
    time: EnvTimeFacts
    proxy: EnvProxyFacts
    dns: DnsFacts
    clock: NotRequired[ClockFacts]
    proxy_events: NotRequired[EnvEventsFacts | None]  # None: the step failed
    proxy_policy: NotRequired[dict[str, Any] | None]  # file + ``proxy.policy.policy_summary``


class BundleEnvironmentFacts(TypedDict):
    """The part of ``env.json`` the bundle report carries (None: the environment step failed)."""

    os: EnvOsFacts | None
    versions: EnvVersionsFacts | None
    time: EnvTimeFacts | None
    clock: ClockFacts | None
    proxy: EnvProxyFacts | None


class BundleFacts(TypedDict):
    """``bundle HOST...``: the note, hosts, steps and environment; the command's result adds
    where the zip was written, one verdict line per report and the files in it."""

    note: str
    hosts: list[str]
    command_line: str
    steps: list[StepFacts]
    failed_steps: list[str]
    compare: StepFacts  # the compare steps in one line
    environment: BundleEnvironmentFacts
    output: NotRequired[str]
    verdicts: NotRequired[list[str]]
    files: NotRequired[list[str]]


class BundleFileFacts(TypedDict):
    """One file of the manifest."""

    name: str
    size: int | None
    sha256: str | None


class BundleShowFacts(TypedDict):
    """``bundle show FILE.zip``: who made it and when, the hosts, note, steps and verdicts it
    records, the manifest's files and whether every sha256 matches."""

    created_at: str | None
    made_by: str
    hosts: list[str]
    note: str
    steps: list[StepFacts]
    verdicts: list[str]
    files: list[BundleFileFacts]
    manifest_ok: bool
    problems: list[str]


def bundle_facts(report: Report) -> BundleFacts:
    """The typed facts of a ``bundle`` report."""
    return cast("BundleFacts", report.facts)


def bundle_show_facts(report: Report) -> BundleShowFacts:
    """The typed facts of a ``bundle show`` report."""
    return cast("BundleShowFacts", report.facts)
