"""The whole simulated retailer on loopback: the reference ERP (SOAP), the commerce and WMS peers (REST), and an
SFTP server with a supplier and a 3PL, seeded alike, plus the hub config that wires the hub to all of them.

    async with Retailer(tmp_path) as retailer:
        hub = HubProcess(retailer.config_path, env=retailer.env).start()
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime
from pathlib import Path
from string import Template
from types import TracebackType

from hub.natsserver import free_port
from sim.commerce import CommercePeer
from sim.erp import ReferenceErp
from sim.sftp import SftpServer
from sim.wms import WmsPeer

TEMPLATE = Path(__file__).resolve().parents[1] / "examples" / "demo" / "hub.toml.template"
ERP_USER = "hub"
SFTP_USERS = {"supplier": "supplier", "3pl": "tpl"}  # partner -> SFTP account
SFTP_FOLDERS = ("to_hub", "from_hub", "archive", "error")


def sku(n: int) -> str:
    return f"SKU-{n:05d}"


class Retailer:
    """Starts every peer on a free loopback port, seeds one catalogue into all of them, and writes hub.toml."""

    def __init__(self, workdir: Path, *, skus: int = 500, stores: int = 20, dcs: int = 2, seed: int = 7) -> None:
        self.workdir = workdir
        self.sku_count = skus
        self.stores = [f"STORE-{i:03d}" for i in range(1, stores + 1)]
        self.dcs = [f"DC-{i:02d}" for i in range(1, dcs + 1)]
        self.web_node = "WEB-01"
        self.rng = random.Random(seed)
        self._secret = {name: secrets.token_urlsafe(16) for name in (
            "erp", "commerce_token", "commerce_webhook", "wms_token", "wms_webhook", "supplier", "3pl")}
        self.commerce_webhook_port = free_port()
        self.wms_webhook_port = free_port()
        self.erp = ReferenceErp(username=ERP_USER, password=self._secret["erp"])
        self.commerce = CommercePeer(
            token=self._secret["commerce_token"], webhook_secret=self._secret["commerce_webhook"],
            webhook_url=f"http://127.0.0.1:{self.commerce_webhook_port}/webhooks/commerce")
        self.wms = WmsPeer(token=self._secret["wms_token"], webhook_secret=self._secret["wms_webhook"],
                           webhook_url=f"http://127.0.0.1:{self.wms_webhook_port}/webhooks/wms")
        self.sftp = SftpServer(workdir / "sftp", passwords={
            account: self._secret[partner] for partner, account in SFTP_USERS.items()})
        self.config_path = workdir / "hub.toml"

    @property
    def skus(self) -> list[str]:
        return [sku(n) for n in range(1, self.sku_count + 1)]

    @property
    def env(self) -> dict[str, str]:
        """The secrets the hub process reads by reference (env:NAME in hub.toml)."""
        s = self._secret
        return {"DEMO_ERP_PASSWORD": s["erp"], "DEMO_COMMERCE_TOKEN": s["commerce_token"],
                "DEMO_COMMERCE_WEBHOOK_SECRET": s["commerce_webhook"], "DEMO_WMS_TOKEN": s["wms_token"],
                "DEMO_WMS_WEBHOOK_SECRET": s["wms_webhook"], "DEMO_SUPPLIER_SFTP_PASSWORD": s["supplier"],
                "DEMO_3PL_SFTP_PASSWORD": s["3pl"]}

    def sftp_folder(self, partner: str, folder: str) -> Path:
        """A partner's folder on the SFTP server's disk, e.g. ("supplier", "from_hub")."""
        return self.sftp.root / partner / folder

    async def start(self) -> Retailer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._seed()
            self.erp.start()
            await self.commerce.start()
            await self.wms.start()
            for partner in SFTP_USERS:
                for folder in SFTP_FOLDERS:
                    self.sftp_folder(partner, folder).mkdir(parents=True, exist_ok=True)
            self.sftp.start()
            self.config_path.write_text(self.render_config())
        except BaseException:
            await self.stop()
            raise
        return self

    async def stop(self) -> None:
        """Stop every peer; safe to call twice and after a partial start."""
        self.erp.stop()
        await self.commerce.stop()
        await self.wms.stop()
        self.sftp.stop()

    async def __aenter__(self) -> Retailer:
        return await self.start()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    def render_config(self) -> str:
        """hub.toml from the template with this run's ports and the SFTP host key filled in."""
        return Template(TEMPLATE.read_text()).substitute(
            commerce_url=self.commerce.url, commerce_webhook_port=self.commerce_webhook_port,
            wms_url=self.wms.url, wms_webhook_port=self.wms_webhook_port,
            erp_wsdl=str(self.erp.wsdl_path("sap")), erp_endpoint=self.erp.endpoint("sap"),
            sftp_port=self.sftp.port, sftp_known_hosts=self.sftp.known_hosts_line)

    def _seed(self) -> None:
        """One catalogue everywhere: the ERP's books, the web shop's nodes, the WMS's DCs and web node."""
        nodes = [*self.stores, *self.dcs, self.web_node]
        state = self.erp.state
        for node in nodes:
            state.add_plant(node)
        for item in self.skus:
            state.add_item(item, f"Article {item}")
            for node in nodes:
                state.set_stock(item, node, self.rng.randint(50, 400) if node.startswith("DC") else
                                self.rng.randint(5, 40))
        self.commerce.seed(skus=self.sku_count, stores=len(self.stores), web_nodes=1)
        self.commerce.nodes.update(self.dcs)  # the web shop also ships from the DCs, so it takes their availability
        self.wms.seed(skus=self.sku_count, warehouses=len(self.dcs), on_hand=200)
        for item in self.skus:
            self.wms.stock[(item, self.web_node)] = self.rng.randint(150, 400)


def asn_856(*, sender: str, receiver: str, interchange: int, asn_id: str, po_number: str, ship_to: str,
            supplier: str, lines: list[tuple[str, int]], when: datetime) -> bytes:
    """An X12 856 ship notice as a supplier sends it: one shipment, one order, one item loop per line."""
    body = [["BSN", "00", asn_id, when.strftime("%Y%m%d"), when.strftime("%H%M")], ["HL", "1", "", "S"],
            ["TD5", "B", "2", "SIMFREIGHT"], ["DTM", "011", when.strftime("%Y%m%d")],
            ["N1", "ST", ship_to, "92", ship_to], ["N1", "SU", supplier, "92", supplier],
            ["HL", "2", "1", "O"], ["PRF", po_number]]
    for n, (item, quantity) in enumerate(lines, start=3):
        body += [["HL", str(n), "2", "I"], ["LIN", "", "SK", item], ["SN1", "", str(quantity), "EA"]]
    control = f"{interchange:09d}"
    segments = [
        ["ISA", "00", " " * 10, "00", " " * 10, "ZZ", f"{sender:<15}", "ZZ", f"{receiver:<15}",
         when.strftime("%y%m%d"), when.strftime("%H%M"), "^", "00501", control, "0", "P", ">"],
        ["GS", "SH", sender, receiver, when.strftime("%Y%m%d"), when.strftime("%H%M"), str(interchange), "X",
         "005010"],
        ["ST", "856", "0001"], *body, ["SE", str(len(body) + 2), "0001"],
        ["GE", "1", str(interchange)], ["IEA", "1", control]]
    return "".join("*".join(segment) + "~\n" for segment in segments).encode()
