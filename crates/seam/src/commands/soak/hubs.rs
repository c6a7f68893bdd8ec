//! The hubs under test: `seam run` as child processes of this very binary,
//! each with its own configuration and log file, killed with SIGKILL (no
//! chance to finish anything: `Child::start_kill` sends SIGKILL on Unix) and
//! started again as a supervisor would.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::process::{Child, Command};

/// The environment variable a hub's configuration reads its database URL
/// from, so a password never lands in the written file.
pub const DATABASE_URL_VAR: &str = "SEAM_SOAK_DATABASE_URL";

pub struct Hub {
    pub index: usize,
    pub listen: SocketAddr,
    config: PathBuf,
    log: PathBuf,
    database_url: Option<String>,
    child: Option<Child>,
    /// How many times this hub was started (its worker ids differ per start).
    pub starts: u32,
    pub kills: u32,
}

impl Hub {
    pub fn new(
        index: usize,
        listen: SocketAddr,
        config: PathBuf,
        log: PathBuf,
        database_url: Option<String>,
    ) -> Hub {
        Hub {
            index,
            listen,
            config,
            log,
            database_url,
            child: None,
            starts: 0,
            kills: 0,
        }
    }

    pub fn name(&self) -> String {
        format!("hub {}", self.index)
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    pub fn is_up(&mut self) -> bool {
        match &mut self.child {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Starts `seam run` with this hub's configuration, appending to its log.
    pub fn start(&mut self) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("finding the seam binary")?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        let mut command = Command::new(exe);
        command
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .arg("--worker-id")
            .arg(format!("soak-hub{}-start{}", self.index, self.starts + 1))
            .env_remove("SEAM_CONFIG")
            .env(
                "SEAM_LOG",
                std::env::var("SEAM_SOAK_HUB_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // If the soak itself dies, its hubs go with it.
            .kill_on_drop(true);
        if let Some(url) = &self.database_url {
            command.env(DATABASE_URL_VAR, url);
        }
        self.child = Some(command.spawn().context("starting a hub")?);
        self.starts += 1;
        Ok(())
    }

    /// SIGKILL, then reaps the process. A hub that is down already is left so.
    pub async fn kill(&mut self) -> anyhow::Result<bool> {
        let Some(mut child) = self.child.take() else {
            return Ok(false);
        };
        if !matches!(child.try_wait(), Ok(None)) {
            return Ok(false);
        }
        child.start_kill().context("sending SIGKILL")?;
        child.wait().await.context("reaping a killed hub")?;
        self.kills += 1;
        Ok(true)
    }

    /// Stops the hub at the end of the run (SIGKILL, not counted as a kill).
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            child.wait().await.context("reaping a hub")?;
        }
        Ok(())
    }

    /// Waits until the hub answers `/health`, or says why not.
    pub async fn wait_healthy(&mut self, within: Duration) -> anyhow::Result<()> {
        let client = reqwest_client();
        let url = format!("http://{}/health", self.listen);
        let started = Instant::now();
        while started.elapsed() < within {
            if !self.is_up() {
                anyhow::bail!(
                    "{} exited while starting; see {}",
                    self.name(),
                    self.log.display()
                );
            }
            if let Ok(response) = client.get(&url).send().await {
                if response.status().is_success() {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        anyhow::bail!(
            "{} did not answer /health within {within:?}; see {}",
            self.name(),
            self.log.display()
        )
    }
}

pub fn reqwest_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap_or_default()
}

/// A free loopback port for a hub, the same across its restarts.
pub fn free_address() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?)
}
