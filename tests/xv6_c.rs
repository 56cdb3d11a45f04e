//! Runs a C program built like an xv6 user binary (riscv64-unknown-elf-gcc, static, linked at
//! address 0, no libc; see tests/c/) on the kernel, added to the image with `--add`. It checks
//! that the kernel keeps xv6's binary interface: ELF loading, argv, write and exit.

mod common;

use common::{has_line, Run};
use std::path::{Path, PathBuf};
use std::process::Command;

const GCC: &str = "riscv64-unknown-elf-gcc";

/// Compiles tests/c/hello.c into a fresh directory; returns the binary's path.
///
/// # Panics
/// When the cross compiler is missing (saying how to install it) or the build fails.
fn build_hello() -> PathBuf {
    let src = vmos::repo_root().join("tests").join("c");
    let out_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("xv6c-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join("hello");
    let result = Command::new(GCC)
        .args([
            "-Wall",
            "-Wextra",
            "-Werror",
            "-O1",
            "-ffreestanding",
            "-fno-builtin",
            "-fno-stack-protector",
            "-fno-pic",
            "-nostdlib",
            "-static",
            "-march=rv64gc",
            "-mabi=lp64d",
            "-mcmodel=medany",
            "-Wl,--no-relax",
            "-Wl,-z,max-page-size=4096",
            "-Wl,--build-id=none",
        ])
        .arg("-T")
        .arg(src.join("hello.ld"))
        .arg("-o")
        .arg(&out)
        .arg(src.join("hello.c"))
        .output();
    match result {
        Err(e) => panic!(
            "{GCC} is needed to build the C test program but could not be run ({e}); \
             install it with:\n    {}",
            vmos::tools::apt_install_hint("gcc-riscv64-unknown-elf")
        ),
        Ok(o) if !o.status.success() => {
            panic!("{GCC} failed on tests/c/hello.c:\n{}", String::from_utf8_lossy(&o.stderr))
        }
        Ok(_) => out,
    }
}

#[test]
fn c_program_built_like_xv6_runs() {
    let hello = build_hello();
    let (code, out) = Run::new("hello one two").add(hello).go();
    let expected =
        ["hello from C", "argc=3", "argv[0]=hello", "argv[1]=one", "argv[2]=two", "data ok", "bss ok"];
    for line in expected {
        assert!(has_line(&out, line), "missing line `{line}` in:\n{out}");
    }
    assert_eq!(code, 0, "exit status {code}; output:\n{out}");
}
