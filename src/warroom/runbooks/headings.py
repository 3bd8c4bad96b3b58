"""Cleaning headings (emoji, mojibake, numbering) and recognising the role a section plays."""

from __future__ import annotations

import functools
import re
import unicodedata

from warroom.runbooks.model import Role

# Bytes 0x80-0x9F as Windows-1252 shows them: text that was UTF-8, decoded as cp1252 ("ðŸš¨" for 🚨).
_CP1252_HIGH = "€\x81‚ƒ„…†‡ˆ‰Š‹Œ\x8dŽ\x8f\x90‘’“”•–—˜™š›œ\x9džŸ"
_CP1252_BYTE = {ch: 0x80 + i for i, ch in enumerate(_CP1252_HIGH)}

_NUMBERING = re.compile(
    r"^(?:(?:step|scenario|phase|part|stage)\s+\d+(?:\.\d+)*\s*[.):-]?\s*"
    r"|\d+(?:\.\d+)+\.?\s+|\d+[.):]\s+|[A-Z][.)]\s+)",
    re.IGNORECASE,
)

# Order does not matter: the keyword that appears last in the heading wins, because the head noun of an
# English compound comes last ("Recovery Verification" is a verification, "Diagnosis & Resolution" ends
# in the resolution).
_ROLE_WORDS: list[tuple[Role, str]] = [
    (
        Role.DETECTION,
        r"detect(?:ion|ing)?|symptoms?|signs?|alerts? fired|observe|how to (?:detect|recogni[sz]e)",
    ),
    (
        Role.ASSESSMENT,
        r"assess(?:ment|ing)?|triage|orient|impact analysis|initial response|severity assessment",
    ),
    (
        Role.MITIGATION,
        r"immediate actions?|act|mitigat(?:ion|e|ing)|contain(?:ment)?|workarounds?"
        r"|quick (?:fix(?:es)?|actions?)|first (?:\d+ )?(?:minutes|steps)|emergency actions?",
    ),
    (
        Role.DIAGNOSIS,
        r"diagnos(?:is|e|tics?|ing)|investigat(?:ion|e|ing)|troubleshoot(?:ing)?|root cause(?: analysis)?"
        r"|debug(?:ging)?|analy[sz](?:is|e)|data collection",
    ),
    (Role.RESOLUTION, r"resol(?:ution|ve|ving)|(?:common |permanent )?fix(?:es)?|remediat(?:ion|e)|repair"),
    (Role.RECOVERY, r"recover(?:y|ing)?|roll ?back|restor(?:e|ation|ing)|failover|fail back"),
    (
        Role.VERIFICATION,
        r"verif(?:y|ication|ying)|validat(?:e|ion)|health checks|smoke tests?|checklists? (?:after|before)"
        r"|success criteria|confirm(?:ation)? (?:of )?recovery",
    ),
    (Role.COMMUNICATION, r"communicat(?:ion|e|ing)|status (?:page|updates?)|stakeholders?|announce(?:ment)?"),
    (
        Role.POST_INCIDENT,
        r"post[- ]?incident|post[- ]?mortem|retrospective|lessons learned|follow[- ]?ups?|rca"
        r"|after[- ]action",
    ),
    (Role.ESCALATION, r"escalat(?:ion|e|ing)|contacts?|contact information|on[- ]?call|who to call|paging"),
]
_ROLE_PATTERN = re.compile(
    "|".join(f"(?P<{role.name}>\\b(?:{words})\\b)" for role, words in _ROLE_WORDS), re.IGNORECASE
)


def repair_mojibake(text: str) -> str:
    """`text` with UTF-8 that was read as Windows-1252 turned back into what was meant; unchanged if not."""
    if text.isascii():
        return text
    out = bytearray()
    for ch in text:
        code = ord(ch)
        if code < 0x100 and not 0x80 <= code < 0xA0:
            out.append(code)
        elif ch in _CP1252_BYTE:
            out.append(_CP1252_BYTE[ch])
        elif 0x80 <= code < 0xA0:
            out.append(code)
        else:
            return text
    try:
        return out.decode("utf-8")
    except UnicodeDecodeError:
        return text


def _is_decoration(ch: str) -> bool:
    # Emoji, symbols, punctuation, marks, and the Latin-1/cp1252 letters mojibake is made of.
    if ch.isascii():
        return not ch.isalnum()
    category = unicodedata.category(ch)
    return category[0] in "SPMCZ" or ord(ch) < 0x300 or ch in _CP1252_BYTE


@functools.lru_cache(maxsize=4096)  # the same headings recur in every runbook of a team
def clean_heading(text: str) -> str:
    """The heading a person would read: no emoji or mojibake prefix, no numbering, no markup."""
    text = repair_mojibake(text.strip())
    text = text.replace("**", "").replace("__", "").replace("`", "").strip()
    # Drop leading words made only of decoration ("🚨", "ðŸ›¡ï¸" whose last byte was lost).
    while text:
        head, _, rest = text.partition(" ")
        if head and all(_is_decoration(ch) for ch in head) and not head.isdigit():
            text = rest.lstrip()
            continue
        break
    for _ in range(2):
        stripped = _NUMBERING.sub("", text, count=1)
        if stripped == text or not stripped.strip():
            break
        text = stripped.strip()
    return text.strip(" :-–—").strip() or text.strip()


@functools.lru_cache(maxsize=4096)
def role_of(title: str) -> Role | None:
    """The role a cleaned heading names, or None; the last keyword in the heading wins."""
    found: Role | None = None
    for m in _ROLE_PATTERN.finditer(title):
        if m.lastgroup:
            found = Role[m.lastgroup]
    return found
