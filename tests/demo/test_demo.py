"""`python -m hub.demo --quick --no-wait` end to end: every step verified against the peers, then the summary."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROOFS = [
    "marketplace exposure held (available 0) for 3 constrained SKUs",
    "planner tasks for each of the other 3 spiking SKUs",
    "safety stock raised for",
    "856 ASN-777 read over SFTP: expected receipt of 144 units for PO-4500000777 at DC-01",
    "DC-01 receipt RCV-",
    "997 for interchange 000000123 written to supplier/from_hub/",
    "phantom stock suspected for SKU-00107@STORE-007 after ",
    "received by the WMS; the count found 0 of 12 recorded",
    "count of SKU-00107@STORE-007 found 0 of 12 recorded: task hook-phantom-",
    "count correction of -12 booked in the ERP for SKU-00107@STORE-007 (ERP on hand 12 -> 0",
    "40 deliveries waited while commerce kept 40 availability updates; backlog drained in",
    "1 dead letter replayed and posted",
]


def test_quick_demo_verifies_every_step(tmp_path: Path) -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "hub.demo", "--quick", "--no-wait", "--workdir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    summary = output[output.index("== summary =="):]
    for proof in PROOFS:
        assert proof in summary, f"missing proof {proof!r} in:\n{summary}"
    assert "5 of 5 steps verified" in summary
    restocked = re.search(r"return RET-\d+: disposition restock to STORE-003; availability for "
                          r"SKU-00013@STORE-003 updated from (\d+) to (\d+) in [\d.]+ s", summary)
    assert restocked and int(restocked[2]) == int(restocked[1]) + 1, summary
    assert re.search(r"recount task hook-phantom-[0-9a-f]{32} received by the WMS", summary), summary
    assert re.search(r"\d+  phantom +auto +rule recount-phantom", summary), summary
    for section in ("events per type and source:", "schema versions seen:", "end-to-end latency",
                    "decisions per hook and policy:", "dead letters now: 0; replays: 1", "status page: http://127.0.0.1:"):
        assert section in summary, section
    assert "FAILED" not in output
    print(f"quick demo: {time.monotonic() - started:.1f} s")
