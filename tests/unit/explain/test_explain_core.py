"""tlsdiag.core.explain: ranking with and without inspection, hosts, no-TLS texts, shared words."""

from __future__ import annotations

import pytest

from tlsdiag import codes
from tlsdiag.core.explain.engine import explain, explanation_for_code, explanation_text
from tlsdiag.core.explain.hosts import split_host
from tlsdiag.core.explain.suggest import suggest
from tlsdiag.kb.findings import finding_info

LOCAL_ISSUER = "curl: (60) SSL certificate problem: unable to get local issuer certificate"


def top(text: str, n: int = 3, **kw: object) -> list[str]:
    return [c.code for c in explain(text, **kw).causes[:n]]  # type: ignore[arg-type]


# ---------------------------------------------------------------- the seed workflow's symptoms
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Your connection is not private", {"client.root_not_trusted"}),
        ("Secure connection failed", {"network.reset", "legacy.protocol_version"}),
        ("ERR_SSL_PROTOCOL_ERROR", {"legacy.protocol_version", "network.reset"}),
        ("ERR_SSL_VERSION_OR_CIPHER_MISMATCH", {"legacy.protocol_version", "legacy.cipher_suite"}),
        ("ERR_EMPTY_RESPONSE", {"network.reset", "policy.blocked"}),
        ("ERR_CONNECTION_CLOSED", {"network.reset"}),
        ("400 Bad Request\nNo required SSL certificate was sent\nnginx", {"app.mutual_tls"}),
        ("Certificate not trusted", {"client.root_not_trusted"}),
        ("connection not secure", {"client.root_not_trusted"}),
        ("Connection reset by peer", {"network.reset"}),
        (
            "curl: (90) SSL: public key does not match pinned public key",
            {"app.certificate_pinning"},
        ),
        (
            "curl: (60) SSL: no alternative certificate subject name matches target"
            " host name 'a.b'",
            {"server.hostname_mismatch"},
        ),
        ("verify error:num=21:unable to verify the first certificate", {"server.chain_incomplete"}),
        ("TLS Error Description: certificate unknown", {"client.root_not_trusted"}),
        (
            "curl: (35) error:0A00042E:SSL routines::tlsv1 alert protocol version",
            {"legacy.protocol_version"},
        ),
    ],
)
def test_every_seed_symptom_is_recognised(text: str, expected: set[str]) -> None:
    result = explain(text)
    assert result.recognised
    assert expected & set(top(text)), (text, top(text))


# ---------------------------------------------------------------- inspection context
def test_local_issuer_without_context_lists_both_readings_chain_first() -> None:
    result = explain(LOCAL_ISSUER)
    ranked = [c.code for c in result.causes]
    assert ranked[0] == codes.SERVER_CHAIN_INCOMPLETE
    assert codes.CLIENT_ROOT_NOT_TRUSTED in ranked[:3]
    root = next(c for c in result.causes if c.code == codes.CLIENT_ROOT_NOT_TRUSTED)
    assert "--inspected" in root.why
    assert result.context.inspected is None


def test_local_issuer_with_an_inspection_vendor_in_the_text_ranks_the_root_first() -> None:
    text = LOCAL_ISSUER + "\n*  issuer: C=US; O=Zscaler Inc.; CN=Zscaler Intermediate Root CA"
    result = explain(text)
    assert result.context.inspected is True
    assert result.context.vendors == ("Zscaler",)
    assert result.causes[0].code == codes.CLIENT_ROOT_NOT_TRUSTED
    assert "Zscaler" in result.causes[0].why
    # The other reading is still listed, lower.
    assert codes.SERVER_CHAIN_INCOMPLETE in [c.code for c in result.causes]


def test_the_user_can_say_inspected_or_not() -> None:
    assert top(LOCAL_ISSUER, 1, inspected=True) == [codes.CLIENT_ROOT_NOT_TRUSTED]
    assert top(LOCAL_ISSUER, 1, inspected=False) == [codes.SERVER_CHAIN_INCOMPLETE]
    said = explain(LOCAL_ISSUER, inspected=True)
    assert said.context.source == "option"
    assert "you said" in said.causes[0].why
    # --not-inspected wins over a vendor name in the text.
    text = LOCAL_ISSUER + "\nissuer: O=Netskope Inc, CN=ca.corp.goskope.com"
    assert top(text, 1, inspected=False) == [codes.SERVER_CHAIN_INCOMPLETE]
    assert top(text, 1) == [codes.CLIENT_ROOT_NOT_TRUSTED]


def test_self_signed_in_chain_behind_a_proxy_counts_as_inspection() -> None:
    text = (
        "* Uses proxy env variable https_proxy == 'http://proxy.corp.example:8080'\n"
        "curl: (60) SSL certificate problem: self-signed certificate in certificate chain"
    )
    result = explain(text)
    assert result.context.inspected is True and result.context.proxy_seen
    assert result.causes[0].code == codes.CLIENT_ROOT_NOT_TRUSTED
    # Same message without a proxy: no inspection is assumed.
    alone = explain(text.splitlines()[1])
    assert alone.context.inspected is None


def test_a_proxy_alone_is_not_inspection() -> None:
    text = (
        "* Uses proxy env variable https_proxy == 'http://p:3128'\ncurl: (6) "
        "Could not resolve host: x.example"
    )
    result = explain(text)
    assert result.context.proxy_seen and result.context.inspected is None
    assert result.causes[0].code == codes.NETWORK_DNS_FAILURE


# ---------------------------------------------------------------- ranking details
def test_specific_reason_beats_the_generic_exit_status() -> None:
    assert top("curl: (60) SSL certificate problem: certificate has expired", 1) == [
        codes.SERVER_CERT_EXPIRED
    ]
    assert top("curl: (35) OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to a.b:443", 1) == [
        codes.NETWORK_RESET
    ]


def test_go_expired_or_not_yet_valid_reads_the_direction() -> None:
    before = (
        "x509: certificate has expired or is not yet valid: current time "
        "2019-01-01T00:00:00Z is before 2026-01-01T00:00:00Z"
    )
    after = (
        "x509: certificate has expired or is not yet valid: current time "
        "2027-01-01T00:00:00Z is after 2026-06-01T00:00:00Z"
    )
    assert set(top(before, 2)) == {codes.SERVER_CERT_NOT_YET_VALID, codes.CLIENT_CLOCK_SKEW}
    assert top(after, 1) == [codes.SERVER_CERT_EXPIRED]


def test_scores_are_ranked_and_bounded() -> None:
    result = explain(LOCAL_ISSUER)
    scores = [c.score for c in result.causes]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)


def test_matches_name_the_client_line_and_excerpt() -> None:
    text = (
        'Traceback (most recent call last):\n  File "x.py", line '
        "1\nrequests.exceptions.SSLError: HTTPSConnectionPool(host='pypi.org', "
        "port=443): Max retries exceeded (Caused by "
        "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED]"
        " certificate verify failed: self-signed certificate in certificate "
        "chain (_ssl.c:1006)')))"
    )
    result = explain(text)
    by_pattern = {m.pattern: m for m in result.matches}
    m = by_pattern["openssl-verify-19-self-signed-in-chain"]
    assert m.line == 3 and m.client == "openssl" and "self-signed" in m.excerpt
    assert by_pattern["python-requests-sslerror"].client_name.startswith("Python")
    assert result.host == "pypi.org" and result.port == 443
    assert result.causes[0].check == "tlsdiag trust --from-host pypi.org"


def test_a_large_public_service_makes_server_side_causes_less_likely() -> None:
    public = explain(
        "npm ERR! request to https://registry.npmjs.org/react failed, reason: unable to get "
        "local issuer certificate"
    )
    private = explain(
        "npm ERR! request to https://npm.intranet.example/react failed, reason: unable to get "
        "local issuer certificate"
    )
    assert public.public_host and not private.public_host
    assert public.causes[0].code in {codes.CLIENT_STORE_MISMATCH, codes.CLIENT_ROOT_NOT_TRUSTED}
    chain = {c.code: c for c in public.causes}[codes.SERVER_CHAIN_INCOMPLETE]
    assert "registry.npmjs.org is a large public service" in chain.why
    assert chain.score < {c.code: c for c in private.causes}[codes.SERVER_CHAIN_INCOMPLETE].score


# ---------------------------------------------------------------- hosts
@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("curl: (6) Could not resolve host: intranet.example.com", "intranet.example.com", None),
        (
            "* Connected to api.example.com (10.0.0.1) port 8443\ncurl: (52) Empty "
            "reply from server",
            "api.example.com",
            8443,
        ),
        (
            "> CONNECT pypi.org:443 HTTP/1.1\n* Connected to proxy.corp (10.1.1.1) "
            "port 3128\ncurl: (56) Recv failure: Connection reset by peer",
            "pypi.org",
            443,
        ),
        (
            "openssl s_client -connect legacy.example.net:4443 -servername "
            "legacy.example.net\nwrite:errno=104",
            "legacy.example.net",
            4443,
        ),
        (
            "fatal: unable to access 'https://git.example.com/team/repo.git/': SSL "
            "certificate problem: self-signed certificate in certificate chain",
            "git.example.com",
            None,
        ),
        (
            "x509: certificate is valid for *.example.net, example.net, not api.example.com",
            "api.example.com",
            None,
        ),
        (
            "Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match "
            "certificate's altnames: Host: shop.example.com. is not in the cert's "
            "altnames: DNS:www.example.com",
            "shop.example.com",
            None,
        ),
        ("Error: connect ECONNREFUSED 127.0.0.1:8443", "127.0.0.1", 8443),
        (
            "curl: (60) SSL certificate problem: unable to get local issuer "
            "certificate\nMore details here: https://curl.se/docs/sslcerts.html",
            "",
            None,
        ),
        ("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed (_ssl.c:1006)", "", None),
    ],
)
def test_host_is_taken_from_the_text(text: str, host: str, port: int | None) -> None:
    result = explain(text)
    assert (result.host, result.port) == (host, port)
    expected_target = host if port in (None, 443) or not host else f"{host}:{port}"
    assert result.target == expected_target
    check = result.causes[0].check
    assert check.endswith(expected_target or "<host>")


def test_host_option_wins_over_the_text() -> None:
    result = explain("curl: (6) Could not resolve host: a.example", host="https://b.example:8443/x")
    assert result.target == "b.example:8443"
    assert split_host("[2001:db8::1]:443") == ("2001:db8::1", 443)
    assert split_host("Example.COM.") == ("example.com", None)


# ---------------------------------------------------------------- not a TLS error
@pytest.mark.parametrize(
    "text",
    [
        "HTTP/1.1 404 Not Found\nContent-Type: text/html",
        'Traceback (most recent call last):\n  File "calc.py", line 3, in <module>\n'
        "    print(1 / 0)\nZeroDivisionError: division by zero",
        "* SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384\n*  SSL "
        "certificate verify ok.\n< HTTP/2 200",
        "Verify return code: 0 (ok)",
    ],
)
def test_text_without_a_tls_error_is_not_recognised(text: str) -> None:
    result = explain(text)
    assert not result.recognised
    assert result.causes == () and result.matches == ()


def test_near_misses_are_suggested_not_ranked() -> None:
    result = explain("certificate verify faild: unable to get local isuer certificate")
    assert not result.recognised and result.causes == ()
    assert result.suggestions
    assert "issuer" in result.suggestions[0].example
    assert suggest("HTTP/1.1 404 Not Found") == ()


def test_a_successful_inspected_transcript_reports_the_context_but_no_cause() -> None:
    text = (
        "*  issuer: O=Zscaler Inc.; CN=Zscaler Intermediate Root CA\n*  SSL "
        "certificate verify ok.\n< HTTP/1.1 200 OK"
    )
    result = explain(text)
    assert not result.recognised
    assert result.context.inspected is True and result.context.vendors == ("Zscaler",)


# ---------------------------------------------------------------- shared words with check
def test_explanation_for_code_uses_the_words_of_findings_toml() -> None:
    for code in codes.ALL_CODES:
        ex = explanation_for_code(code, "example.com")
        info = finding_info(code)
        assert (ex.title, ex.meaning, ex.next_step) == (info.title, info.meaning, info.next_step)
        assert ex.check.startswith("tlsdiag ") and ex.check.endswith("example.com")
        assert ex.inspection
    text = explanation_text(codes.SERVER_CHAIN_INCOMPLETE)
    assert finding_info(codes.SERVER_CHAIN_INCOMPLETE).meaning in text
    assert "tlsdiag check <host>" in text
    with pytest.raises(KeyError):
        explanation_for_code("no.such_code")


def test_ranked_causes_carry_the_shared_words() -> None:
    for cause in explain(LOCAL_ISSUER).causes:
        info = finding_info(cause.code)
        assert cause.title == info.title and cause.next == info.next_step
        assert cause.meaning == info.meaning


# ---------------------------------------------------------------- size and speed
COMPILED_BOUND = 12  # 4 today: the log's own lines plus the few patterns its words reach


def test_a_large_log_tries_only_the_regexes_its_needles_allow() -> None:
    # Not timed (bench/bench_explain.py times it): the needle prefilter must keep the work
    # bounded, so count the regexes compiled for a 1 MB log instead of the seconds.
    from tlsdiag.kb.explain import _compile, explain_kb

    noise = "2026-11-21T10:00:00Z INFO request served in 12 ms path=/api/v1/items status=200\n"
    text = noise * 12000 + LOCAL_ISSUER + "\n" + noise * 100  # about 1 MB
    explain(LOCAL_ISSUER)  # load the knowledge base first
    _compile.cache_clear()
    result = explain(text)
    assert result.recognised and result.matches[0].line == 12001
    compiled = _compile.cache_info().currsize
    assert 0 < compiled <= COMPILED_BOUND, compiled
    assert compiled * 10 < len(explain_kb().raw_patterns)


def test_a_warm_explanation_compiles_nothing_new() -> None:
    from tlsdiag.kb.explain import _compile

    explain(LOCAL_ISSUER)
    misses = _compile.cache_info().misses
    for _ in range(5):
        explain(LOCAL_ISSUER)
    assert _compile.cache_info().misses == misses
