//! External servers for tests: a request-validating Prism mock of the OpenAPI document and a real
//! OpenSSH SFTP server, started as child processes on 127.0.0.1 with a free port and killed on
//! drop. When a binary is missing: under CI (env `CI` set) the test fails and says to run
//! `.ci/splio-services.sh`; otherwise it prints a skip line and the test returns.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Find `name` (absolute path or on PATH); `None` means "skip this test".
pub fn require(name: &str, test: &str) -> Option<PathBuf> {
    let found = if Path::new(name).is_absolute() {
        Path::new(name).exists().then(|| PathBuf::from(name))
    } else {
        std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(name))
                .find(|p| p.is_file())
        })
    };
    if found.is_none() {
        let msg = format!(
            "{name} is not installed: run .ci/splio-services.sh (installs openssh-server and @stoplight/prism-cli)"
        );
        if std::env::var_os("CI").is_some() {
            panic!("{test}: {msg}");
        }
        eprintln!("SKIPPED {test}: {msg}");
    }
    found
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, child: &mut Child, what: &str, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("{what} exited early with {status}");
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not listen on 127.0.0.1:{port} within {limit:?}");
}

/// A child process killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The patched Splio OpenAPI document (shared/ sits beside the repository).
pub fn spec_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/api/specs/splio-customer-platform-openapi-patched.json")
}

/// `prism mock --errors` on a free port; stderr/stdout go to `log`.
pub fn start_prism(test: &str, log: &Path) -> Option<Server> {
    let prism = require("prism", test)?;
    let spec = spec_path();
    assert!(
        spec.exists(),
        "OpenAPI document not found at {}",
        spec.display()
    );
    let port = free_port();
    let out = std::fs::File::create(log).unwrap();
    let mut child = Command::new(prism)
        .args([
            "mock",
            "--errors",
            "-h",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .arg(&spec)
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("spawn prism");
    wait_for_port(port, &mut child, "prism", Duration::from_secs(60));
    Some(Server { child, port })
}

/// A throwaway OpenSSH server serving SFTP only, as the current user.
pub struct Sshd {
    pub server: Server,
    pub dir: tempfile::TempDir,
    pub user: String,
    /// Client private key accepted by the server.
    pub client_key: PathBuf,
    /// SHA256 fingerprint of the host key, as ssh-keygen prints it.
    pub host_fingerprint: String,
    /// The host public key line (`ssh-ed25519 AAAA…`).
    pub host_public: String,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run command");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn keygen(path: &Path) {
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "splio-test", "-f"])
        .arg(path));
}

pub fn fingerprint(public: &Path) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-l", "-E", "sha256", "-f"])
        .arg(public)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .to_string()
}

pub fn start_sshd(test: &str) -> Option<Sshd> {
    let sshd = require("/usr/sbin/sshd", test)?;
    require("ssh-keygen", test)?;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    keygen(&d.join("host_key"));
    keygen(&d.join("client_key"));
    std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
    for sub in ["imports", "reports"] {
        std::fs::create_dir(d.join(sub)).unwrap();
    }
    let user = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout)
        .unwrap()
        .trim()
        .to_string();
    if user == "root" {
        // Privilege separation directory, normally created by the service unit.
        let _ = std::fs::create_dir_all("/run/sshd");
    }
    let config = format!(
        "ListenAddress 127.0.0.1\nHostKey {d}/host_key\nPidFile none\nAuthorizedKeysFile {d}/authorized_keys\n\
         StrictModes no\nPubkeyAuthentication yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\n\
         PermitRootLogin yes\nUsePAM no\nSubsystem sftp internal-sftp\nForceCommand internal-sftp\nLogLevel ERROR\nMaxAuthTries 6\n",
        d = d.display()
    );
    std::fs::write(d.join("sshd_config"), config).unwrap();
    let port = free_port();
    let log = std::fs::File::create(d.join("sshd.log")).unwrap();
    let mut child = Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .args(["-p", &port.to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("spawn sshd");
    wait_for_port(port, &mut child, "sshd", Duration::from_secs(10));
    let host_fingerprint = fingerprint(&d.join("host_key.pub"));
    let host_public = std::fs::read_to_string(d.join("host_key.pub")).unwrap();
    let host_public = host_public
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    Some(Sshd {
        server: Server { child, port },
        client_key: d.join("client_key"),
        host_fingerprint,
        host_public,
        user,
        dir,
    })
}

/// The password-auth test user created by `.ci/splio-services.sh`.
pub const PASSWORD_USER: &str = "splio-test";
pub const PASSWORD: &str = "splio-test-password";
