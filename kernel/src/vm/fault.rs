//! User page faults: ask the faulting process's address space to supply the page. An error
//! means the access was not allowed; the trap handler then kills the process.

use super::Access;
use crate::proc;
use abi::Errno;

/// Resolves a fault at `va` for an access of kind `access` in the current process.
pub fn handle(va: usize, access: Access) -> Result<(), Errno> {
    let space = proc::current_space();
    // A present page with the right permission would not have faulted; translate() checks the
    // permission bits after faulting the page in.
    space.translate(va, access).map(|_| ())
}
