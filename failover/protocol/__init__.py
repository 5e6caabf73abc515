"""Sans-IO VRRP protocol core: no sockets, no asyncio, no clock reads."""
