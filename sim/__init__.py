"""Simulated retailer systems on loopback: ERP, commerce, WMS and SFTP peers for tests and the demo."""
