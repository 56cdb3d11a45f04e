//! vmspace (placeholder)
