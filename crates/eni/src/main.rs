//! The `eni` binary: `eni serve` runs the API server over a SQLite data directory;
//! `eni account create NAME` adds an account (and works while the server runs, since SQLite in
//! WAL mode takes a second writer process).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use eni_core::accounts::RootKey;
use eni_core::{Catalog, Core, CoreConfig};
use eni_store::Store;
use eni_store_sqlite::SqliteStore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Self-hostable Elastic Network Interface service speaking Alibaba Cloud's ECS and VPC APIs.
#[derive(Parser)]
#[command(name = "eni", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server.
    Serve(ServeArgs),
    /// Manage accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Run a host agent against a control plane (needs root or CAP_NET_ADMIN).
    Agent(AgentArgs),
    /// Manage this host's data plane.
    Dataplane {
        #[command(subcommand)]
        command: DataplaneCommand,
    },
}

/// Where the data plane keeps its objects.
#[derive(clap::Args, Clone)]
struct DataplaneArgs {
    /// Prefix of every namespace the data plane creates (instance namespaces are named
    /// exactly their InstanceId and recorded in the state dir instead).
    #[arg(long, env = "ENI_DATAPLANE_PREFIX", default_value = "eni-")]
    dataplane_prefix: String,
    /// Where the data plane records what it created.
    #[arg(long, env = "ENI_DATAPLANE_STATE_DIR", default_value = "/run/eni")]
    dataplane_state_dir: PathBuf,
    /// This host's ID.
    #[arg(long, env = "ENI_HOST_ID", default_value = "local")]
    host_id: String,
}

#[derive(clap::Args)]
struct AgentArgs {
    /// The control plane, e.g. http://10.0.0.1:8080.
    #[arg(long, env = "ENI_SERVER")]
    server: String,
    /// File holding the agent token (the server writes DATA_DIR/agent-token).
    #[arg(long, env = "ENI_AGENT_TOKEN_FILE")]
    token_file: PathBuf,
    #[command(flatten)]
    dataplane: DataplaneArgs,
}

#[derive(Subcommand)]
enum DataplaneCommand {
    /// Remove everything the data plane created on this host.
    Purge {
        #[command(flatten)]
        dataplane: DataplaneArgs,
    },
}

/// Which data plane `eni serve` drives.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
enum DataplaneKind {
    /// None: ENI transitions complete after --transition-delay-ms.
    None,
    /// Network namespaces and veths on this host (needs root or CAP_NET_ADMIN).
    Linux,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (the chosen one is printed).
    #[arg(long, env = "ENI_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory for the database and the generated root credentials.
    #[arg(long, env = "ENI_DATA_DIR", default_value = "./eni-data")]
    data_dir: PathBuf,
    /// JSON file replacing the built-in regions, zones and instance types.
    #[arg(long, env = "ENI_CATALOG")]
    catalog: Option<PathBuf>,
    /// VPCs per account and region.
    #[arg(long, env = "ENI_VPC_QUOTA", default_value_t = CoreConfig::default().vpc_quota)]
    vpc_quota: u64,
    /// Secondary ENIs per account and region.
    #[arg(long, env = "ENI_ENI_QUOTA", default_value_t = CoreConfig::default().eni_quota)]
    eni_quota: u64,
    /// How long Attaching, Detaching, Deleting and instance start/stop last (ms); 0 = instant.
    #[arg(long, env = "ENI_TRANSITION_DELAY_MS", default_value_t = CoreConfig::default().transition_delay_ms)]
    transition_delay_ms: u64,
    /// The IPv4 block EIPs take their public addresses from (default: the benchmarking
    /// range, which no real public address uses).
    #[arg(long, env = "ENI_EIP_POOL", default_value_t = CoreConfig::default().eip_pool)]
    eip_pool: eni_core::Ipv4Cidr,
    /// Run this host's data-plane agent inside the server.
    #[arg(long, env = "ENI_DATAPLANE", value_enum, default_value = "none")]
    dataplane: DataplaneKind,
    /// Let Attaching/Detaching wait for agents even without an in-process data plane
    /// (for hosts running `eni agent`).
    #[arg(long, env = "ENI_WAIT_FOR_AGENTS")]
    wait_for_agents: bool,
    #[command(flatten)]
    dp: DataplaneArgs,
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account and print its first access key as JSON.
    Create {
        /// Account name: 1 to 64 of A-Z a-z 0-9 - _ .
        name: String,
        /// The server's data directory.
        #[arg(long, env = "ENI_DATA_DIR", default_value = "./eni-data")]
        data_dir: PathBuf,
    },
}

const DB_FILE: &str = "eni.db";
const ROOT_CREDENTIALS_FILE: &str = "root-credentials.json";
const AGENT_TOKEN_FILE: &str = "agent-token";

/// The internal API's token: `ENI_AGENT_TOKEN`, else the one saved in the data dir, else a new
/// one saved there (mode 0600).
fn agent_token(data_dir: &Path) -> Result<String> {
    if let Ok(t) = std::env::var("ENI_AGENT_TOKEN") {
        if !t.is_empty() {
            return Ok(t);
        }
    }
    let path = data_dir.join(AGENT_TOKEN_FILE);
    if let Ok(t) = std::fs::read_to_string(&path) {
        let t = t.trim().to_string();
        if !t.is_empty() {
            return Ok(t);
        }
    }
    let t = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_secret_file(&path, &format!("{t}\n"))?;
    Ok(t)
}

/// Whether this process may create network namespaces and configure them: CAP_NET_ADMIN for
/// links and routes, CAP_SYS_ADMIN for the namespace bind mounts `ip netns add` makes.
fn can_run_dataplane() -> bool {
    const NET_ADMIN: u64 = 1 << 12;
    const SYS_ADMIN: u64 = 1 << 21;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .is_some_and(|caps| caps & NET_ADMIN != 0 && caps & SYS_ADMIN != 0)
}

fn linux_dataplane(args: &DataplaneArgs) -> Result<Arc<eni_dataplane::linux::LinuxDataplane>> {
    if !can_run_dataplane() {
        anyhow::bail!(
            "the Linux data plane needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network namespaces; \
             run as root, or without --dataplane"
        );
    }
    let missing = eni_dataplane::linux::LinuxDataplane::missing_tools();
    if !missing.is_empty() {
        anyhow::bail!(
            "the Linux data plane runs iproute2 (ip, tc) and nftables (nft); not found: {}. \
             Install them (Debian: apt-get install iproute2 nftables), or run without --dataplane",
            missing.join(", ")
        );
    }
    let dp = eni_dataplane::linux::LinuxDataplane::new(
        &args.dataplane_prefix,
        &args.dataplane_state_dir,
    )
    .map_err(|e| anyhow::anyhow!("data plane: {e}"))?;
    Ok(Arc::new(dp))
}

fn agent_config(server: String, token: String, args: &DataplaneArgs) -> eni_agent::AgentConfig {
    eni_agent::AgentConfig {
        server,
        token,
        host_id: args.host_id.clone(),
        prefix: args.dataplane_prefix.clone(),
        resync: std::time::Duration::from_secs(2),
    }
}

fn open_store(data_dir: &Path) -> Result<Arc<dyn Store>> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    let store = SqliteStore::open(&data_dir.join(DB_FILE))
        .map_err(|e| anyhow::anyhow!("opening the database: {e}"))?;
    Ok(Arc::new(store))
}

fn write_secret_file(path: &Path, contents: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

fn root_key_from_env() -> Result<Option<(String, String)>> {
    let id = std::env::var("ENI_ROOT_ACCESS_KEY_ID")
        .ok()
        .filter(|s| !s.is_empty());
    let secret = std::env::var("ENI_ROOT_ACCESS_KEY_SECRET")
        .ok()
        .filter(|s| !s.is_empty());
    match (id, secret) {
        (Some(i), Some(s)) => Ok(Some((i, s))),
        (None, None) => Ok(None),
        _ => anyhow::bail!(
            "set both ENI_ROOT_ACCESS_KEY_ID and ENI_ROOT_ACCESS_KEY_SECRET, or neither"
        ),
    }
}

async fn serve(args: ServeArgs) -> Result<()> {
    let catalog = match &args.catalog {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            Catalog::from_json(&text).with_context(|| format!("catalog {}", p.display()))?
        }
        None => Catalog::default(),
    };
    let store = open_store(&args.data_dir)?;
    let config = CoreConfig {
        vpc_quota: args.vpc_quota,
        eni_quota: args.eni_quota,
        transition_delay_ms: args.transition_delay_ms,
        eip_pool: args.eip_pool,
        dataplane: args.dataplane == DataplaneKind::Linux || args.wait_for_agents,
        ..CoreConfig::default()
    };
    // Fail before binding if the data plane cannot start (no root, say).
    let dataplane = match args.dataplane {
        DataplaneKind::Linux => Some(linux_dataplane(&args.dp)?),
        DataplaneKind::None => None,
    };
    let token = agent_token(&args.data_dir)?;
    let core = Core::new(store, catalog, config);
    match core
        .ensure_root(root_key_from_env()?)
        .map_err(|e| anyhow::anyhow!("root account: {e}"))?
    {
        RootKey::Generated(k) => {
            let path = args.data_dir.join(ROOT_CREDENTIALS_FILE);
            let json = serde_json::json!({
                "AccountId": k.account_id.0.to_string(),
                "AccessKeyId": k.id,
                "AccessKeySecret": k.secret,
            });
            write_secret_file(&path, &format!("{json:#}\n"))?;
            // Shown once, on the terminal of whoever started the server; never logged.
            println!(
                "root access key (also saved to {}):\n{json:#}",
                path.display()
            );
        }
        RootKey::Given(k) => tracing::info!(access_key_id = %k.id, "root key from the environment"),
        RootKey::Unchanged => {
            tracing::info!(
                "root account exists; its key is in {}",
                args.data_dir.join(ROOT_CREDENTIALS_FILE).display()
            )
        }
    }

    let purge = core.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            tick.tick().await;
            let c = purge.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || c.purge_nonces()).await {
                tracing::warn!(code = e.code(), "nonce purge failed");
            }
        }
    });

    // Completes due transitions while nobody writes (writes settle them anyway).
    let settler = core.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let c = settler.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || c.settle()).await {
                tracing::warn!(code = e.code(), "settling transitions failed");
            }
        }
    });

    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    // Scripts that start the server on port 0 read this line.
    println!("listening on {addr}");
    tracing::info!(%addr, "eni API server ready");
    let app = eni_api::router(eni_api::AppState::new(core).with_agent_token(&token));
    let agent_stop = Arc::new(tokio::sync::Notify::new());
    let mut agent_task = None;
    if let Some(dp) = dataplane {
        // The in-process agent still talks to the control plane over HTTP, like any other.
        let host = if addr.ip().is_unspecified() {
            std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        };
        let agent = eni_agent::Agent::new(
            agent_config(format!("http://{host}"), token.clone(), &args.dp),
            dp,
        );
        let stop = agent_stop.clone();
        agent_task = Some(tokio::spawn(
            agent.run(async move { stop.notified().await }),
        ));
        tracing::info!(host_id = %args.dp.host_id, "data-plane agent running in the server");
    }
    // On a signal, stop the agent first (it holds a long poll open), then the server. The
    // kernel state stays as it is: a restart picks it up without touching traffic.
    let stop = agent_stop.clone();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown().await;
            stop.notify_waiters();
        })
        .await?;
    if let Some(t) = agent_task {
        let _ = t.await;
    }
    Ok(())
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
}

fn account_create(name: &str, data_dir: &Path) -> Result<()> {
    let store = open_store(data_dir)?;
    let core = Core::new(store, Catalog::default(), CoreConfig::default());
    let made = core
        .create_account(name)
        .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
    let json = serde_json::json!({
        "AccountId": made.account.id.0.to_string(),
        "AccessKeyId": made.key.id,
        "AccessKeySecret": made.key.secret,
    });
    println!("{json}");
    Ok(())
}

fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ENI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(serve(args))
        }
        Command::Account {
            command: AccountCommand::Create { name, data_dir },
        } => account_create(&name, &data_dir),
        Command::Agent(args) => {
            let token = std::fs::read_to_string(&args.token_file)
                .with_context(|| format!("reading {}", args.token_file.display()))?
                .trim()
                .to_string();
            let dp = linux_dataplane(&args.dataplane)?;
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let agent = eni_agent::Agent::new(agent_config(args.server.clone(), token, &args.dataplane), dp);
                tracing::info!(server = %args.server, host_id = %args.dataplane.host_id, "agent running");
                agent.run(shutdown()).await;
            });
            Ok(())
        }
        Command::Dataplane {
            command: DataplaneCommand::Purge { dataplane },
        } => {
            let dp = linux_dataplane(&dataplane)?;
            let removed = dp.purge().map_err(|e| anyhow::anyhow!("purge: {e}"))?;
            for r in &removed {
                println!("removed {r}");
            }
            println!("{} namespace(s) removed", removed.len());
            Ok(())
        }
    }
}
