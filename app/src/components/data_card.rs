//! The Dashboard's summary of the stored data.

use leptos::prelude::*;

use crate::api::get_catalog_tree;
use crate::format::{bytes, thousands};

/// Tables, rows and bytes stored, or how to get started when there are none.
#[component]
pub fn DataCard() -> impl IntoView {
    let tree = Resource::new(|| (), |_| get_catalog_tree());
    view! {
        <section class="card" aria-labelledby="data-card-title" data-testid="data-card">
            <header class="card__header">
                <h2 id="data-card-title">"Data"</h2>
                <a class="btn btn--secondary" href="/datasets">"Datasets"</a>
            </header>
            <Transition fallback=|| view! { <p class="muted">"Counting tables…"</p> }>
                {move || Suspend::new(async move {
                    match tree.await {
                        Ok(projects) => {
                            let tables: Vec<_> = projects
                                .iter()
                                .flat_map(|p| p.datasets.iter().flat_map(|d| d.tables.iter()))
                                .collect();
                            if tables.is_empty() {
                                return view! {
                                    <p class="muted" data-testid="data-empty">
                                        "No tables yet. Upload a CSV, JSON Lines, Parquet or text file on the "
                                        <a href="/datasets">"Datasets"</a>" page, or start Tally with "
                                        <code>"./tally.sh run"</code>" to get the Shakespeare sample."
                                    </p>
                                }.into_any();
                            }
                            let rows: u64 = tables.iter().map(|t| t.row_count).sum();
                            let stored: u64 = tables.iter().map(|t| t.stored_bytes).sum();
                            view! {
                                <dl class="facts" data-testid="data-totals">
                                    <div><dt>"Projects"</dt><dd>{thousands(projects.len() as u64)}</dd></div>
                                    <div><dt>"Tables"</dt><dd>{thousands(tables.len() as u64)}</dd></div>
                                    <div><dt>"Rows"</dt><dd>{thousands(rows)}</dd></div>
                                    <div><dt>"Stored"</dt><dd>{bytes(stored)}</dd></div>
                                </dl>
                            }.into_any()
                        }
                        Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}
