"""`tcp` and `tls` checks against local listeners and self-signed certificates made with openssl."""

from __future__ import annotations

from datetime import timedelta

from warroom.monitors.checks.x509 import parse_der


def test_tcp_up_when_the_port_accepts(check, target):
    outcome = check(type="tcp", host="127.0.0.1", port=target.port)
    assert outcome.status == "up"
    assert outcome.message == f"127.0.0.1:{target.port} accepts connections"


def test_tcp_down_when_nothing_listens(check, closed_port):
    outcome = check(type="tcp", host="127.0.0.1", port=closed_port)
    assert outcome.status == "down"
    assert "ConnectionRefusedError" in outcome.message


def test_tls_reports_days_left_then_warns_then_fails_as_expiry_nears(check, target, real_now):
    definition = dict(type="tls", host="127.0.0.1", server_name="localhost", port=target.tls_port, verify_tls=False)
    outcome = check(**definition, warn_days=14, fail_days=3)
    assert outcome.status == "up"
    assert outcome.message == "certificate valid for 30 more days"
    assert outcome.details["names"] == ["localhost", "127.0.0.1"]
    real_now.advance(days=20)
    outcome = check(**definition, warn_days=14, fail_days=3)
    assert (outcome.status, outcome.message) == ("warn", "certificate expires in 10.0 days (warn at 14)")
    real_now.advance(days=8)
    outcome = check(**definition, warn_days=14, fail_days=3)
    assert (outcome.status, outcome.message) == ("down", "certificate expires in 2.0 days (fail at 3)")
    real_now.advance(days=3)
    assert check(**definition).message == "certificate expired 1.0 days ago"


def test_tls_hostname_mismatch_is_down(check, target, real_now):
    outcome = check(
        type="tls", host="127.0.0.1", server_name="checkout.example.com", port=target.tls_port, verify_tls=False
    )
    assert outcome.status == "down"
    assert outcome.message == "certificate is for localhost, 127.0.0.1, not checkout.example.com"


def test_tls_with_verification_trusts_the_given_ca_file(check, target, certificate, real_now):
    definition = dict(type="tls", host="localhost", port=target.tls_port)
    untrusted = check(**definition)
    assert untrusted.status == "down"
    assert "self-signed" in untrusted.message or "verify" in untrusted.message
    assert check(**definition, ca_file=str(certificate[0])).status == "up"


def test_der_reader_matches_openssl(tmp_path, make_cert):
    import ssl
    import subprocess

    cert, _key = make_cert(tmp_path, days=7, names="DNS:*.example.com,DNS:example.com,IP:10.0.0.1")
    parsed = parse_der(ssl.PEM_cert_to_DER_cert(cert.read_text()))
    end = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-enddate"], capture_output=True, text=True)
    assert parsed.not_after.strftime("%b %e %H:%M:%S %Y GMT").replace("  ", " ") in end.stdout.replace("  ", " ")
    assert parsed.not_after - parsed.not_before == timedelta(days=7)
    assert parsed.dns_names == ("*.example.com", "example.com")
    assert parsed.matches("api.example.com") and parsed.matches("example.com") and parsed.matches("10.0.0.1")
    assert not parsed.matches("a.b.example.com") and not parsed.matches("example.org")
