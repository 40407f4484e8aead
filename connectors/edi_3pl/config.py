"""Configuration of one `edi.sftp` instance: one trading partner, its SFTP server and its EDI identities."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from connectors.edi_3pl.mapping import DEFAULT_ADJUSTMENT_REASONS
from hub.sdk import ConnectorConfig, SecretRef


class EdiSftpConfig(ConnectorConfig):
    """A supplier or 3PL exchanging X12 or EDIFACT files over SFTP."""

    type: Literal["edi.sftp"] = "edi.sftp"
    partner: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$",
                         description="Trading partner id, used in event sources and idempotency keys.")
    standard: Literal["x12", "edifact"] = Field(default="x12", description="Standard of outbound documents.")

    host: str = Field(description="SFTP server host name or address.")
    port: int = Field(default=22, ge=1, le=65535)
    username: str = Field(min_length=1)
    password: SecretRef | None = Field(default=None, description="Password, by reference (env:NAME or file:/path).")
    private_key: SecretRef | None = Field(default=None, description="Private key text (PEM / OpenSSH), by reference.")
    private_key_passphrase: SecretRef | None = None
    host_key: str | None = Field(default=None, description="Pinned known_hosts line(s) for the server.",
                                 examples=["[sftp.acme.example]:2222 ssh-ed25519 AAAAC3Nza..."])
    host_key_fingerprint: str | None = Field(default=None, pattern=r"^SHA256:[A-Za-z0-9+/]{43}$",
                                             description="Pinned SHA256 host key fingerprint (ssh-keygen -l).")

    inbound_dir: str = Field(default="outbound", description="Remote folder the partner drops files in for us.")
    outbound_dir: str = Field(default="inbound", description="Remote folder we drop files in for the partner.")
    archive_dir: str = Field(default="archive", description="Remote folder processed inbound files move to.")
    error_dir: str = Field(default="error", description="Remote folder unreadable files move to, with a .reason file.")
    inbound_patterns: list[str] = Field(default=["*.edi", "*.x12", "*.txt", "*.dat"],
                                        description="Glob patterns of inbound file names to pick up.")
    outbound_name: str = Field(default="{partner}_{document}_{control}.edi",
                               description="Outbound file name; {partner}, {document} and {control} are filled in.")
    temp_suffix: str = Field(default=".part", description="Suffix of the temporary name outbound files are written under.")
    poll_interval: float = Field(default=30.0, gt=0, description="Seconds between polls of the inbound folder.")
    connect_timeout: float = Field(default=10.0, gt=0)
    operation_timeout: float = Field(default=30.0, gt=0)
    attempts: int = Field(default=3, ge=1, le=10, description="Tries of each SFTP operation (reconnecting between).")
    backoff: float = Field(default=0.5, ge=0, description="First wait between tries, seconds (doubles).")
    claim_timeout: float = Field(default=600.0, gt=0, description="Seconds after which another worker's unfinished claim on a file is taken over.")

    our_id: str = Field(min_length=1, max_length=35, description="Our interchange id (ISA06 / UNB sender).")
    our_qualifier: str = Field(default="ZZ", max_length=4)
    partner_id: str = Field(min_length=1, max_length=35, description="The partner's interchange id.")
    partner_qualifier: str = Field(default="ZZ", max_length=4)
    x12_version: str = Field(default="00401", pattern=r"^\d{5}$", description="ISA12 of outbound X12.")
    test_usage: bool = Field(default=False, description="Mark outbound interchanges as test (ISA15 T / UNB test).")
    supplier_id: str | None = Field(default=None, description="Canonical supplier id when documents leave it out.")
    location: str | None = Field(default=None, description="Canonical location (the 3PL warehouse) when documents leave it out.")
    adjustment_reasons: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_ADJUSTMENT_REASONS),
                                               description="947 W1901 code -> stock.adjusted reason.")
    item_xref: str | None = Field(
        default=None, examples=["items/acme.csv"],
        description=("Item cross-reference for lines that carry no SKU of ours (no SK / BP in X12, no IN / BP in "
                     "EDIFACT): a CSV file (path relative to the config file) with a header row, a sku column and "
                     "a gtin and / or vendor_part column; a row maps its GTIN and / or vendor part number to its "
                     "sku. GTINs have 8, 12, 13 or 14 digits and a valid check digit and match in any of those "
                     "lengths (a UPC-12 is the GTIN-14 with two leading zeros); vendor_part matches X12 VN / VP "
                     "and EDIFACT SA / VN / VP exactly. A line is translated by its GTIN first. Read and checked "
                     "when the connector starts: a bad row (missing sku, malformed GTIN, an id mapped to two SKUs) "
                     "stops it with the file and line. A changed file (modification time or size) is read again "
                     "before the next poll; a bad new version is logged with its file and line and counted "
                     "(edi_item_xref_reload_failures), and the previous table stays in use until the file changes "
                     "again, as it does when the file is gone; a version that changes while it is read is read again "
                     "at the next poll. Without a table, EDIFACT SA numbers are taken as our SKUs."))
    ack_deadline: float = Field(default=86400.0, gt=0, description="Seconds within which the partner must acknowledge.")

    @model_validator(mode="after")
    def _pinned_and_authenticated(self) -> EdiSftpConfig:
        if not self.host_key and not self.host_key_fingerprint:
            raise ValueError("host_key or host_key_fingerprint is required: unknown host keys are never accepted")
        if self.password is None and self.private_key is None:
            raise ValueError("password or private_key is required")
        return self
