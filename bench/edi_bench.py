"""EDI reading speed in segments per second, against pyx12 (X12) and pydifact (EDIFACT) on the same bytes.

The X12 side reads and maps 846 inventory advice (00401, as pyx12 accepts only 00401 / 00501) into
canonical event dicts; pyx12 reads the same file into segments with its envelope checks. The
EDIFACT side reads INVRPT into segments, elements and components, as pydifact's parser does.
Run: python -m bench.edi_bench [--quick]
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable

from pydifact.parser import Parser as PydifactParser
from pyx12.x12file import X12Reader

from connectors.edi_3pl import edifact
from connectors.edi_3pl.mapping import Partner
from connectors.edi_3pl.translate import translate

TARGET_BYTES = 10_000_000
PARTNER = Partner("bench", supplier="SUP-BENCH", location="DC-01")


def x12_846(target: int) -> str:
    """One interchange of 846 sets, 50 items each, about `target` bytes."""
    isa = ("ISA*00*          *00*          *ZZ*ACME3PL        *ZZ*RETAILHUB      *261127*1015*U*00401*"
           "000000101*0*P*>~\n")
    parts = [isa, "GS*IB*ACME3PL*RETAILHUB*20261127*1015*101*X*004010~\n"]
    size, sets = len(isa), 0
    while size < target:
        sets += 1
        body = [f"BIA*00*MM*INV-{sets}*20261127*0600~\n", "N1*WH*ACME West*9*3PL-WEST~\n"]
        for item in range(50):
            body.append(f"LIN**SK*SKU-{sets:05d}-{item:02d}*UP*0123456789{item:02d}~\n")
            body.append(f"QTY*17*{item * 3 + 1}*EA~\n")
            body.append(f"QTY*33*{item * 2}*EA~\n")
        text = f"ST*846*{sets:04d}~\n" + "".join(body) + f"SE*{len(body) + 2}*{sets:04d}~\n"
        parts.append(text)
        size += len(text)
    parts.append(f"GE*{sets}*101~\nIEA*1*000000101~\n")
    return "".join(parts)


def edifact_invrpt(target: int) -> str:
    """One interchange of INVRPT messages, 50 items each, about `target` bytes."""
    parts = ["UNA:+.? '\n", "UNB+UNOC:3+ACMEEU:ZZ+RETAILHUB:ZZ+261127:1015+EX1'\n"]
    size, messages = 0, 0
    while size < target:
        messages += 1
        body = [f"BGM+35+INV-{messages}+9'\n", "DTM+137:20261127:102'\n", "NAD+WH+DC-EU::92'\n"]
        for item in range(50):
            body.append(f"LIN+{item + 1}++SKU-{messages:05d}-{item:02d}:IN'\n")
            body.append(f"QTY+145:{item * 3 + 1}'\n")
            body.append(f"QTY+198:{item * 2}'\n")
        text = f"UNH+{messages}+INVRPT:D:96A:UN'\n" + "".join(body) + f"UNT+{len(body) + 2}+{messages}'\n"
        parts.append(text)
        size += len(text)
    parts.append(f"UNZ+{messages}+EX1'\n")
    return "".join(parts)


def _ours_x12(raw: bytes) -> int:
    translation = translate(raw, PARTNER)
    assert not translation.errors and translation.events
    return translation.segment_count


def _pyx12(text: str) -> int:
    return sum(1 for _ in X12Reader(io.StringIO(text)))


def _ours_edifact(text: str) -> int:
    return sum(ic.segment_count for ic in edifact.read(text))


def _pydifact(text: str) -> int:
    return sum(1 for _ in PydifactParser().parse(text))


def _rate(fn: Callable[[], int], repeats: int) -> tuple[float, int]:
    """Best of `repeats` runs: segments per second and the segment count."""
    best, count = float("inf"), 0
    for _ in range(repeats):
        start = time.perf_counter()
        count = fn()
        best = min(best, time.perf_counter() - start)
    return count / best, count


def run(quick: bool = False) -> dict[str, float]:
    target = TARGET_BYTES // 10 if quick else TARGET_BYTES
    repeats = 1 if quick else 3
    x12_text = x12_846(target)
    x12_raw = x12_text.encode()
    ours_x12, x12_count = _rate(lambda: _ours_x12(x12_raw), repeats)
    theirs_x12, pyx12_count = _rate(lambda: _pyx12(x12_text), repeats)
    edi_text = edifact_invrpt(target)
    ours_edi, edi_count = _rate(lambda: _ours_edifact(edi_text), repeats)
    theirs_edi, pydifact_count = _rate(lambda: _pydifact(edi_text), repeats)
    return {
        "x12_bytes": float(len(x12_raw)),
        "x12_segments": float(x12_count),
        "pyx12_segments": float(pyx12_count),
        "x12_segments_per_s": ours_x12,
        "pyx12_segments_per_s": theirs_x12,
        "x12_vs_pyx12": ours_x12 / theirs_x12,
        "edifact_bytes": float(len(edi_text)),
        "edifact_segments": float(edi_count),
        "pydifact_segments": float(pydifact_count),
        "edifact_segments_per_s": ours_edi,
        "pydifact_segments_per_s": theirs_edi,
        "edifact_vs_pydifact": ours_edi / theirs_edi,
    }


def main(argv: list[str]) -> None:
    results = run(quick="--quick" in argv)
    width = max(len(k) for k in results)
    for key, value in results.items():
        shown = f"{value:,.2f}" if key.endswith(("_vs_pyx12", "_vs_pydifact")) else f"{value:,.0f}"
        print(f"{key.ljust(width)}  {shown:>14}")


if __name__ == "__main__":
    main(sys.argv[1:])
