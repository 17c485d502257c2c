//! Which process a run belongs to, and whether that process is still alive: how the run log
//! tells a run that is still going from one whose process was killed (`kill -9`, an OOM, a
//! reboot) and left its row at `running`.
//!
//! A run row stores the process's [`ProcessId`]: its pid, its host (host name and, on Linux, the
//! kernel's boot id) and its start time (on Linux, the start tick from `/proc/<pid>/stat`). On
//! the same host, a process is gone when no process has that pid any more, or one with another
//! start time does (the pid was reused). From another host, or where `/proc` is missing, only the
//! run's heartbeat can tell: a run refreshes it while it works, so a row whose heartbeat is older
//! than [`STALE_AFTER`] is gone.

use std::time::Duration;

/// How often a run refreshes its heartbeat in the run log.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// A running row whose heartbeat is older than this is taken as gone, when its process cannot
/// be checked directly (another host).
pub const STALE_AFTER: Duration = Duration::from_secs(120);

/// What identifies a process across hosts and pid reuse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessId {
    /// The process id.
    pub pid: u32,
    /// The host name, with the boot id on Linux (`name/boot-id`): a reboot is another host.
    pub host: String,
    /// When the process started (Linux: clock ticks since boot), if known.
    pub started: Option<String>,
}

/// Whether the process of a run is still there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// It is running.
    Alive,
    /// It is gone: the run was killed, or its host rebooted.
    Gone,
    /// It cannot be checked from here (another host, no `/proc`).
    Unknown,
}

impl ProcessId {
    /// This process.
    pub fn current() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            host: host(),
            started: start_time(pid),
        }
    }

    /// Whether this process is alive, as seen from the current process.
    pub fn liveness(&self) -> Liveness {
        if self.host != host() {
            return Liveness::Unknown;
        }
        if !std::path::Path::new("/proc/self/stat").exists() {
            return Liveness::Unknown;
        }
        match start_time(self.pid) {
            None => Liveness::Gone,
            Some(started) if self.started.as_ref().is_some_and(|s| *s != started) => Liveness::Gone,
            Some(_) => Liveness::Alive,
        }
    }
}

/// The host name plus, on Linux, the boot id.
fn host() -> String {
    let read = |path: &str| {
        std::fs::read_to_string(path)
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let name = read("/proc/sys/kernel/hostname")
        .or_else(|| read("/etc/hostname"))
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown-host".into());
    match read("/proc/sys/kernel/random/boot_id") {
        Some(boot) => format!("{name}/{boot}"),
        None => name,
    }
}

/// The start time of process `pid` (field 22 of `/proc/<pid>/stat`); `None` if there is no such
/// process (or it is a zombie, which has finished).
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so fields count from the
    // last `)`. After it, field 3 (state) is the first and field 22 (starttime) the 20th.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    if matches!(fields.first(), Some(&"Z") | Some(&"X")) {
        return None;
    }
    fields.get(19).map(|s| (*s).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_one_is_gone() {
        let me = ProcessId::current();
        if !cfg!(target_os = "linux") {
            return;
        }
        assert!(me.started.is_some());
        assert_eq!(me.liveness(), Liveness::Alive);

        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let gone = ProcessId { pid, ..me.clone() };
        assert_eq!(gone.liveness(), Liveness::Gone);

        let reused = ProcessId {
            started: Some("1".into()),
            ..me.clone()
        };
        assert_eq!(reused.liveness(), Liveness::Gone, "same pid, other start");

        let elsewhere = ProcessId {
            host: "another-host/boot".into(),
            ..me
        };
        assert_eq!(elsewhere.liveness(), Liveness::Unknown);
    }
}
