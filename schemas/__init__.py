"""Versioned provider payload models, their normalizers, and the canonical event."""
