//! Directory tests: mkdir, chdir and "..", removal of empty and non-empty directories,
//! "." and ".." that cannot be removed, files used as directories, the root directory's
//! entries, removing the working directory, and deep nesting.

use crate::util::{self, Ctx, TestResult};
use alloc::format;
use ulib::{abi, fs, sys};

use abi::{O_CREATE, O_RDONLY, O_RDWR};

/// mkdir, files inside, chdir and "..", unlink only once empty.
pub fn basic() -> TestResult {
    util::clean(&["dd/ff", "dd"]);
    fs::mkdir("dd").ctx("mkdir dd")?;
    expect_fail!(sys::mkdir(cs!("dd")));
    let st = fs::stat("dd").ctx("stat dd")?;
    ensure!(st.typ == abi::T_DIR, "dd has type {}", st.typ);
    util::write_file("dd/ff", b"in dd")?;
    fs::chdir("dd").ctx("chdir dd")?;
    ensure!(util::read_file("ff")? == b"in dd", "dd/ff reads wrong data through chdir");
    fs::chdir("..").ctx("chdir ..")?;
    ensure!(util::read_file("dd/../dd/./ff")? == b"in dd", "dd/../dd/./ff reads wrong data");
    expect_fail!(sys::open(cs!("dd/ff/x"), O_CREATE | O_RDWR));
    expect_fail!(sys::unlink(cs!("dd")));
    fs::unlink("dd/ff").ctx("unlink dd/ff")?;
    fs::unlink("dd").ctx("unlink the empty dd")?;
    expect_fail!(sys::chdir(cs!("dd")));
    expect_fail!(sys::open(cs!("dd"), O_RDONLY));
    Ok(())
}

/// "." and ".." can be neither removed nor created.
pub fn dots() -> TestResult {
    util::clean(&["dots"]);
    fs::mkdir("dots").ctx("mkdir dots")?;
    fs::chdir("dots").ctx("chdir dots")?;
    expect_fail!(sys::unlink(cs!(".")));
    expect_fail!(sys::unlink(cs!("..")));
    expect_fail!(sys::mkdir(cs!(".")));
    expect_fail!(sys::link(cs!("../README"), cs!(".")));
    fs::chdir("..").ctx("chdir ..")?;
    expect_fail!(sys::unlink(cs!("dots/.")));
    expect_fail!(sys::unlink(cs!("dots/..")));
    expect_fail!(sys::mkdir(cs!("/")));
    fs::unlink("dots").ctx("unlink dots")?;
    Ok(())
}

/// A file cannot be used as a directory.
pub fn dirfile() -> TestResult {
    util::write_file("dirfile", b"")?;
    expect_fail!(sys::chdir(cs!("dirfile")));
    expect_fail!(sys::open(cs!("dirfile/x"), O_CREATE | O_RDWR));
    expect_fail!(sys::open(cs!("dirfile/x"), O_RDONLY));
    expect_fail!(sys::mkdir(cs!("dirfile/x")));
    expect_fail!(sys::link(cs!("README"), cs!("dirfile/x")));
    expect_fail!(sys::unlink(cs!("dirfile/x")));
    expect_fail!(sys::mknod(cs!("dirfile/x"), 1, 0));
    fs::unlink("dirfile").ctx("unlink dirfile")?;
    // Empty names name nothing that can be created.
    expect_fail!(sys::mkdir(cs!("")));
    expect_fail!(sys::open(cs!(""), O_CREATE | O_RDWR));
    expect_fail!(sys::link(cs!("README"), cs!("")));
    Ok(())
}

/// The root is its own parent; "/" and "/.." are the same inode.
pub fn root() -> TestResult {
    fs::chdir("/").ctx("chdir /")?;
    let root = fs::stat("/").ctx("stat /")?;
    ensure!(root.typ == abi::T_DIR, "/ has type {}", root.typ);
    fs::chdir("..").ctx("chdir .. from /")?;
    let dot = fs::stat(".").ctx("stat .")?;
    let up = fs::stat("/..").ctx("stat /..")?;
    ensure!(
        dot.ino == root.ino && up.ino == root.ino,
        "/ is {}, . is {}, /.. is {}",
        root.ino,
        dot.ino,
        up.ino
    );
    ensure!(util::exists("README"), "README not found after chdir .. from /");
    Ok(())
}

/// Reading a directory yields 16-byte entries: ".", ".." and the files in it.
pub fn entries() -> TestResult {
    let root = fs::stat("/").ctx("stat /")?;
    ensure!(root.size % 16 == 0, "/ has size {}, not a multiple of 16", root.size);
    let list = fs::read_dir("/").ctx("read /")?;
    ensure!(root.size >= 16 * list.len() as u64, "/ has size {} but {} entries", root.size, list.len());
    for (name, want) in [(".", true), ("..", true), ("README", false), ("usertests", false)] {
        let Some(e) = list.iter().find(|e| e.name() == name.as_bytes()) else {
            fail!("/ has no entry {}", name);
        };
        ensure!(
            !want || u32::from(e.inum) == root.ino,
            "{} in / has inode {}, not {}",
            name,
            e.inum,
            root.ino
        );
    }
    let readme = fs::stat("/README").ctx("stat /README")?;
    let e = list.iter().find(|e| e.name() == b"README").map(|e| e.inum);
    ensure!(e.map(u32::from) == Some(readme.ino), "README's entry and fstat disagree on its inode");
    Ok(())
}

/// Removing the working directory (if the kernel allows it) leaves the process sound, also
/// when it exits there.
pub fn cwd_removed() -> TestResult {
    util::clean(&["iputdir"]);
    fs::mkdir("iputdir").ctx("mkdir iputdir")?;
    fs::chdir("iputdir").ctx("chdir iputdir")?;
    let removed = fs::unlink("../iputdir").is_ok();
    // Nothing can be created in a removed directory; either way this must not crash.
    if removed {
        if let Ok(fd) = fs::open("ghost", O_CREATE | O_RDWR) {
            let _ = fs::close(fd);
            let _ = fs::unlink("ghost");
        }
    }
    fs::chdir("/").ctx("chdir / out of the removed directory")?;
    if !removed {
        fs::unlink("iputdir").ctx("unlink iputdir once not the cwd")?;
    }
    ensure!(!util::exists("iputdir"), "iputdir still exists");
    // The same, but the process exits inside the removed directory.
    fs::mkdir("iputdir").ctx("mkdir iputdir again")?;
    let status = util::in_child(|| {
        if fs::chdir("iputdir").is_err() {
            return 2;
        }
        let _ = fs::unlink("../iputdir");
        0
    })?;
    ensure!(status == 0, "child could not chdir into iputdir");
    let _ = fs::unlink("iputdir");
    ensure!(!util::exists("iputdir"), "iputdir still exists");
    Ok(())
}

/// Forty nested directories, a file in each, entered one by one and removed from the bottom.
pub fn deep() -> TestResult {
    const DEPTH: usize = 40;
    for level in 0..DEPTH {
        fs::mkdir("deep").ctx(&format!("mkdir at depth {}", level))?;
        fs::chdir("deep").ctx(&format!("chdir at depth {}", level))?;
        util::write_file("f", b"deep")?;
    }
    for level in (0..DEPTH).rev() {
        fs::unlink("f").ctx(&format!("unlink f at depth {}", level))?;
        fs::chdir("..").ctx(&format!("chdir .. at depth {}", level))?;
        fs::unlink("deep").ctx(&format!("unlink deep at depth {}", level))?;
    }
    ensure!(!util::exists("deep"), "deep still exists");
    Ok(())
}
