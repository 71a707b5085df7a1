//! Builds and runs the server: store, tenant registry, verifier, rate limits, HTTP.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{App, HttpServer};
use secrecy::ExposeSecret;
use tracing_actix_web::TracingLogger;

use crate::admin::{Admin, CreatedCompany, NewAdmin, NewCompanyRequest};
use crate::auth::{Verifier, api_key};
use crate::config::Settings;
use crate::http::{self, AppState};
use crate::rate_limit::RateLimits;
use crate::store::{Store, control};
use crate::telemetry::RequestSpan;
use crate::tenants::TenantRegistry;

/// What the operator must be told once, on the first start.
#[derive(Default)]
pub struct FirstRun {
    /// A newly generated admin token (only when none was configured or stored).
    pub admin_token: Option<String>,
    /// The demo company, when one was created.
    pub demo: Option<CreatedCompany>,
}

/// A built server, listening but not yet serving.
pub struct Application {
    port: u16,
    server: Server,
    state: Arc<AppState>,
    first_run: FirstRun,
}

/// Opens the store and the services over it (no HTTP): used by the server and by the admin command line.
pub async fn services(settings: &Settings) -> anyhow::Result<(Store, TenantRegistry, Verifier, Admin)> {
    let store = Store::connect(&settings.database).await.map_err(|e| {
        let cause = format!("{:?}", crate::error::ChainDebug(&e));
        anyhow::anyhow!("database.url `{}`: {cause}", settings.database.url)
    })?;
    let tenants = TenantRegistry::new(store.clone(), &settings.tenants);
    let verifier = Verifier::new(store.clone(), &settings.auth);
    let admin = Admin::new(store.clone(), tenants.clone(), verifier.clone());
    Ok((store, tenants, verifier, admin))
}

impl Application {
    /// Connects the store, prepares the admin token and (on an empty store) the demo company, and binds.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let (store, tenants, verifier, admin) = services(&settings).await?;
        let mut first_run = FirstRun::default();
        let admin_token_hash = admin_token_hash(&settings, &store, &mut first_run).await?;
        if settings.demo.enabled && control::list_companies(store.control()).await?.is_empty() {
            first_run.demo = Some(admin.create_company(&demo_request()).await?);
        }
        let listener = TcpListener::bind(settings.server.listen)
            .map_err(|e| anyhow::anyhow!("server.listen `{}`: {e}", settings.server.listen))?;
        let port = listener.local_addr()?.port();
        let limits = RateLimits::new(&settings.rate_limit);
        let workers = match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            n => n,
        };
        let document = http::openapi::document(&settings.public_url());
        let openapi = serde_json::to_vec(&document)?;
        let docs_html = utoipa_scalar::Scalar::new(document).to_html();
        let catalog = crate::mcp::catalog::Catalog::build();
        let mcp_tools_json = serde_json::to_string(&catalog.list)?;
        let state = Arc::new(AppState {
            settings,
            store,
            tenants,
            verifier,
            limits,
            admin,
            admin_token_hash,
            openapi,
            docs_html,
            mcp_tools: catalog.list,
            mcp_tools_json,
            mcp_names: catalog.names,
        });
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .wrap(actix_web::middleware::from_fn(http::server_timing))
                .wrap(TracingLogger::<RequestSpan>::new())
                .configure(http::configure(app_state.clone()))
        })
        .workers(workers)
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            state,
            first_run,
        })
    }

    /// The bound port (useful with port 0).
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Shared state (for tests and tools).
    #[must_use]
    pub fn state(&self) -> Arc<AppState> {
        self.state.clone()
    }

    /// A handle that stops the server gracefully.
    #[must_use]
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// What to print once on the first start.
    pub fn take_first_run(&mut self) -> FirstRun {
        std::mem::take(&mut self.first_run)
    }

    /// Serves until stopped (SIGTERM, Ctrl-C or the handle), finishes in-flight requests, then stops every
    /// company actor after its queued writes.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let state = self.state.clone();
        let purge = actix_web::rt::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                state.limits.purge();
            }
        });
        let result = self.server.await;
        purge.abort();
        self.state.tenants.shutdown().await;
        tracing::info!("server stopped");
        result
    }
}

async fn admin_token_hash(settings: &Settings, store: &Store, first_run: &mut FirstRun) -> anyhow::Result<String> {
    let configured = settings.admin.token.expose_secret();
    if !configured.is_empty() {
        return Ok(api_key::hash(configured));
    }
    if let Some(hash) = control::admin_token_hash(store.control()).await? {
        return Ok(hash);
    }
    let token = api_key::generate().plaintext;
    let hash = api_key::hash(&token);
    control::set_admin_token_hash(store.control(), &hash).await?;
    first_run.admin_token = Some(token);
    Ok(hash)
}

fn demo_request() -> NewCompanyRequest {
    NewCompanyRequest {
        name: "Demo Company".to_owned(),
        admin: NewAdmin {
            email: "demo@customermates.example".to_owned(),
            first_name: "Demo".to_owned(),
            last_name: "User".to_owned(),
        },
        demo_data: true,
    }
}
