//! The runner's command-line options: their defaults, the `--help` text, and a small parser
//! (both `--opt VALUE` and `--opt=VALUE`). It only turns arguments into [`Options`]; acting on
//! them is `main.rs`'s job.

use crate::image::ImageSize;
use std::path::PathBuf;
use std::time::Duration;

/// Everything `cargo run -- ...` can ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Extra host files for the image's root directory.
    pub add: Vec<PathBuf>,
    /// Number of harts.
    pub smp: u32,
    /// Guest memory, as QEMU's `-m` takes it.
    pub mem: String,
    /// A shell command to run instead of the interactive shell.
    pub run: Option<String>,
    /// Start QEMU's gdb stub and wait for gdb.
    pub gdb: bool,
    /// Kill QEMU after this long (only with `run`).
    pub timeout: Option<Duration>,
    /// Image size and inode count.
    pub size: ImageSize,
    /// Use the kernel and programs already built.
    pub no_build: bool,
    /// Boot this image, made only when it does not exist yet, and keep it afterwards.
    pub image: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            add: Vec::new(),
            smp: 3,
            mem: "128M".into(),
            run: None,
            gdb: false,
            timeout: None,
            size: ImageSize::default(),
            no_build: false,
            image: None,
        }
    }
}

/// What the arguments asked for.
#[derive(Debug, PartialEq, Eq)]
pub enum Request {
    /// Build and boot with these options.
    Run(Options),
    /// Print [`USAGE`].
    Help,
}

/// The `--help` text.
pub const USAGE: &str = "\
Builds the kernel, the user programs and build/fs.img, then boots them in QEMU.

usage: cargo run [-- OPTIONS]

options:
  --add PATH        put the host file PATH into the image's root directory under its file
                    name (repeatable; replaces a program of the same name)
  --smp N           number of harts (default 3)
  --mem SIZE        guest memory, as QEMU's -m takes it (default 128M)
  --run 'COMMAND'   run COMMAND with the guest's `sh -c` instead of the interactive shell,
                    stream its output, and exit with its status (QEMU's exit code)
  --timeout SECS    with --run: kill QEMU after SECS seconds and exit with status 124
  --gdb             start QEMU's gdb stub on :1234 and wait for gdb (prints how to attach)
  --fs-size SIZE    image size in bytes, with a K, M, G or T suffix (powers of 1024), e.g.
                    512M or 8G (default 128M); the image is sparse on the host, so a big
                    one costs only the blocks written
  --fs-blocks N     image size in 1024-byte blocks (default 131072 = 128 MiB; the same
                    setting as --fs-size, the last one given wins)
  --inodes N        number of inodes in the image (default 1024)
  --no-build        skip the cargo builds; use the kernel and programs already built
  --image PATH      boot the image PATH: made (as above) only when it does not exist, used
                    as it is otherwise, never removed (to boot one disk again, e.g. after a
                    crash)
  -h, --help        print this text

Without --run, QEMU runs on this terminal: type at the guest's shell, quit with Ctrl-A X.
Runner messages (the kernel and image paths, the QEMU command) go to stderr; the guest's
output goes to stdout.";

/// Parses the arguments that follow the program name.
///
/// # Errors
/// A message naming the offending option.
pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Request, String> {
    let mut opts = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value =
            || inline.clone().or_else(|| args.next()).ok_or_else(|| format!("{name} needs a value"));
        match name.as_str() {
            "-h" | "--help" => return Ok(Request::Help),
            "--add" => opts.add.push(PathBuf::from(value()?)),
            "--smp" => opts.smp = positive(&name, &value()?)?,
            "--mem" => opts.mem = memory_size(&value()?)?,
            "--run" => {
                let command = value()?;
                if command.trim().is_empty() {
                    return Err("--run needs a non-empty command".into());
                }
                opts.run = Some(command);
            }
            "--timeout" => {
                let secs = positive(&name, &value()?)?;
                opts.timeout = Some(Duration::from_secs(u64::from(secs)));
            }
            "--fs-blocks" => opts.size.blocks = positive(&name, &value()?)?,
            "--fs-size" => opts.size.blocks = fs_size_blocks(&value()?)?,
            "--inodes" => opts.size.inodes = positive(&name, &value()?)?,
            "--image" => opts.image = Some(PathBuf::from(value()?)),
            "--gdb" | "--no-build" if inline.is_some() => return Err(format!("{name} takes no value")),
            "--gdb" => opts.gdb = true,
            "--no-build" => opts.no_build = true,
            _ => return Err(format!("unknown argument {arg:?} (try --help)")),
        }
    }
    if opts.timeout.is_some() && opts.run.is_none() {
        return Err("--timeout applies only with --run".into());
    }
    Ok(Request::Run(opts))
}

fn positive(name: &str, v: &str) -> Result<u32, String> {
    match v.parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{name}: {v:?} is not a positive whole number")),
    }
}

/// The number of 1024-byte blocks in an image of `v` bytes: digits with an optional K, M, G
/// or T (powers of 1024); a whole number of blocks, at most 2^32 - 1 of them.
pub fn fs_size_blocks(v: &str) -> Result<u32, String> {
    let bad = || format!("--fs-size: {v:?} is not a size like 512M or 8G (whole KiB, below 4 TiB)");
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let shift = match &v[digits.len()..] {
        "" => 0,
        "K" | "k" => 10,
        "M" | "m" => 20,
        "G" | "g" => 30,
        "T" | "t" => 40,
        _ => return Err(bad()),
    };
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let bytes = digits.parse::<u64>().ok().and_then(|n| n.checked_mul(1 << shift)).ok_or_else(bad)?;
    if bytes == 0 || bytes % 1024 != 0 {
        return Err(bad());
    }
    u32::try_from(bytes / 1024).map_err(|_| bad())
}

/// Accepts what QEMU's `-m` accepts in practice: digits with an optional K, M, G or T.
fn memory_size(v: &str) -> Result<String, String> {
    let digits = v.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
    let suffix_len = v.len() - digits.len();
    if digits.is_empty() || suffix_len > 1 || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("--mem: {v:?} is not a size like 128M or 1G"));
    }
    Ok(v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str]) -> Result<Request, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]), Ok(Request::Run(Options::default())));
    }

    #[test]
    fn every_option() {
        let got = run(&[
            "--add",
            "a/b",
            "--add=c",
            "--smp",
            "4",
            "--mem=256M",
            "--run",
            "echo hi; ls",
            "--timeout",
            "30",
            "--gdb",
            "--fs-blocks",
            "2000",
            "--inodes=64",
            "--no-build",
            "--image=x.img",
        ]);
        let want = Options {
            add: vec!["a/b".into(), "c".into()],
            smp: 4,
            mem: "256M".into(),
            run: Some("echo hi; ls".into()),
            gdb: true,
            timeout: Some(Duration::from_secs(30)),
            size: ImageSize { blocks: 2000, inodes: 64 },
            no_build: true,
            image: Some("x.img".into()),
        };
        assert_eq!(got, Ok(Request::Run(want)));
    }

    #[test]
    fn fs_size_takes_suffixes() {
        let blocks = |args: &[&str]| match run(args) {
            Ok(Request::Run(o)) => Some(o.size.blocks),
            _ => None,
        };
        assert_eq!(blocks(&["--fs-size", "1G"]), Some(1 << 20));
        assert_eq!(blocks(&["--fs-size=512M"]), Some(512 << 10));
        assert_eq!(blocks(&["--fs-size", "8g"]), Some(8 << 20));
        assert_eq!(blocks(&["--fs-size", "2048k"]), Some(2048));
        assert_eq!(blocks(&["--fs-size", "4096"]), Some(4));
        assert_eq!(blocks(&["--fs-size", "3T"]), Some(3 << 30));
        // The last of --fs-size and --fs-blocks wins.
        assert_eq!(blocks(&["--fs-size", "1G", "--fs-blocks", "5000"]), Some(5000));
        assert_eq!(blocks(&["--fs-blocks", "5000", "--fs-size", "1M"]), Some(1024));
        for bad in ["", "G", "1.5G", "1GB", "1000", "0M", "4T", "-1M", "99999999999999999999G"] {
            assert_eq!(blocks(&["--fs-size", bad]), None, "{bad:?}");
        }
    }

    #[test]
    fn run_value_may_contain_equals_and_dashes() {
        let got = run(&["--run", "--weird=1"]).unwrap();
        let Request::Run(o) = got else { panic!() };
        assert_eq!(o.run.as_deref(), Some("--weird=1"));
        let Request::Run(o) = run(&["--run=a=b"]).unwrap() else { panic!() };
        assert_eq!(o.run.as_deref(), Some("a=b"));
    }

    #[test]
    fn errors() {
        assert_eq!(run(&["--help"]), Ok(Request::Help));
        for bad in [
            &["--smp"][..],
            &["--smp", "0"],
            &["--smp", "x"],
            &["--mem", "lots"],
            &["--mem", "12MM"],
            &["--timeout", "5"],
            &["--gdb=1"],
            &["--run", " "],
            &["--frobnicate"],
            &["stray"],
        ] {
            assert!(run(bad).is_err(), "{bad:?}");
        }
    }
}
