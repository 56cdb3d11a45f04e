//! mkfs (placeholder)
