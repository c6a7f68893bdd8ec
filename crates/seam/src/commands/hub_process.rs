//! A hub (`seam run`) as a child process, for the benchmarks: its memory
//! and CPU are then its own, read from /proc, not mixed with the
//! simulators' that drive it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct HubProcess {
    child: Child,
    ready_url: String,
}

/// What /proc says of the hub's resources so far.
#[derive(Debug, Clone, Copy, Default)]
pub struct HubUsage {
    pub peak_rss_mb: f64,
    pub cpu_seconds: f64,
}

impl HubProcess {
    /// Starts `seam run --config <config>`, logging to `log`; `listen` must
    /// be the config's `hub.listen`.
    pub fn spawn(config: &Path, log: &Path, listen: std::net::SocketAddr) -> anyhow::Result<Self> {
        let exe = std::env::current_exe()?;
        let log_file = std::fs::File::create(log)?;
        let child = Command::new(exe)
            .arg("--config")
            .arg(config)
            .arg("run")
            .env(
                "SEAM_LOG",
                std::env::var("SEAM_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start the hub process: {e}"))?;
        Ok(HubProcess {
            child,
            ready_url: format!("http://{listen}/ready"),
        })
    }

    /// Waits until the hub answers /ready (its database is migrated).
    pub async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let started = Instant::now();
        let client = reqwest::Client::new();
        loop {
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("the hub exited before it was ready ({status})");
            }
            if let Ok(response) = client.get(&self.ready_url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            anyhow::ensure!(
                started.elapsed() < within,
                "the hub was not ready within {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory and CPU time (user and system) so far.
    pub fn usage(&self) -> HubUsage {
        let pid = self.pid();
        let peak_rss_mb = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|status| {
                let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
                line.split_whitespace().nth(1)?.parse::<f64>().ok()
            })
            .map_or(0.0, |kb| kb / 1024.0);
        // Fields 14 and 15 of /proc/<pid>/stat, after the parenthesised name.
        let cpu_seconds = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|stat| {
                let rest = &stat[stat.rfind(')')? + 2..];
                let fields: Vec<&str> = rest.split_whitespace().collect();
                let user: f64 = fields.get(11)?.parse().ok()?;
                let system: f64 = fields.get(12)?.parse().ok()?;
                // Clock ticks; 100 per second on Linux.
                Some((user + system) / 100.0)
            })
            .unwrap_or(0.0);
        HubUsage {
            peak_rss_mb,
            cpu_seconds,
        }
    }

    /// Stops the hub (its work is measured; nothing of it is kept).
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A free loopback address for a hub to listen on.
pub fn free_local_address() -> anyhow::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}
