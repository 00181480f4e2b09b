//! Named network namespaces: entering one from a helper thread, running `ip` and `tc` there,
//! and the marker files that record which namespaces eni created.
//!
//! Everything namespace-local runs on a short-lived thread that has `setns()`ed into the
//! namespace: `/proc/sys/net` resolves against the calling *thread's* namespace, and a child
//! process inherits the namespace of the thread that spawned it. So `ip` and `tc` run there
//! without `-n`, which saves the mount-namespace unshare and `/sys` remount `ip -n` does per call.

use crate::DataplaneError;
use nix::sched::{setns, CloneFlags};
use std::fs::File;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// Where iproute2 keeps named namespaces (bind mounts of `/proc/<pid>/ns/net`).
pub(crate) const NETNS_DIR: &str = "/run/netns";

/// Whether the named namespace exists (its name does; see [`usable`]).
pub(crate) fn exists(ns: &str) -> bool {
    Path::new(NETNS_DIR).join(ns).exists()
}

/// Whether the name refers to a namespace that can be entered.
pub(crate) fn usable(ns: &str) -> bool {
    in_netns(ns, || Ok(())).is_ok()
}

/// Every named namespace on the host.
pub(crate) fn list() -> Result<Vec<String>, DataplaneError> {
    let rd = match std::fs::read_dir(NETNS_DIR) {
        Ok(rd) => rd,
        // No namespace was ever named on this host.
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(DataplaneError::Observe(format!("listing {NETNS_DIR}: {e}"))),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry =
            entry.map_err(|e| DataplaneError::Observe(format!("listing {NETNS_DIR}: {e}")))?;
        if let Some(name) = entry.file_name().to_str() {
            out.push(name.to_string());
        }
    }
    out.sort();
    Ok(out)
}

/// A namespace name eni will use: a plain file name that is also one `ip -batch` token.
pub(crate) fn valid_name(ns: &str) -> bool {
    !ns.is_empty()
        && ns.len() <= 255
        && ns != "."
        && ns != ".."
        && ns
            .chars()
            .all(|c| c.is_ascii_graphic() && !"/\\\"'#".contains(c))
}

/// Why entering a namespace failed.
pub(crate) enum EnterError {
    /// It does not exist (any more).
    Missing,
    Other(DataplaneError),
}

/// Runs `f` on a thread inside namespace `ns` and returns its result.
pub(crate) fn in_netns<T: Send>(
    ns: &str,
    f: impl FnOnce() -> Result<T, DataplaneError> + Send,
) -> Result<T, EnterError> {
    in_netns_as(ns, None, f)
}

/// [`in_netns`] on a thread called `name` (when given), so tracers can tell it apart.
fn in_netns_as<T: Send>(
    ns: &str,
    name: Option<&str>,
    f: impl FnOnce() -> Result<T, DataplaneError> + Send,
) -> Result<T, EnterError> {
    let path = Path::new(NETNS_DIR).join(ns);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(EnterError::Missing),
        Err(e) => {
            return Err(EnterError::Other(DataplaneError::Failed {
                what: format!("opening {}", path.display()),
                detail: e.to_string(),
            }))
        }
    };
    // A fresh thread per call: it dies with the namespace switch, so no caller's thread (a tokio
    // worker, say) is ever left in the wrong namespace.
    std::thread::scope(|s| {
        let mut builder = std::thread::Builder::new();
        if let Some(name) = name {
            builder = builder.name(name.to_string());
        }
        let spawned =
            builder.spawn_scoped(s, move || match setns(&file, CloneFlags::CLONE_NEWNET) {
                // EINVAL: a plain file, not a namespace mount (left by a crash inside
                // `ip netns add`); there is no namespace to speak of.
                Err(nix::errno::Errno::EINVAL) => Err(EnterError::Missing),
                Err(e) => Err(EnterError::Other(DataplaneError::Failed {
                    what: format!("setns into {}", path.display()),
                    detail: e.to_string(),
                })),
                Ok(()) => f().map_err(EnterError::Other),
            });
        let worker = match spawned {
            Ok(w) => w,
            Err(e) => {
                return Err(EnterError::Other(DataplaneError::Failed {
                    what: format!("starting a thread for netns {ns}"),
                    detail: e.to_string(),
                }))
            }
        };
        match worker.join() {
            Ok(r) => r,
            Err(_) => Err(EnterError::Other(DataplaneError::Failed {
                what: format!("worker thread in netns {ns}"),
                detail: "panicked".into(),
            })),
        }
    })
}

/// Like [`in_netns`] on a thread called `name`, with a missing namespace turned into an error
/// that names it.
pub(crate) fn in_existing_netns<T: Send>(
    ns: &str,
    name: &str,
    f: impl FnOnce() -> Result<T, DataplaneError> + Send,
) -> Result<T, DataplaneError> {
    in_netns_as(ns, Some(name), f).map_err(|e| match e {
        EnterError::Missing => DataplaneError::Failed {
            what: format!("entering netns {ns}"),
            detail: "it does not exist".into(),
        },
        EnterError::Other(e) => e,
    })
}

/// What one `ip` (or `tc`) run answered.
pub(crate) struct IpOutput {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

fn ip_binary() -> &'static str {
    static IP: OnceLock<&'static str> = OnceLock::new();
    // A daemon's PATH may lack /sbin; prefer the usual absolute locations.
    IP.get_or_init(|| {
        ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("ip")
    })
}

fn tc_binary() -> &'static str {
    static TC: OnceLock<&'static str> = OnceLock::new();
    TC.get_or_init(|| {
        ["/usr/sbin/tc", "/sbin/tc", "/usr/bin/tc", "/bin/tc"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("tc")
    })
}

fn bridge_binary() -> &'static str {
    static BRIDGE: OnceLock<&'static str> = OnceLock::new();
    BRIDGE.get_or_init(|| {
        [
            "/usr/sbin/bridge",
            "/sbin/bridge",
            "/usr/bin/bridge",
            "/bin/bridge",
        ]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("bridge")
    })
}

fn nft_binary() -> &'static str {
    static NFT: OnceLock<&'static str> = OnceLock::new();
    NFT.get_or_init(|| {
        ["/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft", "/bin/nft"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("nft")
    })
}

/// The tools the data plane runs that this host lacks (`ip`, `tc`, `bridge`, `nft`).
pub(crate) fn missing_tools() -> Vec<&'static str> {
    let found = |bin: &str| {
        Path::new(bin).is_absolute() && Path::new(bin).exists()
            || std::env::var_os("PATH")
                .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(bin).is_file()))
    };
    [
        ("ip", ip_binary()),
        ("tc", tc_binary()),
        ("bridge", bridge_binary()),
        ("nft", nft_binary()),
    ]
    .into_iter()
    .filter(|(_, bin)| !found(bin))
    .map(|(name, _)| name)
    .collect()
}

/// Runs `nft ARGS` in the calling thread's namespace with `stdin` as input.
pub(crate) fn nft(args: &[&str], stdin: &str) -> Result<IpOutput, DataplaneError> {
    run(("nft", nft_binary()), args, stdin)
}

/// Runs `ip ARGS` in the calling thread's namespace with `stdin` as input.
pub(crate) fn ip(args: &[&str], stdin: &str) -> Result<IpOutput, DataplaneError> {
    run(("ip", ip_binary()), args, stdin)
}

/// Runs `bridge ARGS` in the calling thread's namespace with `stdin` as input.
pub(crate) fn bridge(args: &[&str], stdin: &str) -> Result<IpOutput, DataplaneError> {
    run(("bridge", bridge_binary()), args, stdin)
}

/// Runs `tc ARGS` in the calling thread's namespace with `stdin` as input.
pub(crate) fn tc(args: &[&str], stdin: &str) -> Result<IpOutput, DataplaneError> {
    run(("tc", tc_binary()), args, stdin)
}

fn run(
    (name, binary): (&str, &str),
    args: &[&str],
    stdin: &str,
) -> Result<IpOutput, DataplaneError> {
    let what = || format!("{name} {}", args.join(" "));
    let mut child = Command::new(binary)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| DataplaneError::Failed {
            what: what(),
            detail: format!("cannot start: {e}"),
        })?;
    let mut input = child.stdin.take().expect("piped stdin");
    let out = std::thread::scope(|s| {
        // Feed stdin from a second thread only when it might not fit in the pipe: ip writes
        // output while it reads, so one thread writing a large batch could deadlock with it.
        if stdin.len() > 16 * 1024 {
            s.spawn(move || {
                let _ = input.write_all(stdin.as_bytes());
            });
        } else {
            // A write error means ip exited early; its stderr says why.
            let _ = input.write_all(stdin.as_bytes());
            drop(input);
        }
        child.wait_with_output()
    })
    .map_err(|e| DataplaneError::Failed {
        what: what(),
        detail: e.to_string(),
    })?;
    Ok(IpOutput {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// Runs `ip` with no namespace switch (for `ip netns add/del`, which name their target).
pub(crate) fn ip_host(args: &[&str]) -> Result<(), DataplaneError> {
    let out = ip(args, "")?;
    if out.ok {
        Ok(())
    } else {
        Err(DataplaneError::Failed {
            what: format!("ip {}", args.join(" ")),
            detail: out.stderr,
        })
    }
}

/// One empty file per namespace eni created, under `<state_dir>/netns/`.
#[derive(Debug)]
pub(crate) struct Markers {
    dir: PathBuf,
}

impl Markers {
    pub(crate) fn new(state_dir: &Path) -> Self {
        Markers {
            dir: state_dir.join("netns"),
        }
    }

    pub(crate) fn has(&self, ns: &str) -> bool {
        valid_name(ns) && self.dir.join(ns).exists()
    }

    pub(crate) fn add(&self, ns: &str) -> Result<(), DataplaneError> {
        let fail = |e: std::io::Error| DataplaneError::Failed {
            what: format!("recording namespace {ns} in {}", self.dir.display()),
            detail: e.to_string(),
        };
        std::fs::create_dir_all(&self.dir).map_err(fail)?;
        File::create(self.dir.join(ns))
            .and_then(|f| f.sync_all())
            .map_err(fail)
    }

    pub(crate) fn remove(&self, ns: &str) -> Result<(), DataplaneError> {
        match std::fs::remove_file(self.dir.join(ns)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(DataplaneError::Failed {
                what: format!("forgetting namespace {ns} in {}", self.dir.display()),
                detail: e.to_string(),
            }),
        }
    }

    pub(crate) fn list(&self) -> Result<Vec<String>, DataplaneError> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(DataplaneError::Observe(format!(
                    "listing {}: {e}",
                    self.dir.display()
                )))
            }
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry = entry.map_err(|e| {
                DataplaneError::Observe(format!("listing {}: {e}", self.dir.display()))
            })?;
            if let Some(name) = entry.file_name().to_str() {
                out.push(name.to_string());
            }
        }
        Ok(out)
    }
}
