//! `reprise serve` as a child process of the benchmark: the `reprise` binary beside this one, its
//! own database, a free loopback port, and its memory read from `/proc`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts `reprise serve` on `database_url` and waits until it accepts connections.
    pub fn start(database_url: &str, jwt_secret: &str, log: &Path) -> anyhow::Result<Server> {
        let addr = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
        let log_path = log.to_path_buf();
        let log = std::fs::File::create(log)?;
        let mut command = Command::new(reprise_exe()?);
        command
            .arg("serve")
            .env("REPRISE_DATABASE_URL", database_url)
            .env("REPRISE_BIND", addr.to_string())
            .env("REPRISE_JWT_SECRET", jwt_secret)
            // Required on PostgreSQL like the JWT secret; the bench stores no secrets.
            .env(
                "REPRISE_SECRET_KEY",
                "0303030303030303030303030303030303030303030303030303030303030303",
            )
            .env(
                "REPRISE_VAPID_PRIVATE_KEY",
                "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
            )
            // No reminder passes over the generated learners while the load runs.
            .env("REPRISE_REMIND_INTERVAL_SECS", "0")
            .env("REPRISE_ACCESS_TOKEN_TTL_SECS", "3600")
            // The load generator answers for each learner far faster than a person: no cap.
            .env("REPRISE_ANSWER_BURST", "0")
            .env(
                "REPRISE_LOG",
                std::env::var("REPRISE_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let mut server = Server {
            child: command.spawn()?,
            addr,
            log: log_path,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = server.child.try_wait()? {
                anyhow::bail!("the server exited during start-up ({status})");
            }
            if Instant::now() > deadline {
                anyhow::bail!("the server did not start listening within 60 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// The last lines the server logged, and how it ended if it did.
    pub fn log_tail(&mut self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        let mut tail = all[all.len().saturating_sub(lines)..].join("\n");
        if let Ok(Some(status)) = self.child.try_wait() {
            tail.push_str(&format!("\n(the server exited: {status})"));
        }
        tail
    }

    /// Peak resident memory since the last `reset_peak_rss` (VmHWM), in bytes.
    pub fn peak_rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// CPU time (user + system) the server used so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        // Fields after the command name (which ends with ')'): utime is the 12th, stime the 13th.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map_or("", |(_, rest)| rest)
            .split_whitespace()
            .collect();
        let ticks: f64 = [11, 12]
            .iter()
            .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
            .sum();
        ticks / 100.0
    }

    /// Starts a new peak-memory window (Linux: writing 5 to `clear_refs` resets VmHWM).
    pub fn reset_peak_rss(&self) {
        let _ = std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5");
    }
}

/// The `reprise` executable in this one's folder: cargo builds both binaries of the package into
/// the same target folder, so the server measured is the one built with the benchmark.
fn reprise_exe() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let reprise = exe.with_file_name(format!("reprise{}", std::env::consts::EXE_SUFFIX));
    if !reprise.is_file() {
        anyhow::bail!(
            "the benchmark starts the server from {}, which is missing: build both binaries with \
             `cargo build --release --bins`",
            reprise.display()
        );
    }
    Ok(reprise)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
