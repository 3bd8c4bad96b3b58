"""Just enough X.509 (DER) to read a certificate's expiry and names without a crypto library.

`ssl` only decodes a peer certificate when it also verified it; a monitor must read the expiry of
self-signed and already-expired certificates too, so it reads the DER itself.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from datetime import UTC, datetime

_SAN_OID = bytes.fromhex("551d11")  # 2.5.29.17 subjectAltName
_CN_OID = bytes.fromhex("550403")  # 2.5.4.3 commonName


class CertificateError(ValueError):
    """The bytes are not a certificate this reader understands."""


@dataclass(frozen=True)
class Certificate:
    """The parts of a certificate a health check looks at."""

    not_before: datetime
    not_after: datetime
    common_name: str | None = None
    dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = field(default=())

    def days_left(self, now: datetime) -> float:
        """Days until expiry (negative once expired)."""
        return (self.not_after - now).total_seconds() / 86400

    def matches(self, hostname: str) -> bool:
        """True when the certificate is valid for `hostname` (RFC 6125: SANs, one leftmost wildcard label)."""
        host = hostname.rstrip(".").lower()
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None:
            return any(ipaddress.ip_address(ip) == address for ip in self.ip_addresses)
        names = self.dns_names or ((self.common_name,) if self.common_name else ())
        return any(_dns_match(name.lower().rstrip("."), host) for name in names)

    def names(self) -> list[str]:
        """Every name the certificate covers (for messages)."""
        return [*self.dns_names, *self.ip_addresses] or ([self.common_name] if self.common_name else [])


def _dns_match(pattern: str, host: str) -> bool:
    if pattern == host:
        return True
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:] and "." in rest
    return False


def _read(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the TLV at `pos`."""
    if pos + 2 > len(data):
        raise CertificateError("truncated certificate")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise CertificateError("unsupported length in certificate")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise CertificateError("truncated certificate")
    return tag, pos, pos + length


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int]]:
    items, pos = [], start
    while pos < end:
        tag, vstart, vend = _read(data, pos)
        items.append((tag, vstart, vend))
        pos = vend
    return items


def _time(tag: int, raw: bytes) -> datetime:
    text = raw.decode("ascii")
    if tag == 0x17:  # UTCTime: YYMMDDHHMMSSZ, years 50-99 are 19xx
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18:
        raise CertificateError("unknown time format in certificate")
    return datetime.strptime(text.rstrip("Z")[:14], "%Y%m%d%H%M%S").replace(tzinfo=UTC)


def parse_der(data: bytes) -> Certificate:
    """Read validity, subject CN and subjectAltName from a DER certificate."""
    tag, start, _end = _read(data, 0)
    if tag != 0x30:
        raise CertificateError("not a DER certificate")
    tag, tbs_start, tbs_end = _read(data, start)
    fields = _children(data, tbs_start, tbs_end)
    if fields and fields[0][0] == 0xA0:  # explicit version
        fields = fields[1:]
    if len(fields) < 6:
        raise CertificateError("certificate is missing fields")
    _serial, _algorithm, _issuer, validity, subject, _key, *rest = fields
    times = _children(data, validity[1], validity[2])
    not_before = _time(times[0][0], data[times[0][1] : times[0][2]])
    not_after = _time(times[1][0], data[times[1][1] : times[1][2]])
    common_name = None
    for _set_tag, set_start, set_end in _children(data, subject[1], subject[2]):
        for _seq_tag, seq_start, seq_end in _children(data, set_start, set_end):
            parts = _children(data, seq_start, seq_end)
            if len(parts) == 2 and data[parts[0][1] : parts[0][2]] == _CN_OID:
                common_name = data[parts[1][1] : parts[1][2]].decode("utf-8", "replace")
    dns: list[str] = []
    ips: list[str] = []
    for ext_tag, ext_start, ext_end in rest:
        if ext_tag != 0xA3:
            continue
        (_seq, seq_start, seq_end), *_ = _children(data, ext_start, ext_end)
        for _e, e_start, e_end in _children(data, seq_start, seq_end):
            parts = _children(data, e_start, e_end)
            if data[parts[0][1] : parts[0][2]] != _SAN_OID:
                continue
            octets = parts[-1]
            (_names, n_start, n_end), *_ = _children(data, octets[1], octets[2])
            for name_tag, v_start, v_end in _children(data, n_start, n_end):
                value = data[v_start:v_end]
                if name_tag == 0x82:
                    dns.append(value.decode("ascii", "replace"))
                elif name_tag == 0x87 and len(value) in (4, 16):
                    ips.append(str(ipaddress.ip_address(value)))
    return Certificate(not_before, not_after, common_name, tuple(dns), tuple(ips))
