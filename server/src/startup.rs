//! Building and running the application: one function turns [`Settings`] into a
//! bound server, so the binary and the tests start Tally the same way.

use std::net::SocketAddr;
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use leptos::config::{Env, LeptosOptions};
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tally_app::service::SharedService;
use tally_app::{App, shell};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::trace::TraceLayer;

use crate::cli::ServeArgs;
use crate::db::{Database, DbError, DbSettings};
use crate::routes;
use crate::runs::DispatchSettings;
use crate::service::TallyService;
use crate::site;

/// Validated configuration of a server.
#[derive(Debug, Clone)]
pub struct Settings {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub db: DbSettings,
    pub max_upload_bytes: u64,
    pub max_json_bytes: usize,
    pub dispatch: DispatchSettings,
    pub sample_data: Option<PathBuf>,
}

impl Settings {
    /// Resolves the command line into settings: creates the data directory, makes
    /// it absolute, and derives the default database location from it.
    pub fn from_args(args: &ServeArgs) -> Result<Self, StartupError> {
        std::fs::create_dir_all(&args.data_dir).map_err(|source| DbError::DataDir {
            path: args.data_dir.display().to_string(),
            source,
        })?;
        let data_dir = args
            .data_dir
            .canonicalize()
            .map_err(|source| DbError::DataDir {
                path: args.data_dir.display().to_string(),
                source,
            })?;
        let mut db = match &args.db {
            Some(url) => DbSettings {
                url: url.clone(),
                ..DbSettings::embedded(&data_dir)
            },
            None => DbSettings::embedded(&data_dir),
        };
        db.credentials = args.db_user.clone().zip(args.db_pass.clone());
        db.namespace = args.db_namespace.clone();
        db.database = args.db_database.clone();
        Ok(Self {
            addr: args.addr,
            data_dir,
            db,
            max_upload_bytes: args.max_upload_bytes,
            max_json_bytes: args.max_json_bytes,
            dispatch: DispatchSettings {
                workers: usize::from(args.workers),
                run_timeout: (!args.run_timeout.is_zero()).then_some(args.run_timeout),
                read_rate: NonZeroU64::new(args.run_read_rate),
                ..DispatchSettings::default()
            },
            sample_data: args.sample_data.clone(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot prepare Tally's data: {0}")]
    Service(crate::error::ServiceError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Shared state of every handler.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub service: Arc<TallyService>,
}

impl AppState {
    /// The service as the UI's server functions see it.
    pub fn app_service(&self) -> SharedService {
        self.service.clone()
    }
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
        let db = Database::open(&settings.db).await?;
        tracing::info!(engine = db.engine(), data_dir = %settings.data_dir.display(), "database open");
        let service = Arc::new(
            TallyService::open(db, &settings.data_dir, settings.dispatch.clone())
                .await
                .map_err(StartupError::Service)?
                .with_upload_limit(settings.max_upload_bytes)
                .with_json_limit(settings.max_json_bytes),
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
        crate::runs::dispatcher::start(service.clone());
        let state = AppState {
            leptos_options,
            service: service.clone(),
        };
        if !site::is_embedded() {
            tracing::warn!("this binary was built without the web UI; only the API is served");
        }
        Ok(Self {
            listener,
            router: router(state),
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
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        // Every request has been answered: ids reserved but not handed out can
        // go back, so that the next start continues the sequence without a gap.
        self.service.release_reserved_ids().await;
        Ok(())
    }
}

fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let app_service = state.app_service();
    let options = state.leptos_options.clone();
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .nest("/api/v1", api_v1())
        .merge(routes::docs::router())
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(app_service.clone()),
            move || shell(options.clone()),
        )
        .fallback(routes::fallback::fallback)
        // Pages and JSON are compressed for clients that ask (the Workloads page
        // is about 100 KB of HTML, 10 KB gzipped). Event streams and responses
        // already encoded, the site's own gzipped files, pass through.
        // Brotli's own default level, 11, costs far too much per response.
        .layer(CompressionLayer::new().quality(CompressionLevel::Precise(4)))
        .layer(axum::middleware::from_fn(routes::liveness::prototype_root))
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The REST API under `/api/v1`; each route also answers with a trailing slash.
fn api_v1() -> Router<AppState> {
    use axum::extract::DefaultBodyLimit;
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
        .route("/runs/{id}", get(rn::get))
        .route("/runs/{id}/", get(rn::get))
        .route("/runs/{id}/cancel", axum::routing::post(rn::cancel))
        .route("/runs/{id}/cancel/", axum::routing::post(rn::cancel))
        .route("/runs/{id}/wordcount", get(rn::run_wordcount))
        .route("/runs/{id}/wordcount/", get(rn::run_wordcount))
        .route("/events", get(rn::events))
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
