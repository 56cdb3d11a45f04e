//! The `mkfs` command: builds an image whose root directory holds the given host files, each
//! under its file name. Argument handling only; the work is the library's `build_image`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: mkfs [--blocks N] [--inodes N] OUT.img FILE...
       mkfs check IMAGE   (check an image's consistency; exit 1 on any problem)
  --blocks N   image size in 1024-byte blocks (default 131072 = 128 MiB)
  --inodes N   number of inodes (default 1024)";

struct Args {
    out: PathBuf,
    files: Vec<PathBuf>,
    blocks: u32,
    inodes: u32,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut blocks = mkfs::DEFAULT_BLOCKS;
    let mut inodes = mkfs::DEFAULT_INODES;
    let mut paths = Vec::new();
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u32, String> {
            let v = args.next().ok_or(format!("{name} needs a value"))?;
            v.parse().map_err(|_| format!("{name}: {v:?} is not a number"))
        };
        match arg.as_str() {
            "--blocks" => blocks = number("--blocks")?,
            "--inodes" => inodes = number("--inodes")?,
            "-h" | "--help" => return Err(String::new()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            _ => paths.push(PathBuf::from(arg)),
        }
    }
    if paths.is_empty() {
        return Err("missing the output path".into());
    }
    let out = paths.remove(0);
    Ok(Args { out, files: paths, blocks, inodes })
}

fn file_name(path: &Path) -> Result<String, String> {
    path.file_name()
        .and_then(|n| n.to_str())
        .map(str::to_owned)
        .ok_or_else(|| format!("{}: no usable file name", path.display()))
}

fn run(args: Args) -> Result<(), String> {
    let mut files = Vec::new();
    for path in &args.files {
        let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push((file_name(path)?, data));
    }
    mkfs::build_image(&args.out, &files, args.blocks, args.inodes)
        .map_err(|e| format!("{}: {e}", args.out.display()))
}

/// `mkfs check IMAGE`: prints the report; exit status 0 only for a consistent image.
fn check(path: &Path) -> ExitCode {
    match mkfs::check_fs(path) {
        Ok(report) => {
            println!("{}: {report}", path.display());
            if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("mkfs: {}: {e}", path.display());
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    if let [cmd, image] = argv.as_slice() {
        if cmd == "check" {
            return check(Path::new(image));
        }
    }
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(msg) if msg.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("mkfs: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("mkfs: {msg}");
            ExitCode::FAILURE
        }
    }
}
