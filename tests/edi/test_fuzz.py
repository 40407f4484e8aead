"""Property tests of both readers: any input ends in documents or an EdiError with a position, nothing else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.edi_3pl.errors import EdiError
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import translate
from tests.edi.conftest import CORPUS

PARTNER = Partner("fuzz", supplier="SUP", location="LOC")
SEEDS = [p.read_bytes() for p in sorted(CORPUS.rglob("*")) if p.is_file() and not p.name.endswith(".json")]
X12_ALPHABET = "ISAGSTEQLNK0123456789*~>^:|\r\n \t-.naife"
EDIFACT_ALPHABET = "UNABHTZLIQ0123456789+:'?. \r\n*naife"


def _outcome(raw: bytes) -> None:
    try:
        translation = translate(raw, PARTNER)
    except EdiError as exc:
        assert exc.position() or "not an X12 or EDIFACT" in str(exc) or "empty" in str(exc) or "bytes" in str(exc)
        return
    for error in translation.errors:
        assert isinstance(error, EdiError) and error.position()


@st.composite
def mutated(draw: st.DrawFn, alphabet: str) -> bytes:
    seed = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["replace", "insert", "delete", "truncate"]))
        at = draw(st.integers(0, max(len(seed) - 1, 0)))
        char = draw(st.sampled_from(alphabet)).encode()
        if op == "replace" and seed:
            seed[at:at + 1] = char
        elif op == "insert":
            seed[at:at] = char
        elif op == "delete" and seed:
            del seed[at]
        else:
            del seed[at:]
    return bytes(seed)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(X12_ALPHABET + EDIFACT_ALPHABET))
def test_mutated_corpus_files_end_in_documents_or_positioned_errors(raw: bytes) -> None:
    _outcome(raw)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=X12_ALPHABET, max_size=400))
def test_random_x12_like_text(text: str) -> None:
    _outcome(("ISA" + text).encode())


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=EDIFACT_ALPHABET, max_size=400), st.booleans())
def test_random_edifact_like_text(text: str, una: bool) -> None:
    _outcome((("UNA:+.? '" if una else "") + "UNB+" + text).encode())


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes(raw: bytes) -> None:
    _outcome(raw)


def test_seeds_exist() -> None:
    assert len(SEEDS) >= 20 and all(isinstance(s, bytes) for s in SEEDS)
    assert Path(CORPUS).is_dir()
