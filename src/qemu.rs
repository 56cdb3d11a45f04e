//! Starts QEMU for the `virt` machine with the project's kernel and image, either attached to
//! the terminal or as a [`Guest`] whose output is collected (and optionally echoed) while the
//! caller waits for it, types into it, or times it out.
//!
//! It owns the QEMU command line and the child process; a `Guest` that is dropped kills its
//! QEMU, so a failing test never leaves one running. It knows nothing of what the guest runs.

use crate::{tools::QEMU, Error, Result};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One QEMU configuration.
#[derive(Clone, Debug)]
pub struct Machine {
    /// The kernel ELF.
    pub kernel: PathBuf,
    /// The disk image (QEMU writes to it).
    pub image: PathBuf,
    /// Number of harts.
    pub smp: u32,
    /// Memory size as QEMU's `-m` takes it (`128M`, `1G`).
    pub mem: String,
    /// The kernel command line (`-append`); `Some` makes init run it and power off.
    pub append: Option<String>,
    /// Start the gdb stub on :1234 and wait for gdb before running (`-s -S`).
    pub gdb: bool,
    /// More QEMU arguments, appended last as given (for example `-icount shift=0` for the
    /// benchmarks' instruction-counted clock).
    pub extra: Vec<String>,
}

impl Machine {
    /// A machine with the default 3 harts and 128 MiB, no command, no gdb, no extra arguments.
    pub fn new(kernel: PathBuf, image: PathBuf) -> Machine {
        Machine { kernel, image, smp: 3, mem: "128M".into(), append: None, gdb: false, extra: Vec::new() }
    }

    /// QEMU's arguments, in the order of the reference command line, then `-append`, the gdb
    /// stub's and the extra ones.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = [
            "-machine",
            "virt",
            "-bios",
            "none",
            "-kernel",
            &self.kernel.to_string_lossy(),
            "-m",
            &self.mem,
            "-smp",
            &self.smp.to_string(),
            "-nographic",
            "-global",
            "virtio-mmio.force-legacy=false",
            "-drive",
            &format!("file={},if=none,format=raw,id=x0", self.image.display()),
            "-device",
            "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(cmd) = &self.append {
            args.push("-append".into());
            args.push(cmd.clone());
        }
        if self.gdb {
            args.push("-s".into());
            args.push("-S".into());
        }
        args.extend(self.extra.iter().cloned());
        args
    }

    /// The QEMU command, stdio not yet configured.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(QEMU);
        cmd.args(self.args());
        cmd
    }

    /// The command line as one shell-like string, for printing.
    pub fn command_line(&self) -> String {
        let quote = |a: &String| {
            if !a.is_empty() && a.bytes().all(|c| c.is_ascii_alphanumeric() || b"-_=.,/:".contains(&c)) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        };
        let args: Vec<String> = self.args().iter().map(quote).collect();
        format!("{QEMU} {}", args.join(" "))
    }
}

/// Output collected from a guest, and a signal for waiters when more arrives.
#[derive(Default)]
struct Transcript {
    bytes: Mutex<Vec<u8>>,
    grew: Condvar,
}

/// A running QEMU whose stdout and stderr are collected; its stdin is a pipe for
/// [`Guest::send`] when started with [`Guest::interactive`], else empty.
pub struct Guest {
    child: Child,
    stdin: Option<ChildStdin>,
    transcript: Arc<Transcript>,
    readers: Vec<JoinHandle<()>>,
}

/// How a guest run ended.
#[derive(Debug)]
pub struct Outcome {
    /// QEMU's exit code; `None` when it was killed (by the timeout or a signal).
    pub code: Option<i32>,
    /// Everything QEMU printed, stdout and stderr interleaved as they came.
    pub output: String,
    /// Whether the timeout expired and the runner killed QEMU.
    pub timed_out: bool,
}

impl Guest {
    /// Starts `machine` with stdin empty; with `echo`, the guest's output is also copied to
    /// this process's stdout and stderr as it arrives.
    pub fn start(machine: &Machine, echo: bool) -> Result<Guest> {
        Guest::spawn(machine, Stdio::null(), echo)
    }

    /// Starts `machine` with stdin a pipe, for typing into the guest's console.
    pub fn interactive(machine: &Machine, echo: bool) -> Result<Guest> {
        Guest::spawn(machine, Stdio::piped(), echo)
    }

    fn spawn(machine: &Machine, stdin: Stdio, echo: bool) -> Result<Guest> {
        let mut child = machine
            .command()
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::new(format!("cannot start {QEMU}: {e}")))?;
        let transcript = Arc::new(Transcript::default());
        let out = child.stdout.take().map(|s| Box::new(s) as Box<dyn Read + Send>);
        let err = child.stderr.take().map(|s| Box::new(s) as Box<dyn Read + Send>);
        let readers = [(out, false), (err, true)]
            .into_iter()
            .filter_map(|(src, is_err)| {
                let t = Arc::clone(&transcript);
                src.map(|s| std::thread::spawn(move || collect(s, &t, echo, is_err)))
            })
            .collect();
        Ok(Guest { stdin: child.stdin.take(), child, transcript, readers })
    }

    /// Everything the guest printed so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.transcript.bytes.lock().unwrap()).into_owned()
    }

    /// Types `text` into the guest's console.
    ///
    /// # Errors
    /// When the guest was not started with [`Guest::interactive`] or QEMU has exited.
    pub fn send(&mut self, text: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().ok_or_else(|| Error::new("this guest has no console input"))?;
        stdin
            .write_all(text.as_bytes())
            .and_then(|()| stdin.flush())
            .map_err(|e| Error::new(format!("cannot type into the guest: {e}")))
    }

    /// Waits until `done` holds for the output so far (true), or `timeout` passes or QEMU
    /// exits without it holding (false).
    pub fn wait_for(&mut self, timeout: Duration, done: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut bytes = self.transcript.bytes.lock().unwrap();
        loop {
            if done(&String::from_utf8_lossy(&bytes)) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            // Poll for exit now and then: output stops growing when QEMU is gone.
            let slice = (deadline - now).min(Duration::from_millis(200));
            bytes = self.transcript.grew.wait_timeout(bytes, slice).unwrap().0;
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                drop(bytes);
                self.join_readers();
                return done(&self.output());
            }
        }
    }

    /// Whether QEMU is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Waits for QEMU to exit, killing it when `timeout` (if any) passes first.
    pub fn finish(mut self, timeout: Option<Duration>) -> Result<Outcome> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut timed_out = false;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => {}
                Err(e) => return Err(Error::new(format!("waiting for {QEMU}: {e}"))),
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                timed_out = true;
                break self.kill_now();
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        self.join_readers();
        Ok(Outcome { code: if timed_out { None } else { status.code() }, output: self.output(), timed_out })
    }

    /// Kills QEMU and returns everything it printed.
    pub fn kill(mut self) -> String {
        self.kill_now();
        self.join_readers();
        self.output()
    }

    fn kill_now(&mut self) -> ExitStatus {
        self.stdin = None;
        let _ = self.child.kill();
        self.child.wait().expect("waiting for a child we started cannot fail")
    }

    fn join_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.kill_now();
        }
        self.join_readers();
    }
}

/// Appends everything `src` yields to the transcript until end of file.
fn collect(mut src: Box<dyn Read + Send>, t: &Transcript, echo: bool, is_err: bool) {
    let mut buf = [0u8; 4096];
    loop {
        let n = match src.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if echo {
            // A closed terminal must not stop the collection.
            let _ = if is_err {
                let mut e = std::io::stderr().lock();
                e.write_all(&buf[..n]).and_then(|()| e.flush())
            } else {
                let mut o = std::io::stdout().lock();
                o.write_all(&buf[..n]).and_then(|()| o.flush())
            };
        }
        t.bytes.lock().unwrap().extend_from_slice(&buf[..n]);
        t.grew.notify_all();
    }
}

/// Runs `machine` attached to this terminal (stdin, stdout, stderr inherited) until QEMU
/// exits; returns its exit status.
pub fn run_attached(machine: &Machine) -> Result<ExitStatus> {
    machine.command().status().map_err(|e| Error::new(format!("cannot start {QEMU}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_matches_the_reference() {
        let mut m = Machine::new("k".into(), "fs.img".into());
        assert_eq!(
            m.args().join(" "),
            "-machine virt -bios none -kernel k -m 128M -smp 3 -nographic \
             -global virtio-mmio.force-legacy=false \
             -drive file=fs.img,if=none,format=raw,id=x0 \
             -device virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0"
        );
        m.append = Some("echo 'a b'".into());
        m.gdb = true;
        let args = m.args();
        assert_eq!(args[args.len() - 4..], ["-append", "echo 'a b'", "-s", "-S"]);
        assert!(m.command_line().ends_with(r#"-append 'echo '\''a b'\''' -s -S"#));
        m.extra = vec!["-icount".into(), "shift=0".into()];
        let args = m.args();
        assert_eq!(args[args.len() - 6..], ["-append", "echo 'a b'", "-s", "-S", "-icount", "shift=0"]);
    }
}
