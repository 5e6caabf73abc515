"""failover: a VRRPv2 (RFC 3768) router-redundancy daemon."""

__version__ = "1.0.0"
