"""Audit events and their sinks."""

from authgate.audit.events import AuditRecord, sanitize
from authgate.audit.sinks import AuditSink, BatchedAuditSink, DatabaseAuditWriter

__all__ = ["AuditRecord", "AuditSink", "BatchedAuditSink", "DatabaseAuditWriter", "sanitize"]
