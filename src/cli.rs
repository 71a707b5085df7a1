//! The command line: `customermates [serve]` runs the server; `customermates admin …` administers the
//! platform directly on the store (stop the server first when it uses the embedded store, or use the
//! `/admin/v1` API instead).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use crate::admin::{Admin, AdminResult, NewAdmin, NewCompanyRequest, NewKeyRequest, NewUserRequest};
use crate::config::Overrides;

/// Customermates server.
#[derive(Debug, Parser)]
#[command(
    name = "customermates",
    version,
    about = "Agent-first multi-tenant CRM server (MCP + REST over SurrealDB)"
)]
pub struct Cli {
    /// Extra settings file (TOML), applied over config/default.toml and config/local.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (server.listen).
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Database URL: surrealkv://DIR, mem://, ws://HOST:PORT (database.url).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Do not create the demo company on an empty store.
    #[arg(long)]
    pub no_demo: bool,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// The settings overrides given on the command line.
    #[must_use]
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config_file: self.config.clone(),
            listen: self.listen.clone(),
            database_url: self.database_url.clone(),
            no_demo: self.no_demo || matches!(self.command, Some(Command::Admin { .. })),
        }
    }
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (the default).
    Serve,
    /// Platform administration.
    Admin {
        /// What to administer.
        #[command(subcommand)]
        command: AdminCommand,
    },
}

/// Administered objects.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Companies.
    Company {
        /// Operation.
        #[command(subcommand)]
        command: CompanyCommand,
    },
    /// Users.
    User {
        /// Operation.
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API keys.
    Key {
        /// Operation.
        #[command(subcommand)]
        command: KeyCommand,
    },
}

/// Company operations.
#[derive(Debug, Subcommand)]
pub enum CompanyCommand {
    /// Create a company with its first (Admin) user and API key.
    Create {
        /// Company name.
        #[arg(long)]
        name: String,
        /// First user's email.
        #[arg(long)]
        email: String,
        /// First user's first name.
        #[arg(long)]
        first_name: String,
        /// First user's last name.
        #[arg(long, default_value = "")]
        last_name: String,
        /// Seed the demo data set.
        #[arg(long)]
        demo_data: bool,
    },
    /// List companies with counts.
    List,
    /// Show one company.
    Get {
        /// Company id.
        id: String,
    },
    /// Suspend a company.
    Suspend {
        /// Company id.
        id: String,
    },
    /// Resume a suspended company.
    Resume {
        /// Company id.
        id: String,
    },
    /// Delete a company and all its data.
    Delete {
        /// Company id.
        id: String,
    },
}

/// User operations.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user to a company.
    Create {
        /// Company id.
        #[arg(long)]
        company: String,
        /// Email.
        #[arg(long)]
        email: String,
        /// First name.
        #[arg(long)]
        first_name: String,
        /// Last name.
        #[arg(long, default_value = "")]
        last_name: String,
        /// Role id (default: the system role Admin).
        #[arg(long)]
        role_id: Option<String>,
    },
}

/// API key operations.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create a key for a user (printed once).
    Create {
        /// User id.
        #[arg(long)]
        user: String,
        /// Label.
        #[arg(long)]
        name: Option<String>,
        /// Lifetime in days (1–365).
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List a user's keys.
    List {
        /// User id.
        #[arg(long)]
        user: String,
    },
    /// Revoke a key.
    Revoke {
        /// Key id.
        id: String,
    },
    /// Replace a key with a new one.
    Rotate {
        /// Key id.
        id: String,
    },
}

/// Runs an admin command and returns its result as JSON.
pub async fn run_admin(admin: &Admin, command: AdminCommand) -> AdminResult<Value> {
    let value = match command {
        AdminCommand::Company { command } => match command {
            CompanyCommand::Create {
                name,
                email,
                first_name,
                last_name,
                demo_data,
            } => {
                let request = NewCompanyRequest {
                    name,
                    admin: NewAdmin {
                        email,
                        first_name,
                        last_name,
                    },
                    demo_data,
                };
                json!(admin.create_company(&request).await?)
            }
            CompanyCommand::List => json!({"companies": admin.list_companies().await?}),
            CompanyCommand::Get { id } => json!(admin.get_company(&id).await?),
            CompanyCommand::Suspend { id } => json!(admin.suspend(&id).await?),
            CompanyCommand::Resume { id } => json!(admin.resume(&id).await?),
            CompanyCommand::Delete { id } => {
                admin.delete_company(&id).await?;
                json!({"deleted": id})
            }
        },
        AdminCommand::User {
            command:
                UserCommand::Create {
                    company,
                    email,
                    first_name,
                    last_name,
                    role_id,
                },
        } => {
            let request = NewUserRequest {
                email,
                first_name,
                last_name,
                role_id: role_id.map(Some),
                status: None,
            };
            json!(admin.create_user(&company, &request).await?)
        }
        AdminCommand::Key { command } => match command {
            KeyCommand::Create {
                user,
                name,
                expires_in_days,
            } => {
                json!(
                    admin
                        .create_key(&user, &NewKeyRequest { name, expires_in_days })
                        .await?
                )
            }
            KeyCommand::List { user } => json!({"apiKeys": admin.list_keys(&user).await?}),
            KeyCommand::Revoke { id } => json!(admin.revoke_key(&id, None).await?),
            KeyCommand::Rotate { id } => json!(admin.rotate_key(&id, None).await?),
        },
    };
    Ok(value)
}
