//! The Dashboard's live server and database status card.

use leptos::prelude::*;

use crate::api::get_system_status;
use crate::system_status::SystemStatus;

/// Shows the server's version and uptime and a fresh database round trip; the
/// Refresh button asks the server again (a server-function call from the browser).
#[component]
pub fn StatusCard() -> impl IntoView {
    let refreshes = RwSignal::new(0_u32);
    let status = Resource::new(move || refreshes.get(), |_| get_system_status());

    view! {
        <section class="card status-card" aria-labelledby="status-card-title" data-testid="status-card">
            <header class="card__header">
                <h2 id="status-card-title">"System status"</h2>
                <button
                    type="button"
                    class="btn btn--secondary"
                    data-testid="status-refresh"
                    on:click=move |_| refreshes.update(|n| *n += 1)
                >
                    "Refresh"
                </button>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Checking the server…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) => view! { <StatusReading status=s /> }.into_any(),
                        Err(e) => view! {
                            <p class="alert alert--error" role="alert">
                                "The server did not answer: " {e.to_string()}
                            </p>
                        }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn StatusReading(status: SystemStatus) -> impl IntoView {
    let db = status.database.clone();
    let (badge_class, badge_text) = if db.ok {
        ("badge badge--ok", "Database OK")
    } else {
        ("badge badge--error", "Database unavailable")
    };
    let uptime = status.uptime_text();
    view! {
        <dl class="facts" data-testid="status-reading">
            <div>
                <dt>"Database"</dt>
                <dd><span class=badge_class data-testid="db-state">{badge_text}</span></dd>
            </div>
            <div>
                <dt>"Store"</dt>
                <dd>{db.engine}</dd>
            </div>
            <div>
                <dt>"Round trip"</dt>
                <dd>{format!("{:.2} ms", db.latency_ms)}</dd>
            </div>
            <div>
                <dt>"Executors"</dt>
                <dd data-testid="executors">{status.executors.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")}</dd>
            </div>
            <div>
                <dt>"Version"</dt>
                <dd>{status.version}</dd>
            </div>
            <div>
                <dt>"Uptime"</dt>
                <dd>{uptime}</dd>
            </div>
            <div>
                <dt>"Checked at"</dt>
                <dd><time data-testid="checked-at" datetime=status.checked_at.clone()>{crate::format::timestamp_millis(&status.checked_at)}</time></dd>
            </div>
        </dl>
        {db.error.map(|e| view! { <p class="alert alert--error" role="alert">{e}</p> })}
    }
}
