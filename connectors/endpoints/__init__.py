"""Customer-facing HTTPS endpoints probed with Python's `ssl`: TLS versions refused and negotiated, the certificate's
expiry, HTTP redirected to HTTPS and the HSTS header. No credentials and no vendor API."""

from connectors.endpoints.probe import Endpoint, parse_endpoints, parse_hsts
from connectors.endpoints.streams import MAX_ENDPOINTS, PROBES, EndpointProbes

__all__ = ["MAX_ENDPOINTS", "PROBES", "Endpoint", "EndpointProbes", "parse_endpoints", "parse_hsts"]
