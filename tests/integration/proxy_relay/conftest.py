"""Fixtures of the proxy's relay tests: the PKI, a trustme origin (TLS and plain), the lab's
broken servers, their ``--resolve`` rules and a factory of in-process proxies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tlsdiag.lab.cases import Lab
from tlsdiag.proxy.ca import init_ca
from tlsdiag.proxy.listener import ProxyConfig, ResolveTo, RunningProxy
from tlsdiag.proxy.policy import Policy, default_policy

from helpers.relay_rig import LAB_CASES, Origin, ProxyFactory, origin_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("proxy")
    ca = init_ca(d / "ca")
    ctx, origin_ca = origin_pki(d)
    return {"dir": d, "ca": ca, "origin_ca": origin_ca, "origin_ctx": ctx}


@pytest.fixture(scope="module")
def origin(pki: dict[str, Any]) -> Iterator[Origin]:
    o = Origin(pki["origin_ctx"])
    yield o
    o.close()


@pytest.fixture(scope="module")
def plain_origin() -> Iterator[Origin]:
    o = Origin(None)
    yield o
    o.close()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with Lab(names=LAB_CASES) as running:
        yield running


@pytest.fixture(scope="module")
def resolve(lab: Lab, origin: Origin, plain_origin: Origin) -> tuple[ResolveTo, ...]:
    rules = [ResolveTo(c.spec.host, c.port, ("127.0.0.1",)) for c in lab.cases.values()]
    rules.append(ResolveTo("origin.test", origin.port, ("127.0.0.1",)))
    rules.append(ResolveTo("plain.test", plain_origin.port, ("127.0.0.1",)))
    return tuple(rules)


@pytest.fixture
def start_proxy(
    pki: dict[str, Any], lab: Lab, resolve: tuple[ResolveTo, ...], tmp_path: Path
) -> Iterator[ProxyFactory]:
    running: list[RunningProxy] = []

    def start(policy: Policy | None = None, **kw: Any) -> RunningProxy:
        kw.setdefault("resolve", resolve)
        kw.setdefault("upstream_cafiles", (lab.root_pem_path, pki["origin_ca"]))
        kw.setdefault("events_path", tmp_path / f"events-{len(running)}.jsonl")
        cfg = ProxyConfig(ca=pki["ca"], policy=policy or default_policy(), port=0, **kw)
        p = RunningProxy(cfg)
        p.start()
        running.append(p)
        return p

    yield start
    for p in running:
        p.stop()
