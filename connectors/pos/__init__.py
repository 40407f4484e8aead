"""REST connectors for POS and e-commerce: pos.rest (webhooks and polling in) and commerce.rest (availability out)."""

from connectors.pos.inbound import PosRest
from connectors.pos.outbound import CommerceRest, CommerceRestConfig

__all__ = ["CommerceRest", "CommerceRestConfig", "PosRest"]
