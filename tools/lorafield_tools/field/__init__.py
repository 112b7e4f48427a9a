"""The emulated field: real firmware nodes on emulated boards, the radio medium, the gateway
service on each gateway and the local network server on SQLite (see README.md)."""
