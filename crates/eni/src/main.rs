//! The `eni` binary: `eni serve` runs the API server over a SQLite data directory;
//! `eni account create NAME` adds an account (and works while the server runs, since SQLite in
//! WAL mode takes a second writer process); `eni agent` and `eni dataplane purge` run and clear
//! a host's data plane.

mod datadir;
mod dbcopy;
mod tls;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use eni_core::accounts::RootKey;
use eni_core::{Catalog, Core, CoreConfig};
use eni_store::Store;
use eni_store_postgres::PgStore;
use eni_store_sqlite::SqliteStore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

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
    /// Run a host agent against a control plane (needs root: CAP_NET_ADMIN and CAP_SYS_ADMIN).
    Agent(AgentArgs),
    /// Manage this host's data plane.
    Dataplane {
        #[command(subcommand)]
        command: DataplaneCommand,
    },
    /// Manage the database.
    Db {
        #[command(subcommand)]
        command: DbCommand,
    },
    /// Manage the data-plane hosts (listed as dedicated hosts).
    Host {
        #[command(subcommand)]
        command: HostCommand,
    },
}

#[derive(Subcommand)]
enum HostCommand {
    /// Remove a host gone for good, in every zone it serves or in one (refused while it holds
    /// instances; an agent still running registers it again). Prints how many were removed.
    Remove {
        /// The host's name (its agent's --host-id).
        name: String,
        /// Only its registration in this zone.
        #[arg(long)]
        zone: Option<String>,
        /// The server's data directory.
        #[arg(long, env = "ENI_DATA_DIR", default_value = "./eni-data")]
        data_dir: PathBuf,
        /// The servers' PostgreSQL database, when they use one (see `eni serve`).
        #[arg(long, env = "ENI_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Copy a SQLite server's whole state into an empty PostgreSQL database (stop the server
    /// first), then serve it with `eni serve --database-url`.
    Copy {
        /// The SQLite server's data dir (it holds eni.db).
        #[arg(long)]
        from: PathBuf,
        /// The PostgreSQL database, postgres://USER:PASS@HOST:PORT/DB; it must be empty.
        #[arg(long)]
        to: String,
    },
}

/// Where the data plane keeps its objects.
#[derive(clap::Args, Clone)]
struct DataplaneArgs {
    /// Prefix of every namespace the data plane creates (instance namespaces are named
    /// exactly their InstanceId and recorded in the state dir instead).
    #[arg(long, env = "ENI_DATAPLANE_PREFIX", default_value = "eni-", value_parser = namespace_prefix)]
    dataplane_prefix: String,
    /// Where the data plane records what it created.
    #[arg(long, env = "ENI_DATAPLANE_STATE_DIR", default_value = "/run/eni")]
    dataplane_state_dir: PathBuf,
    /// This host's ID.
    #[arg(long, env = "ENI_HOST_ID", default_value = "local")]
    host_id: String,
    /// The MTU of the links the data plane makes (instances' NICs, router ports, the overlay).
    /// Between hosts the underlay must carry 50 bytes more (VXLAN): over a 1500-byte underlay,
    /// 1450 (or larger packets are fragmented on it).
    #[arg(long, env = "ENI_MTU", default_value_t = 1500,
          value_parser = clap::value_parser!(u32).range(1280..=9000))]
    mtu: u32,
    /// Do not serve the instance metadata service (http://100.100.100.200/ inside every
    /// instance).
    #[arg(long, env = "ENI_NO_METADATA")]
    no_metadata: bool,
}

#[derive(clap::Args)]
struct AgentArgs {
    /// The control plane, e.g. http://10.0.0.1:8080.
    #[arg(long, env = "ENI_SERVER")]
    server: String,
    /// File holding the agent token (the server writes DATA_DIR/agent-token).
    #[arg(long, env = "ENI_AGENT_TOKEN_FILE")]
    token_file: PathBuf,
    /// The zone this host serves: registers the host (`--host-id`) there, so that the API
    /// lists it as a dedicated host and places the zone's new instances on it. Without it the
    /// host is not registered (it serves the instances of zones that have no registered host).
    #[arg(long, env = "ENI_ZONE", requires = "underlay_address")]
    zone: Option<String>,
    /// The address other hosts reach this one at (the overlay's tunnel endpoint).
    #[arg(long, env = "ENI_UNDERLAY_ADDRESS", requires = "zone")]
    underlay_address: Option<std::net::IpAddr>,
    /// vCPUs this host's instances may take in all (instance types' vCPUs; eni does not pin
    /// CPUs, so this is a placement budget, not the machine's cores).
    #[arg(long, env = "ENI_CAPACITY_VCPUS", default_value_t = LOCAL_CAPACITY_VCPUS)]
    capacity_vcpus: u32,
    #[command(flatten)]
    dataplane: DataplaneArgs,
}

#[derive(Subcommand)]
enum DataplaneCommand {
    /// Remove everything the data plane created on this host (refused while a server or agent
    /// uses the same state dir).
    Purge {
        #[command(flatten)]
        dataplane: DataplaneArgs,
        /// Purge even while a server or agent uses the state dir (it rebuilds what it needs).
        #[arg(long)]
        force: bool,
    },
}

/// Which data plane `eni serve` drives.
#[derive(clap::ValueEnum, Clone, Copy, PartialEq, Eq)]
enum DataplaneKind {
    /// None: ENI transitions complete after --transition-delay-ms.
    None,
    /// Network namespaces and veths on this host (needs root: CAP_NET_ADMIN and
    /// CAP_SYS_ADMIN).
    Linux,
    /// None in the server: hosts run `eni agent`, and Attaching/Detaching complete when their
    /// agents report (as --wait-for-agents).
    Agents,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on, HOST:PORT (a name such as localhost is resolved); port 0 picks a
    /// free port (the chosen one is printed).
    #[arg(long, env = "ENI_LISTEN", default_value = "127.0.0.1:8080")]
    listen: String,
    /// Directory for the database, the generated root credentials and the agent token (made
    /// 0700, its files 0600; one server at a time).
    #[arg(long, env = "ENI_DATA_DIR", default_value = "./eni-data")]
    data_dir: PathBuf,
    /// A PostgreSQL database that several servers share, postgres://USER:PASS@HOST:PORT/DB,
    /// instead of SQLite in the data dir (which then holds only a copy of the agent token, which
    /// the database keeps for all servers, and the root credentials this server generated).
    #[arg(long, env = "ENI_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// JSON file replacing the built-in regions, zones and instance types.
    #[arg(long, env = "ENI_CATALOG")]
    catalog: Option<PathBuf>,
    /// VPCs per account and region.
    #[arg(long, env = "ENI_VPC_QUOTA", default_value_t = CoreConfig::default().vpc_quota)]
    vpc_quota: u64,
    /// Secondary ENIs per account and region.
    #[arg(long, env = "ENI_ENI_QUOTA", default_value_t = CoreConfig::default().eni_quota)]
    eni_quota: u64,
    /// EIPs per account and region, in any state.
    #[arg(long, env = "ENI_EIP_QUOTA", default_value_t = CoreConfig::default().eip_quota)]
    eip_quota: u64,
    /// How long the transitional states last, in ms: Attaching, Detaching and Deleting (ENIs),
    /// Pending, Starting and Stopping (instances), Associating and Unassociating (EIPs); 0
    /// completes them within the call. With a data plane, Attaching, Detaching, Associating
    /// and Unassociating last until the agent reports them done instead.
    #[arg(long, env = "ENI_TRANSITION_DELAY_MS", default_value_t = CoreConfig::default().transition_delay_ms)]
    transition_delay_ms: u64,
    /// Seconds a host's agent may stay silent before the host turns UnderAssessment in
    /// DescribeDedicatedHosts and takes no new instances.
    #[arg(long, env = "ENI_HOST_SILENCE_TIMEOUT", default_value_t = 60)]
    host_silence_timeout: u32,
    /// Seconds a web-console session (/console/) lasts from sign-in.
    #[arg(long, env = "ENI_CONSOLE_SESSION_TTL", default_value_t = 8 * 3600)]
    console_session_ttl: u32,
    /// The IPv4 block EIPs take their public addresses from (default: the benchmarking
    /// range, which no real public address uses).
    #[arg(long, env = "ENI_EIP_POOL", default_value_t = CoreConfig::default().eip_pool)]
    eip_pool: eni_core::Ipv4Cidr,
    /// Seconds a client has to send a complete request head, counted from connecting (or from
    /// the first byte of a later request on the same connection).
    #[arg(long, env = "ENI_HEADER_READ_TIMEOUT", default_value = "10", value_parser = seconds)]
    header_read_timeout: Duration,
    /// Seconds a client has to send a request's body once its head arrived.
    #[arg(long, env = "ENI_BODY_READ_TIMEOUT", default_value = "30", value_parser = seconds)]
    body_read_timeout: Duration,
    /// Seconds a connection may wait for its next request before it is closed.
    #[arg(long, env = "ENI_IDLE_TIMEOUT", default_value = "30", value_parser = seconds)]
    idle_timeout: Duration,
    /// Client connections open at once. At the cap a new connection closes the one that has
    /// waited longest without a request. Default and ceiling: the open-file limit less an
    /// eighth (at least 64) kept for the database and the data plane.
    #[arg(long, env = "ENI_MAX_CONNECTIONS", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
    /// The largest request body accepted, in bytes.
    #[arg(long, env = "ENI_MAX_BODY_BYTES", default_value_t = eni_api::Limits::default().max_body_bytes)]
    max_body_bytes: usize,
    /// The data plane: none, this host's agent inside the server (linux), or agents on the
    /// hosts (agents).
    #[arg(long, env = "ENI_DATAPLANE", value_enum, default_value = "none")]
    dataplane: DataplaneKind,
    /// Let Attaching/Detaching wait for agents even without an in-process data plane
    /// (for hosts running `eni agent`); the same as --dataplane agents.
    #[arg(long, env = "ENI_WAIT_FOR_AGENTS")]
    wait_for_agents: bool,
    /// PEM certificate (chain) for HTTPS, which is served on the same port as HTTP; with
    /// --tls-key. Without both, a local CA and a certificate for localhost, 127.0.0.1, ::1,
    /// this host's name and the listen host are generated into the data dir on the first
    /// start: clients trust DATA_DIR/tls-ca.pem (e.g. SSL_CERT_FILE).
    #[arg(long, env = "ENI_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, env = "ENI_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
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
        /// The servers' PostgreSQL database, when they use one (see `eni serve`).
        #[arg(long, env = "ENI_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
}

/// A namespace prefix: 1 to 32 of A-Z a-z 0-9 . _ -
fn namespace_prefix(s: &str) -> Result<String, String> {
    let ok = (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if ok {
        Ok(s.to_string())
    } else {
        Err(
            "1 to 32 of A-Z a-z 0-9 . _ - (every namespace the data plane makes starts with it)"
                .into(),
        )
    }
}

/// A duration given in seconds, fractions allowed ("10", "0.5").
fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number of seconds"))?;
    if !(v > 0.0 && v <= 86_400.0) {
        return Err(format!(
            "{s}: must be more than 0 and at most 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Raises the soft open-file limit to the hard one (as Go programs do at start) and returns
/// it: every client connection takes a descriptor.
fn open_file_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 1024;
    };
    // Some systems report an unlimited hard limit that setrlimit refuses; stay reasonable.
    let want = hard.min(1 << 20);
    if want > soft && setrlimit(Resource::RLIMIT_NOFILE, want, hard).is_ok() {
        return want;
    }
    soft
}

/// The connection limits of `args`, the cap kept below the open-file limit.
fn http_limits(args: &ServeArgs) -> eni_api::Limits {
    let fd_limit = open_file_limit();
    let ceiling = eni_api::server::connection_cap(fd_limit);
    if ceiling < 64 {
        tracing::warn!(
            fd_limit,
            max_connections = ceiling,
            "the open-file limit leaves room for few connections; raise it (ulimit -n)"
        );
    }
    let max_connections = match args.max_connections.map(|n| n as usize) {
        Some(n) if n > ceiling => {
            tracing::warn!(
                requested = n,
                fd_limit,
                used = ceiling,
                "--max-connections is above what the open-file limit allows"
            );
            ceiling
        }
        Some(n) => n,
        None => ceiling,
    };
    eni_api::Limits {
        header_read_timeout: args.header_read_timeout,
        body_read_timeout: args.body_read_timeout,
        idle_timeout: args.idle_timeout,
        max_connections,
        max_body_bytes: args.max_body_bytes,
    }
}

const DB_FILE: &str = "eni.db";
const ROOT_CREDENTIALS_FILE: &str = "root-credentials.json";
const AGENT_TOKEN_FILE: &str = "agent-token";

/// The vCPUs the one host of `--dataplane linux` takes in each zone (a placement budget: eni
/// does not pin CPUs), as `eni agent --capacity-vcpus` defaults to.
const LOCAL_CAPACITY_VCPUS: u32 = 1024;

/// The internal API's token: `ENI_AGENT_TOKEN`, else the store's, which every server on one
/// store shares (the first to start stores the token saved in its data dir, so that agents
/// holding it keep working, else a new one). It is saved in the data dir (mode 0600) for the
/// agents on this host.
fn agent_token(data_dir: &Path, core: &Core) -> Result<String> {
    if let Ok(t) = std::env::var("ENI_AGENT_TOKEN") {
        if !t.is_empty() {
            return Ok(t);
        }
    }
    let path = data_dir.join(AGENT_TOKEN_FILE);
    let saved = std::fs::read_to_string(&path)
        .ok()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty());
    let candidate = saved.clone().unwrap_or_else(|| {
        format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        )
    });
    let token = tokio::task::block_in_place(|| core.shared_agent_token(candidate))
        .map_err(|e| anyhow::anyhow!("agent token: {e}"))?;
    if saved.as_deref() != Some(token.as_str()) {
        if saved.is_some() {
            tracing::warn!(
                file = %path.display(),
                "the data dir's agent token is not the one the database holds (the first \
                 server to start on it stored its own): replaced with the database's"
            );
        }
        write_secret_file(&path, &format!("{token}\n"))?;
    }
    Ok(token)
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

/// The Linux data plane over `args`' state dir, which it locks. `without` tells the user how
/// to do without it when this process lacks what it needs.
fn linux_dataplane(
    args: &DataplaneArgs,
    without: &str,
) -> Result<(Arc<eni_dataplane::linux::LinuxDataplane>, datadir::DirLock)> {
    check_dataplane_prereqs(without)?;
    let lock = lock_state_dir(
        &args.dataplane_state_dir,
        "stop it first, or give this one its own --dataplane-state-dir and --dataplane-prefix",
    )?;
    Ok((new_dataplane(args)?, lock))
}

fn check_dataplane_prereqs(without: &str) -> Result<()> {
    if !can_run_dataplane() {
        anyhow::bail!(
            "the Linux data plane needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) to create network \
             namespaces; run as root{without}"
        );
    }
    let missing = eni_dataplane::linux::LinuxDataplane::missing_tools();
    if !missing.is_empty() {
        anyhow::bail!(
            "the Linux data plane runs iproute2 (ip, tc) and nftables (nft); not found: {}. \
             Install them (Debian: apt-get install iproute2 nftables){without}",
            missing.join(", ")
        );
    }
    Ok(())
}

fn new_dataplane(args: &DataplaneArgs) -> Result<Arc<eni_dataplane::linux::LinuxDataplane>> {
    let dp = eni_dataplane::linux::LinuxDataplane::new(
        &args.dataplane_prefix,
        &args.dataplane_state_dir,
    )
    .map_err(|e| anyhow::anyhow!("data plane: {e}"))?;
    Ok(Arc::new(dp))
}

/// One server or agent per data-plane state dir: two would fight over the same namespaces.
fn lock_state_dir(dir: &Path, advice: &str) -> Result<datadir::DirLock> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    datadir::lock(dir).map_err(|e| match e {
        datadir::LockError::Held { .. } => anyhow::anyhow!(
            "the data-plane state dir {} is in use ({e}, an eni server or agent running this \
             host's data plane); {advice}",
            dir.display()
        ),
        datadir::LockError::Io(e) => e,
    })
}

fn agent_config(server: String, token: String, args: &DataplaneArgs) -> eni_agent::AgentConfig {
    eni_agent::AgentConfig {
        server,
        token,
        host_id: args.host_id.clone(),
        prefix: args.dataplane_prefix.clone(),
        resync: std::time::Duration::from_secs(2),
        registrations: Vec::new(),
        reregister: std::time::Duration::from_secs(30),
        mtu: args.mtu,
        metadata: !args.no_metadata,
    }
}

/// The store: the PostgreSQL database `database_url` names, else SQLite in `data_dir`. Blocks
/// (in an async context, call it inside `block_in_place`).
fn open_store(data_dir: &Path, database_url: Option<&str>) -> Result<Arc<dyn Store>> {
    if let Some(url) = database_url {
        let store = PgStore::connect(url)
            .map_err(|e| anyhow::anyhow!("opening the PostgreSQL database: {e}"))?;
        return Ok(Arc::new(store));
    }
    datadir::make_private(data_dir, Some(DB_FILE))?;
    let store = SqliteStore::open(&data_dir.join(DB_FILE))
        .map_err(|e| anyhow::anyhow!("opening the database: {e}"))?;
    Ok(Arc::new(store))
}

use datadir::write_secret_file;

/// The one address `listen` names.
async fn listen_address(listen: &str) -> Result<SocketAddr> {
    if let Ok(addr) = listen.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(listen)
        .await
        .with_context(|| format!("--listen {listen}: expected HOST:PORT (e.g. 127.0.0.1:8080)"))?
        .collect();
    // One socket: an IPv4 address if the name has one (localhost is 127.0.0.1 to most).
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| anyhow::anyhow!("--listen {listen}: the name resolves to no address"))
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
    let listen = listen_address(&args.listen).await?;
    // With PostgreSQL the data dir holds this server's token and credentials only.
    let db_file = args.database_url.is_none().then_some(DB_FILE);
    datadir::make_private(&args.data_dir, db_file)?;
    // One server per data dir: two would each settle transitions and hand out agent work.
    let _data_lock = datadir::lock(&args.data_dir).map_err(|e| match e {
        datadir::LockError::Held { .. } => anyhow::anyhow!(
            "the data dir {} is in use ({e}): another eni serve runs on it; stop it first, \
             or give this one its own --data-dir",
            args.data_dir.display()
        ),
        datadir::LockError::Io(e) => e,
    })?;
    // The PostgreSQL client blocks on a runtime of its own, which cannot run on this one's
    // worker: hand the worker over while it connects (and below, while the root key is made).
    let store =
        tokio::task::block_in_place(|| open_store(&args.data_dir, args.database_url.as_deref()))?;
    let config = CoreConfig {
        vpc_quota: args.vpc_quota,
        eni_quota: args.eni_quota,
        eip_quota: args.eip_quota,
        transition_delay_ms: args.transition_delay_ms,
        host_silence_ms: i64::from(args.host_silence_timeout) * 1000,
        console_session_ms: i64::from(args.console_session_ttl.max(1)) * 1000,
        eip_pool: args.eip_pool,
        dataplane: args.dataplane != DataplaneKind::None || args.wait_for_agents,
        ..CoreConfig::default()
    };
    // Fail before binding if the data plane cannot start (no root, say).
    let (dataplane, _state_lock) = match args.dataplane {
        DataplaneKind::Linux => {
            let (dp, lock) = linux_dataplane(&args.dp, ", or without --dataplane")?;
            (Some(dp), Some(lock))
        }
        DataplaneKind::None | DataplaneKind::Agents => (None, None),
    };
    // Bind before the root key is made: a port in use must not leave a key printed and saved
    // by a server that never ran.
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let core = Core::new(store, catalog, config);
    let token = agent_token(&args.data_dir, &core)?;
    let credentials = args.data_dir.join(ROOT_CREDENTIALS_FILE);
    let root_key = root_key_from_env()?;
    match tokio::task::block_in_place(|| core.ensure_root(root_key))
        .map_err(|e| anyhow::anyhow!("root account: {e}"))?
    {
        RootKey::Generated(k) => {
            let path = &credentials;
            let json = serde_json::json!({
                "AccountId": k.account_id.0.to_string(),
                "AccessKeyId": k.id,
                "AccessKeySecret": k.secret,
            });
            write_secret_file(path, &format!("{json:#}\n"))?;
            // Shown once, on the terminal of whoever started the server; never logged.
            println!(
                "root access key (also saved to {}):\n{json:#}",
                path.display()
            );
        }
        RootKey::Given(k) => tracing::info!(access_key_id = %k.id, "root key from the environment"),
        RootKey::Replaced { key, replaced } => {
            // The saved credentials hold a key that no longer works: remove them.
            let stale = std::fs::read_to_string(&credentials)
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|v| v["AccessKeyId"].as_str().map(String::from))
                .is_some_and(|id| replaced.contains(&id));
            if stale {
                std::fs::remove_file(&credentials)
                    .with_context(|| format!("removing {}", credentials.display()))?;
            }
            tracing::warn!(
                access_key_id = %key.id,
                replaced = %replaced.join(","),
                removed_file = stale,
                "root key from the environment replaces the earlier root key(s), which no longer work"
            );
        }
        RootKey::Unchanged if credentials.exists() => tracing::info!(
            "root account exists; its key is in {}",
            credentials.display()
        ),
        RootKey::Unchanged => tracing::info!(
            "root account exists; its key was given in ENI_ROOT_ACCESS_KEY_ID at an earlier start"
        ),
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

    // Reads' nonces reach the store within NONCE_FLUSH_INTERVAL (Core::keep_nonce).
    let flusher = core.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(eni_core::accounts::NONCE_FLUSH_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let c = flusher.clone();
            if let Ok(Err(e)) = tokio::task::spawn_blocking(move || c.flush_nonces()).await {
                tracing::warn!(code = e.code(), "nonce flush failed");
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

    let addr = listener.local_addr()?;
    let listen_host = args
        .listen
        .rsplit_once(':')
        .map_or("", |(h, _)| h)
        .trim_matches(['[', ']']);
    let tls = tls::load(
        args.tls_cert.as_deref(),
        args.tls_key.as_deref(),
        &args.data_dir,
        listen_host,
    )?;
    if let Some(ca) = &tls.ca {
        println!("https on the same port; its CA: {}", ca.display());
    }
    // Handlers first: a signal that follows the readiness line must stop the server cleanly.
    let signals = Signals::install()?;
    // Scripts that start the server on port 0 read this line.
    println!("listening on {addr}");
    tracing::info!(%addr, "eni API server ready");
    let limits = http_limits(&args);
    tracing::info!(
        max_connections = limits.max_connections,
        header_read_timeout_s = limits.header_read_timeout.as_secs_f64(),
        body_read_timeout_s = limits.body_read_timeout.as_secs_f64(),
        idle_timeout_s = limits.idle_timeout.as_secs_f64(),
        "connection limits"
    );
    let last_flush = core.clone();
    let state = eni_api::AppState::new(core)
        .with_agent_token(&token)
        .with_limits(limits.clone());
    let state = tokio::task::block_in_place(|| state.watch_store())
        .map_err(|e| anyhow::anyhow!("watching the store for changes: {e}"))?;
    let stopping = state.stopping.clone();
    let app = eni_api::router(state);
    let mut agent_task = None;
    if let Some(dp) = dataplane {
        // The in-process agent still talks to the control plane over HTTP, like any other.
        let host = if addr.ip().is_unspecified() {
            std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        };
        let mut config = agent_config(format!("http://{host}"), token.clone(), &args.dp);
        // This one host serves every zone of the catalog: it is a dedicated host in each (in
        // DescribeDedicatedHosts, and where instances are placed), with a placement budget of
        // LOCAL_CAPACITY_VCPUS a zone.
        config.registrations = last_flush
            .catalog()
            .regions
            .iter()
            .flat_map(|r| &r.zones)
            .map(|z| eni_types::hoststate::HostRegistration {
                zone_id: z.zone_id.clone(),
                underlay_address: host.ip().to_string(),
                capacity_vcpus: LOCAL_CAPACITY_VCPUS,
            })
            .collect();
        let agent = eni_agent::Agent::new(config, dp);
        let mut stop = stopping.subscribe();
        agent_task = Some(tokio::spawn(agent.run(async move {
            let _ = stop.wait_for(|s| *s).await;
        })));
        tracing::info!(host_id = %args.dp.host_id, "data-plane agent running in the server");
    }
    // On a signal, stop the agent (it holds a long poll open) and answer the long polls in
    // progress, then the server. The kernel state stays as it is: a restart picks it up
    // without touching traffic.
    eni_api::server::serve(listener, app, limits, Some(tls.config), async move {
        signals.recv().await;
        stopping.send_replace(true);
    })
    .await?;
    if let Some(t) = agent_task {
        let _ = t.await;
    }
    // The nonces of the last reads, so that a restart does not forget them.
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || last_flush.flush_nonces()).await {
        tracing::warn!(code = e.code(), "nonce flush at shutdown failed");
    }
    Ok(())
}

/// SIGTERM and SIGINT, caught from the moment they are installed.
struct Signals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Signals> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Signals {
            term: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("installing the SIGINT handler")?,
        })
    }

    async fn recv(mut self) {
        tokio::select! {
            _ = self.term.recv() => {},
            _ = self.int.recv() => {},
        }
    }
}

fn account_create(name: &str, data_dir: &Path, database_url: Option<&str>) -> Result<()> {
    let store = open_store(data_dir, database_url)?;
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

fn main() -> ExitCode {
    let log_filter = std::env::var("ENI_LOG").unwrap_or_default();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ENI_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // A log that cannot be written (its disk is full) must not take requests down: the
        // default reports the failure with eprintln!, which panics when stderr fails too.
        .log_internal_errors(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The error and its causes; a backtrace (which anyhow captures under
            // RUST_BACKTRACE=1) only when debugging.
            if log_filter.contains("debug") || log_filter.contains("trace") {
                eprintln!("Error: {e:?}");
            } else {
                eprintln!("Error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(serve(args))
        }
        Command::Account {
            command:
                AccountCommand::Create {
                    name,
                    data_dir,
                    database_url,
                },
        } => account_create(&name, &data_dir, database_url.as_deref()),
        Command::Host {
            command:
                HostCommand::Remove {
                    name,
                    zone,
                    data_dir,
                    database_url,
                },
        } => {
            let store = open_store(&data_dir, database_url.as_deref())?;
            let core = Core::new(store, Catalog::default(), CoreConfig::default());
            let removed = core
                .remove_host(&name, zone.as_deref())
                .map_err(|e| anyhow::anyhow!("{}: {e}", e.code()))?;
            println!("{}", serde_json::json!({ "Removed": removed }));
            Ok(())
        }
        Command::Agent(args) => {
            let token = std::fs::read_to_string(&args.token_file)
                .with_context(|| format!("reading {}", args.token_file.display()))?
                .trim()
                .to_string();
            let (dp, _state_lock) = linux_dataplane(&args.dataplane, "")?;
            // The metadata service holds a descriptor per client connection.
            open_file_limit();
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let signals = Signals::install()?;
                let mut config = agent_config(args.server.clone(), token, &args.dataplane);
                config.registrations = args
                    .zone
                    .as_ref()
                    .zip(args.underlay_address)
                    .map(|(zone, underlay)| eni_types::hoststate::HostRegistration {
                        zone_id: zone.clone(),
                        underlay_address: underlay.to_string(),
                        capacity_vcpus: args.capacity_vcpus,
                    })
                    .into_iter()
                    .collect();
                let agent = eni_agent::Agent::new(config, dp);
                tracing::info!(server = %args.server, host_id = %args.dataplane.host_id, "agent running");
                agent.run(signals.recv()).await;
                Ok::<(), anyhow::Error>(())
            })
        }
        Command::Dataplane {
            command: DataplaneCommand::Purge { dataplane, force },
        } => {
            check_dataplane_prereqs("")?;
            let advice = "stop it first (it would rebuild what purge removes), or pass --force";
            let _state_lock = match lock_state_dir(&dataplane.dataplane_state_dir, advice) {
                Ok(lock) => Some(lock),
                Err(e) if force => {
                    tracing::warn!("purging anyway (--force): {e:#}");
                    None
                }
                Err(e) => return Err(e),
            };
            let dp = new_dataplane(&dataplane)?;
            let removed = dp.purge().map_err(|e| anyhow::anyhow!("purge: {e}"))?;
            for r in &removed {
                println!("removed {r}");
            }
            println!("{} namespace(s) removed", removed.len());
            Ok(())
        }
        Command::Db {
            command: DbCommand::Copy { from, to },
        } => {
            let report = dbcopy::copy(&from, &to)?;
            print!("{report}");
            Ok(())
        }
    }
}
