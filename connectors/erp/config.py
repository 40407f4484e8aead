"""Configuration of an `erp.soap` instance: the WSDL, credentials, limits and the operation mapping.

The mapping is data, so a different ERP with a different WSDL needs a new mapping, not new code.
A value in a mapping is either a dotted path into the source (a string) or a field spec table.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.sdk import ConnectorConfig, SecretRef


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Condition(_Strict):
    path: str = Field(description="Dotted path into the source.")
    equals: Any = Field(description="The value that makes the condition true.")


class FieldSpec(_Strict):
    """How one value is made from a source: exactly one of path, format, const or each, then transforms."""

    path: str | None = Field(default=None, description="Dotted path into the source, e.g. item.externalId.")
    format: str | None = Field(default=None, description="Template with {dotted.path} placeholders.")
    const: Any = Field(default=None, description="A fixed value.")
    each: str | None = Field(default=None, description="Path of a list; each element becomes `fields`.")
    fields: dict[str, str | FieldSpec] | None = Field(default=None, description="Template applied per element of `each`.")
    map: dict[str, Any] | None = Field(default=None, description="Value translation table (keys are compared as text).")
    default: Any = Field(default=None, description="Used when the path is absent or the map has no entry.")
    type: Literal["str", "int", "float", "bool", "date", "datetime"] | None = Field(
        default=None, description="Convert the value to this type.")
    negate_if: Condition | None = Field(default=None, description="Negate a number when this holds.")
    abs: bool = Field(default=False, description="Take the absolute value of a number.")
    sign: tuple[str, str] | None = Field(default=None, description="Replace a number by [when >= 0, when < 0].")
    optional: bool = Field(default=False, description="Leave the value out when the source has none.")

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        given = [name for name in ("path", "format", "const", "each") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a field spec needs exactly one of path, format, const, each (got {given or 'none'})")
        if self.each is not None and not self.fields:
            raise ValueError("a field spec with `each` needs `fields`")
        return self


FieldRef = str | FieldSpec
Template = dict[str, FieldRef]


class Cursor(_Strict):
    param: str = Field(description="Dotted request parameter that carries the cursor.")
    field: str = Field(description="Dotted path in each record of the value to resume after.")
    start: str | int = Field(default=0, description="Cursor of the very first poll.")


class OwnPostings(_Strict):
    """How a polled record shows that the hub posted it itself, so it is not ingested again (no echo loop).

    By default a record is the hub's when its `path` names the user the connector signs in as (ERPs keep
    who entered each document); `prefix` instead recognises a mark the outbound mapping puts on a field.
    """

    path: str = Field(description="Dotted path in each record, e.g. EnteredBy or ExternalReference.")
    equals: str | None = Field(default=None, description="The value that marks the hub's records; "
                                                         "default: auth.username.")
    prefix: str | None = Field(default=None, min_length=1,
                               description="A non-empty prefix that marks the hub's records instead of equals.")

    @model_validator(mode="after")
    def _one_test(self) -> OwnPostings:
        if self.equals is not None and self.prefix is not None:
            raise ValueError("skip_own takes equals or prefix, not both")
        if self.equals == "":
            raise ValueError("skip_own.equals must not be empty: every record without the field would match")
        return self


class InboundOperation(_Strict):
    """A poll operation whose records become canonical events."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$", description="Stable name: keys the cursor and idempotency keys.")
    operation: str = Field(description="SOAP operation in the WSDL.")
    event_type: str = Field(description="Canonical event type each record becomes.")
    records: str = Field(description="Dotted path of the record list in the response.")
    request: dict[str, Any] = Field(default_factory=dict, description="Fixed request parameters (dotted keys).")
    page_size_param: str | None = Field(default=None, description="Dotted request parameter of the page size.")
    page_size: int = Field(default=200, ge=1, le=10_000)
    cursor: Cursor
    data: Template = Field(description="Canonical data field (dotted) -> path or spec over the record.")
    key: list[str] = Field(min_length=1, description="Record paths that identify the fact (document, line, ...).")
    subject: str = Field(default="{sku}@{location}", description="Template over the canonical data.")
    time: str | None = Field(default=None, description="Record path of when the fact happened.")
    skip_own: OwnPostings | None = Field(
        default=None, description="Records the hub posted itself: counted and skipped, never ingested again.")


class OutboundOperation(_Strict):
    """How a canonical event is posted: source paths are data.*, idempotency_key, id, time, subject, type."""

    event_type: str
    operation: str = Field(description="SOAP operation in the WSDL.")
    when: dict[str, list[Any]] = Field(default_factory=dict, description="Event path -> allowed values.")
    request: Template = Field(description="Request parameter (dotted) -> path or spec over the event.")
    document: str | None = Field(default=None, description="Response path of the ERP's document number.")
    status: ResponseStatus | None = Field(default=None, description="For ERPs that report errors in the response.")


class ResponseStatus(_Strict):
    success: str = Field(description="Response path of the success flag.")
    code: str = Field(description="Response path of the error code (first match when a list).")
    message: str = Field(description="Response path of the error text.")


class ErrorRules(_Strict):
    code_element: str | None = Field(
        default=None, description="Local name of the fault detail element holding the code; else the faultcode.")
    document_element: str | None = Field(
        default=None, description="Local name of the fault detail element naming the existing document.")
    duplicate_codes: list[str] = Field(default_factory=list, description="Codes meaning: already posted.")
    transient_codes: list[str] = Field(default_factory=list, description="Fault codes worth retrying.")


class ErpMapping(_Strict):
    inbound: list[InboundOperation] = Field(default_factory=list)
    outbound: list[OutboundOperation] = Field(default_factory=list)
    errors: ErrorRules = Field(default_factory=ErrorRules)

    @model_validator(mode="after")
    def _unique_names(self) -> ErpMapping:
        names = [op.name for op in self.inbound]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"inbound operation names must be unique; repeated: {repeated}")
        return self


class Auth(_Strict):
    mode: Literal["wsse", "wsse_digest", "basic", "both", "none"] = Field(
        default="wsse", description="WS-Security UsernameToken (text or digest), HTTP basic, both, or none.")
    username: str = ""
    password: SecretRef | None = Field(default=None, description="Secret reference, e.g. env:ERP_PASSWORD.")

    @model_validator(mode="after")
    def _credentials(self) -> Auth:
        if self.mode != "none" and not (self.username and self.password):
            raise ValueError(f"auth mode {self.mode} needs username and password")
        return self


class ErpSoapConfig(ConnectorConfig):
    """An ERP reached over SOAP, described by its WSDL and a mapping to canonical events."""

    type: str = "erp.soap"
    wsdl: str = Field(description="WSDL file (relative to the config file) or http(s) URL.")
    service: str | None = Field(default=None, description="wsdl:service name; the first when omitted.")
    port: str | None = Field(default=None, description="wsdl:port name; the first when omitted.")
    endpoint: str | None = Field(default=None, description="Overrides the soap:address of the port.")
    auth: Auth = Field(default_factory=lambda: Auth(mode="none"))
    timeout: float = Field(default=15.0, gt=0, description="Seconds to wait for one SOAP answer.")
    connect_timeout: float = Field(default=5.0, gt=0, description="Seconds to wait for a connection.")
    max_connections: int = Field(default=4, ge=1, le=100, description="Pooled connections to the ERP.")
    max_response_bytes: int = Field(default=10_000_000, ge=1_000, description="Larger answers are refused.")
    poll: bool = Field(default=True, description="Run the inbound poll loop.")
    poll_interval: float = Field(default=30.0, gt=0, description="Seconds between polls when caught up.")
    mapping: ErpMapping = Field(default_factory=ErpMapping)

    @model_validator(mode="after")
    def _own_postings_known(self) -> ErpSoapConfig:
        for op in self.mapping.inbound:
            own = op.skip_own
            if own is not None and own.equals is None and own.prefix is None and not self.auth.username:
                raise ValueError(f"mapping.inbound {op.name}: skip_own without equals or prefix compares with "
                                 "auth.username, which is empty")
        return self


OutboundOperation.model_rebuild()
