//! Open files (STUB). A process holds `Arc<File>`; dropping the last reference closes it.

pub struct File {}
