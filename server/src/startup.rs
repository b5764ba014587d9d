//! Building and running the application: one function turns [`Settings`] into a
//! bound server, so the binary and the tests start Tally the same way.

use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tally_app::{App, shell};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::trace::TraceLayer;

use crate::auth::accounts::AccountSettings;
use crate::auth::guard::Guard;
use crate::auth::limiter::LoginLimits;
use crate::auth::mode::{Protection, PublicOrigin};
use crate::cli::ServeArgs;
use crate::data_dir::{Access, DataDir, DataDirError};
use crate::limits::Limits;
use crate::routes::{self, AppState};
use crate::runs::{DispatchSettings, Retention};
use crate::service::TallyService;
use crate::site;
use crate::store::database::{Database, DbError, DbSettings};
use crate::store::migrations;

/// Validated configuration of a server.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub db: DbSettings,
    /// Who must sign in, and the cross-site and `Host` rules.
    pub protection: Protection,
    pub accounts: AccountSettings,
    /// What requests, clients and imports may cost.
    pub limits: Limits,
    pub dispatch: DispatchSettings,
    pub sample_data: Option<PathBuf>,
}

impl Settings {
    /// Resolves the command line into settings: creates the data directory, makes
    /// it absolute, and derives the default database location from it.
    pub fn from_args(args: &ServeArgs) -> Result<Self, StartupError> {
        let (data_dir, db) = args.store.resolve()?;
        let public_origin = args
            .public_url
            .as_deref()
            .map(PublicOrigin::parse)
            .transpose()
            .map_err(StartupError::Config)?;
        let protection = Protection::resolve(args.auth, args.addr, public_origin)
            .map_err(|e| StartupError::Config(e.to_string()))?;
        let login_limits = LoginLimits {
            per_user: usize::from(args.login_attempts),
            per_address: usize::from(args.login_attempts) * 4,
            ..LoginLimits::default()
        };
        Ok(Self {
            addr: args.addr,
            data_dir,
            db,
            protection,
            accounts: AccountSettings {
                session_idle: args.session_idle,
                session_lifetime: args.session_lifetime,
                login_limits,
                audit_retention: args.audit_retention,
            },
            limits: args.limits(),
            dispatch: DispatchSettings {
                workers: usize::from(args.workers),
                run_timeout: (!args.run_timeout.is_zero()).then_some(args.run_timeout),
                read_rate: NonZeroU64::new(args.run_read_rate),
                max_groups: args.max_groups,
                lease: args.run_lease,
                retention: Retention {
                    keep_runs: args.keep_runs,
                    keep_for: (!args.keep_results_for.is_zero()).then_some(args.keep_results_for),
                },
                spark: args.spark(),
            },
            sample_data: args.sample_data.clone(),
        })
    }
}

impl crate::cli::StoreArgs {
    /// Creates the data directory, makes it absolute, and derives the database
    /// settings from it (the embedded database unless `--db` names another).
    pub fn resolve(&self) -> Result<(PathBuf, DbSettings), DbError> {
        let data_dir_error = |source| DbError::DataDir {
            path: self.data_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&self.data_dir).map_err(data_dir_error)?;
        let data_dir = self.data_dir.canonicalize().map_err(data_dir_error)?;
        let mut db = match &self.db {
            Some(url) => DbSettings {
                url: url.clone(),
                ..DbSettings::embedded(&data_dir)
            },
            None => DbSettings::embedded(&data_dir),
        };
        db.credentials = self.db_user.clone().zip(self.db_pass.clone());
        db.namespace = self.db_namespace.clone();
        db.database = self.db_database.clone();
        Ok((data_dir, db))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// Flags that cannot be served as given (the message says why and what to do).
    #[error("{0}")]
    Config(String),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error("cannot prepare Tally's data: {0}")]
    Service(crate::error::ServiceError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// How often expired sessions and old audit events are deleted.
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// Locks the data directory, opens the database and brings its schema up to
/// date, checks that the two belong together, and opens the service on them.
/// The server and the tests open Tally's data this one way.
pub async fn open_service(
    data_dir: &std::path::Path,
    db: &DbSettings,
    dispatch: DispatchSettings,
) -> Result<TallyService, StartupError> {
    let access = if db.is_embedded() {
        Access::Exclusive
    } else {
        Access::Shared
    };
    let data_dir = DataDir::lock(data_dir, access)?;
    let db = Database::open(db).await?;
    tracing::info!(engine = db.engine(), data_dir = %data_dir.path().display(), "database open");
    let applied = migrations::migrate(&db).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "database schema upgraded");
    }
    let ownership = data_dir.claim(&db).await?;
    TallyService::open(db, data_dir, ownership, dispatch)
        .await
        .map_err(StartupError::Service)
}

/// A bound, not yet running, Tally server.
pub struct Application {
    listener: TcpListener,
    router: Router,
    service: Arc<TallyService>,
}

impl Application {
    /// Opens the database and binds the listener; the server runs once
    /// [`Application::run_until_stopped`] is awaited.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let service = Arc::new(
            open_service(&settings.data_dir, &settings.db, settings.dispatch.clone())
                .await?
                .with_account_settings(settings.accounts.clone())
                .with_limits(settings.limits.clone()),
        );

        let listener =
            TcpListener::bind(settings.addr)
                .await
                .map_err(|source| StartupError::Bind {
                    addr: settings.addr,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartupError::Bind {
            addr: settings.addr,
            source,
        })?;

        let leptos_options = LeptosOptions::builder()
            .output_name("tally")
            .site_pkg_dir("pkg")
            .env(Env::PROD)
            .site_addr(addr)
            .build();
        crate::sample::load_in_background(service.clone(), settings.sample_data.clone());
        crate::runs::dispatcher::start(service.run_context());
        retention_in_background(service.clone());
        let protection = settings.protection.clone();
        announce_protection(&service, &protection, addr).await;
        sweep_in_background(service.clone());
        let state = AppState {
            leptos_options,
            service: service.clone(),
            https: protection.https(),
        };
        let guard = Arc::new(Guard {
            protection,
            accounts: service.accounts().clone(),
        });
        if !site::is_embedded() {
            tracing::warn!("this binary was built without the web UI; only the API is served");
        }
        Ok(Self {
            listener,
            router: router(state, guard),
            service,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Serves until SIGINT or SIGTERM, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        tracing::info!("listening on http://{}", self.local_addr());
        axum::serve(
            self.listener,
            self.router
                .into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await?;
        // Every request has been answered: ids reserved but not handed out can
        // go back, so that the next start continues the sequence without a gap.
        self.service.release_reserved_ids().await;
        Ok(())
    }
}

/// Logs how the server is protected and, when it needs a sign-in and has no
/// user yet, the one-time setup link of the first admin.
async fn announce_protection(service: &TallyService, protection: &Protection, addr: SocketAddr) {
    if !protection.sign_in {
        tracing::info!(
            "no sign-in: this server listens on loopback only and accepts only loopback Host names (--auth)"
        );
        return;
    }
    match service.accounts().open_setup().await {
        Ok(Some(secret)) => {
            let base = protection
                .public_origin
                .as_ref()
                .map_or_else(|| format!("http://{addr}"), |o| o.origin());
            tracing::warn!(
                "no user exists yet: open {base}/setup?secret={secret} to create the first admin \
                 (the link works once, until the next restart), or run `tally admin create-user`"
            );
        }
        Ok(None) => tracing::info!("sign-in required (--auth)"),
        Err(e) => tracing::error!(error = %e, "cannot check for users"),
    }
}

/// Deletes expired sessions and old audit events now and every hour.
fn sweep_in_background(service: Arc<TallyService>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = service.accounts().sweep().await {
                tracing::warn!(error = %e, "could not delete expired sessions and audit events");
            }
        }
    });
}

/// How often every workload's old runs are deleted (each workload's are also
/// deleted as soon as one of its runs ends).
const RETENTION_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes every workload's runs past retention now and then.
fn retention_in_background(service: Arc<TallyService>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RETENTION_EVERY);
        loop {
            tick.tick().await;
            if let Err(e) = service.apply_retention_everywhere().await {
                tracing::warn!(error = %e, "cannot delete old runs");
            }
        }
    });
}

fn router(state: AppState, guard: Arc<Guard>) -> Router {
    let routes = generate_route_list(App);
    let app_service = state.app_service();
    let app_accounts = state.app_accounts();
    let options = state.leptos_options.clone();
    let https = state.https;
    let request_timeout = state.service.limits().request_timeout;
    let service = state.service.clone();
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route("/metrics", get(routes::metrics::scrape))
        .nest("/api/v1", api_v1())
        .merge(routes::auth::forms())
        .merge(routes::docs::router())
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(app_service.clone());
                provide_context(app_accounts.clone());
            },
            move || shell(options.clone()),
        )
        .fallback(routes::fallback::fallback)
        // Pages and JSON are compressed for clients that ask (the Workloads page
        // is about 100 KB of HTML, 10 KB gzipped). Event streams and responses
        // already encoded, the site's own gzipped files, pass through.
        // Brotli's own default level, 11, costs far too much per response.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(axum::middleware::from_fn(routes::liveness::prototype_root))
        .layer(axum::middleware::from_fn(
            routes::deadline::upload_form_only,
        ))
        .layer(axum::middleware::from_fn(move |request, next| {
            routes::deadline::limit_time(request_timeout, request, next)
        }))
        // Every request passes the guard (Host, cross-site, identity, role)
        // before anything else answers it; every answer gets the headers.
        .layer(axum::middleware::from_fn_with_state(
            guard,
            crate::auth::guard::guard,
        ))
        .layer(axum::middleware::from_fn(move |request, next| {
            crate::auth::headers::security_headers(https, request, next)
        }))
        .layer(CatchPanicLayer::new())
        // Outside the guard: refused requests are counted too.
        .layer(axum::middleware::from_fn_with_state(
            service,
            routes::metrics::record,
        ))
        // Every log line of a request names its id (`routes::request_id`).
        .layer(TraceLayer::new_for_http().make_span_with(routes::request_id::span))
        .layer(axum::middleware::from_fn(routes::request_id::assign))
        .with_state(state)
}

/// The REST API under `/api/v1`; each route also answers with a trailing slash.
fn api_v1() -> Router<AppState> {
    use axum::extract::DefaultBodyLimit;
    use axum::routing::delete;
    use routes::auth as au;
    use routes::datasets as ds;
    use routes::runs as rn;
    use routes::workloads as wl;
    let workloads = get(wl::list).post(wl::create);
    let workload = get(wl::get)
        .put(wl::replace)
        .patch(wl::patch)
        .delete(wl::delete);
    let table = get(ds::get_table)
        .delete(ds::delete_table)
        .post(ds::upload_table);
    Router::new()
        .route("/workloads", workloads.clone())
        .route("/workloads/", workloads)
        .route("/workloads/{id}", workload.clone())
        .route("/workloads/{id}/", workload)
        .route("/workloads/{id}/runs", get(rn::list).post(rn::start))
        .route("/workloads/{id}/runs/", get(rn::list).post(rn::start))
        .route("/workloads/{id}/wordcount", get(rn::workload_wordcount))
        .route("/workloads/{id}/wordcount/", get(rn::workload_wordcount))
        .route("/runs", get(rn::search))
        .route("/runs/", get(rn::search))
        .route("/runs/{id}", get(rn::get))
        .route("/runs/{id}/", get(rn::get))
        .route("/runs/{id}/cancel", axum::routing::post(rn::cancel))
        .route("/runs/{id}/cancel/", axum::routing::post(rn::cancel))
        .route("/runs/{id}/wordcount", get(rn::run_wordcount))
        .route("/runs/{id}/wordcount/", get(rn::run_wordcount))
        .route("/runs/{id}/groups", get(rn::run_groups))
        .route("/runs/{id}/groups/", get(rn::run_groups))
        .route("/runs/{id}/compare/{other}", get(routes::compare::compare))
        .route("/runs/{id}/compare/{other}/", get(routes::compare::compare))
        .route("/events", get(rn::events))
        .route("/me", get(au::me))
        .route("/users", get(au::list_users).post(au::create_user))
        .route(
            "/users/{id}",
            axum::routing::patch(au::update_user).delete(au::delete_user),
        )
        .route("/tokens", get(au::list_tokens).post(au::create_token))
        .route("/tokens/{id}", delete(au::revoke_token))
        .route("/audit", get(au::audit))
        .route("/projects", get(ds::list_projects))
        .route("/projects/", get(ds::list_projects))
        .route("/projects/{project}/datasets", get(ds::list_datasets))
        .route("/projects/{project}/datasets/", get(ds::list_datasets))
        .route(
            "/projects/{project}/datasets/{dataset}/tables",
            get(ds::list_tables),
        )
        .route(
            "/projects/{project}/datasets/{dataset}/tables/",
            get(ds::list_tables),
        )
        .route(
            "/projects/{project}/datasets/{dataset}/tables/{table}",
            table.clone(),
        )
        .route(
            "/projects/{project}/datasets/{dataset}/tables/{table}/",
            table,
        )
        // Uploads stream to disk under their own limit (`--max-upload-bytes`).
        .layer(DefaultBodyLimit::disable())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
