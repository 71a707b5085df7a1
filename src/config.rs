//! Settings: built-in defaults, optional files, `CM_` environment variables and command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

/// The defaults, compiled in so the binary runs from any directory.
const DEFAULTS: &str = include_str!("../config/default.toml");

/// Every setting of the server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// HTTP server.
    pub server: ServerSettings,
    /// Storage.
    pub database: DatabaseSettings,
    /// Platform administration.
    pub admin: AdminSettings,
    /// Tenant actors.
    pub tenants: TenantSettings,
    /// API-key verification.
    pub auth: AuthSettings,
    /// Request quotas.
    pub rate_limit: RateLimitSettings,
    /// Logging.
    pub log: LogSettings,
    /// First-run demo company.
    pub demo: DemoSettings,
    /// MCP endpoint.
    pub mcp: McpSettings,
    /// Test-only switches.
    pub testing: TestingSettings,
}

/// MCP endpoint settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct McpSettings {
    /// Host names (besides loopback and the public URL's host) accepted in the `Host` header.
    pub allowed_hosts: Vec<String>,
    /// Extra exact origins accepted in the `Origin` header (origins on allowed hosts are always accepted).
    pub allowed_origins: Vec<String>,
}

/// HTTP server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Largest accepted body in bytes.
    pub max_body_bytes: usize,
    /// Worker threads (0 = one per core).
    pub workers: usize,
    /// Public base URL for printed snippets.
    pub public_url: String,
}

/// Storage settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Engine URL: `surrealkv://`, `mem://`, `ws://`, `wss://`.
    pub url: String,
    /// Namespace holding every database of this server.
    pub namespace: String,
    /// Root user for remote engines.
    pub username: String,
    /// Root password for remote engines.
    pub password: SecretString,
}

/// Platform admin settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// Fixed admin token; empty means "generate and store a hash".
    pub token: SecretString,
}

/// Tenant actor settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSettings {
    /// Seconds without a request before an actor stops.
    pub idle_timeout_secs: u64,
    /// Seconds between idle sweeps.
    pub sweep_interval_secs: u64,
    /// Records one of a company's tables must reach before the company's secondary indexes are built.
    pub index_threshold: u64,
}

/// API-key cache settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Seconds a verified key stays cached.
    pub cache_ttl_secs: u64,
    /// Most cached keys.
    pub cache_capacity: u64,
}

/// Rate-limit quotas.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Requests per second per key.
    pub per_second: u32,
    /// Burst per key.
    pub burst: u32,
    /// Requests per second per IP without a valid key.
    pub ip_per_second: u32,
    /// Burst per IP without a valid key.
    pub ip_burst: u32,
}

/// Log output.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// Output format.
    pub format: LogFormat,
    /// Default filter.
    pub level: String,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable, coloured.
    Pretty,
    /// One JSON object per line.
    Json,
}

/// Demo company settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    /// Seed a demo company into an empty store.
    pub enabled: bool,
}

/// Test-only switches.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestingSettings {
    /// Allow the actor-panic route.
    pub fault_injection: bool,
}

/// Overrides given on the command line; they win over every other layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Extra settings file (`--config`).
    pub config_file: Option<PathBuf>,
    /// `--listen`.
    pub listen: Option<String>,
    /// `--database-url`.
    pub database_url: Option<String>,
    /// `--no-demo`.
    pub no_demo: bool,
}

/// A setting that could not be loaded or is out of range.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The layered sources could not be read or parsed.
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    /// A value parsed but is not acceptable.
    #[error("configuration: setting `{setting}` {problem}")]
    Invalid {
        /// Dotted name of the setting.
        setting: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl Settings {
    /// Loads the layers in order: defaults, `config/local.toml`, `--config`, `CM_*` variables, flags.
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        Self::load_with_env(overrides, config::Environment::with_prefix("CM"))
    }

    /// Like [`Settings::load`] with an explicit environment source (tests pass a fixed map).
    pub fn load_with_env(overrides: &Overrides, env: config::Environment) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .add_source(config::File::from(Path::new("config/local.toml")).required(false));
        if let Some(file) = &overrides.config_file {
            builder = builder.add_source(config::File::from(file.as_path()).required(true));
        }
        builder = builder.add_source(
            env.prefix_separator("_")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("mcp.allowed_hosts")
                .with_list_parse_key("mcp.allowed_origins"),
        );
        if let Some(listen) = &overrides.listen {
            builder = builder.set_override("server.listen", listen.as_str())?;
        }
        if let Some(url) = &overrides.database_url {
            builder = builder.set_override("database.url", url.as_str())?;
        }
        if overrides.no_demo {
            builder = builder.set_override("demo.enabled", false)?;
        }
        let settings: Self = builder.build()?.try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |setting, problem: &str| {
            Err(ConfigError::Invalid {
                setting,
                problem: problem.to_owned(),
            })
        };
        let scheme = self.database.url.split("://").next().unwrap_or_default();
        if !self.database.url.contains("://") || !["mem", "surrealkv", "ws", "wss"].contains(&scheme) {
            return invalid(
                "database.url",
                "must start with surrealkv://, mem://, ws:// or wss:// (e.g. surrealkv://data/customermates)",
            );
        }
        if self.database.namespace.trim().is_empty() {
            return invalid("database.namespace", "must not be empty");
        }
        if self.server.max_body_bytes < 1024 {
            return invalid("server.max_body_bytes", "must be at least 1024");
        }
        if self.tenants.idle_timeout_secs == 0 {
            return invalid("tenants.idle_timeout_secs", "must be at least 1");
        }
        if self.tenants.sweep_interval_secs == 0 {
            return invalid("tenants.sweep_interval_secs", "must be at least 1");
        }
        for (setting, value) in [
            ("rate_limit.per_second", self.rate_limit.per_second),
            ("rate_limit.burst", self.rate_limit.burst),
            ("rate_limit.ip_per_second", self.rate_limit.ip_per_second),
            ("rate_limit.ip_burst", self.rate_limit.ip_burst),
        ] {
            if value == 0 {
                return invalid(setting, "must be at least 1");
            }
        }
        if self.log.level.parse::<tracing_subscriber::EnvFilter>().is_err() {
            return invalid("log.level", "is not a valid tracing filter (e.g. \"info\")");
        }
        Ok(())
    }

    /// The base URL clients use to reach this server.
    #[must_use]
    pub fn public_url(&self) -> String {
        if self.server.public_url.is_empty() {
            format!("http://{}", self.server.listen)
        } else {
            self.server.public_url.trim_end_matches('/').to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> config::Environment {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        config::Environment::with_prefix("CM").source(Some(map))
    }

    #[test]
    fn defaults_listen_on_port_4000_with_the_embedded_store() {
        let settings = Settings::load_with_env(&Overrides::default(), env(&[])).unwrap();
        assert_eq!(settings.server.listen.to_string(), "127.0.0.1:4000");
        assert_eq!(settings.database.url, "surrealkv://data/customermates");
        assert_eq!(settings.rate_limit.per_second, 20);
        assert_eq!(settings.rate_limit.burst, 40);
        assert_eq!(settings.tenants.idle_timeout_secs, 600);
        assert_eq!(settings.tenants.index_threshold, 100);
    }

    #[test]
    fn environment_variables_override_defaults_and_flags_override_both() {
        let vars = env(&[("CM_SERVER__LISTEN", "127.0.0.1:5000"), ("CM_RATE_LIMIT__BURST", "7")]);
        let settings = Settings::load_with_env(&Overrides::default(), vars).unwrap();
        assert_eq!(settings.server.listen.port(), 5000);
        assert_eq!(settings.rate_limit.burst, 7);

        let flags = Overrides {
            listen: Some("127.0.0.1:6000".into()),
            ..Overrides::default()
        };
        let settings = Settings::load_with_env(&flags, env(&[("CM_SERVER__LISTEN", "127.0.0.1:5000")])).unwrap();
        assert_eq!(settings.server.listen.port(), 6000);
    }

    #[test]
    fn a_wrong_setting_is_named_in_the_error() {
        let cases = [
            (("CM_DATABASE__URL", "postgres://x"), "database.url"),
            (("CM_SERVER__LISTEN", "not an address"), "server.listen"),
            (("CM_RATE_LIMIT__PER_SECOND", "0"), "rate_limit.per_second"),
            (("CM_LOG__FORMAT", "xml"), "log.format"),
            (("CM_TENANTS__IDLE_TIMEOUT_SECS", "soon"), "tenants.idle_timeout_secs"),
        ];
        for ((key, value), setting) in cases {
            let error = Settings::load_with_env(&Overrides::default(), env(&[(key, value)])).unwrap_err();
            assert!(error.to_string().contains(setting), "{key}={value}: {error}");
        }
    }
}
