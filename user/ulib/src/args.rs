//! The program's arguments, as the kernel laid them out on the stack at exec: `argc` C strings
//! and an array of `argc + 1` pointers to them, the last one 0. [`Args`] reads them in place
//! and never copies or changes them.

use core::ffi::CStr;

/// The arguments passed to `exec`; `args.get(0)` is the program name.
#[derive(Clone, Copy, Debug)]
pub struct Args {
    argc: usize,
    argv: *const *const u8,
}

impl Args {
    /// Wraps the kernel's argc/argv.
    ///
    /// # Safety
    /// `argv` must point at `argc` valid pointers to NUL-terminated strings that stay valid and
    /// unchanged for the rest of the process (as the kernel's exec provides).
    pub unsafe fn from_raw(argc: usize, argv: *const *const u8) -> Args {
        Args { argc, argv }
    }

    /// Number of arguments (the program name included).
    pub fn len(&self) -> usize {
        self.argc
    }

    /// True when there is not even a program name.
    pub fn is_empty(&self) -> bool {
        self.argc == 0
    }

    /// Argument `i` as bytes, without the NUL.
    pub fn get(&self, i: usize) -> Option<&'static [u8]> {
        if i >= self.argc {
            return None;
        }
        // SAFETY: `from_raw`'s contract: argv[i] for i < argc is a valid pointer to a
        // NUL-terminated string that lives as long as the process.
        unsafe {
            let p = *self.argv.add(i);
            if p.is_null() {
                return None;
            }
            Some(CStr::from_ptr(p.cast()).to_bytes())
        }
    }

    /// Argument `i` as text; `None` when missing or not UTF-8.
    pub fn get_str(&self, i: usize) -> Option<&'static str> {
        self.get(i).and_then(|b| core::str::from_utf8(b).ok())
    }

    /// All arguments, the program name first.
    pub fn iter(&self) -> ArgsIter {
        ArgsIter { args: *self, next: 0 }
    }

    /// Address of the argv array the kernel built (it lies in the initial stack page).
    pub fn argv_addr(&self) -> usize {
        self.argv as usize
    }
}

impl IntoIterator for Args {
    type Item = &'static [u8];
    type IntoIter = ArgsIter;
    fn into_iter(self) -> ArgsIter {
        self.iter()
    }
}

/// Iterator over [`Args`].
pub struct ArgsIter {
    args: Args,
    next: usize,
}

impl Iterator for ArgsIter {
    type Item = &'static [u8];
    fn next(&mut self) -> Option<&'static [u8]> {
        let a = self.args.get(self.next)?;
        self.next += 1;
        Some(a)
    }
}
