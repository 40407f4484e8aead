"""EDI errors that say where they happened: interchange, group, set, segment number and element."""

from __future__ import annotations

from canonical.errors import EventError


class EdiError(EventError):
    """A document the hub cannot accept as sent, with its position.

    `segment` counts from 1 within the transaction set / message (ST or UNH is 1) when `set_control`
    is known, otherwise within the interchange. `element` counts from 1 after the tag, `component`
    from 1 within a composite. `code` is the standard's own error code (X12 AK3/AK4/AK5/AK9 or
    EDIFACT 0085), so acknowledgements can report it as is.
    """

    def __init__(
        self,
        message: str,
        *,
        interchange: str | None = None,
        group: str | None = None,
        set_control: str | None = None,
        segment: int | None = None,
        segment_id: str | None = None,
        element: int | None = None,
        component: int | None = None,
        code: str = "",
    ) -> None:
        self.interchange = interchange
        self.group = group
        self.set_control = set_control
        self.segment = segment
        self.segment_id = segment_id
        self.element = element
        self.component = component
        self.code = code
        super().__init__(message, self.position())

    def position(self) -> str:
        parts = []
        if self.interchange is not None:
            parts.append(f"interchange {self.interchange}")
        if self.group is not None:
            parts.append(f"group {self.group}")
        if self.set_control is not None:
            parts.append(f"set {self.set_control}")
        if self.segment is not None:
            parts.append(f"segment {self.segment}" + (f" ({self.segment_id})" if self.segment_id else ""))
        elif self.segment_id:
            parts.append(f"segment {self.segment_id}")
        if self.element is not None:
            parts.append(f"element {self.element}" + (f".{self.component}" if self.component else ""))
        return ", ".join(parts)

    def located(self, **where: str | int | None) -> EdiError:
        """A copy with more of the position filled in (keeps what is already known)."""
        fields = {
            "interchange": self.interchange, "group": self.group, "set_control": self.set_control,
            "segment": self.segment, "segment_id": self.segment_id, "element": self.element,
            "component": self.component,
        }
        for key, value in where.items():
            if fields.get(key) is None:
                fields[key] = value
        return EdiError(self.reason, code=self.code, **fields)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, str | int | None]:
        return {
            "interchange": self.interchange, "group": self.group, "set": self.set_control,
            "segment": self.segment, "segment_id": self.segment_id, "element": self.element,
            "component": self.component, "code": self.code, "message": self.reason,
        }
