//! `/datasets/:project/:dataset/:table`: a table's schema, statistics and first rows.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::{DeleteTable, get_table};
use crate::catalog::TableDetail;
use crate::components::layout::PageHeader;
use crate::format::{bytes, thousands, timestamp};

#[component]
pub fn TablePage() -> impl IntoView {
    let params = use_params_map();
    let reference = move || {
        params.with(|p| {
            format!(
                "{}.{}.{}",
                p.get("project").unwrap_or_default(),
                p.get("dataset").unwrap_or_default(),
                p.get("table").unwrap_or_default()
            )
        })
    };
    let detail = Resource::new(reference, get_table);
    let delete = ServerAction::<DeleteTable>::new();
    Effect::new(move |_| {
        if matches!(delete.value().get(), Some(Ok(_))) {
            use_navigate()("/datasets", Default::default());
        }
    });

    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumbs"><a href="/datasets">"Datasets"</a>" / "{reference}</nav>
        <Transition fallback=|| view! { <p class="muted">"Loading the table…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <Title text=d.table.reference() /><TableView detail=d delete /> }.into_any(),
                    Err(e) => view! {
                        <Title text="Table not found" />
                        <PageHeader title="Table not found" />
                        <p class="alert alert--error" role="alert" data-testid="table-error">{e.message}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn TableView(detail: TableDetail, delete: ServerAction<DeleteTable>) -> impl IntoView {
    let t = detail.table;
    let reference = t.reference();
    let confirming = RwSignal::new(false);
    let columns = t.columns.clone();
    let hidden_reference = StoredValue::new(reference.clone());
    let editor = crate::session::can(crate::auth::Role::Editor);
    let admin = crate::session::can(crate::auth::Role::Admin);
    view! {
        <PageHeader title=t.name.clone() subtitle=reference.clone()>
            {editor.then(|| view! {
                <a class="btn" href=crate::href::with_query("/workloads/new", &[("table", reference.clone())]) data-testid="new-workload-on-table">
                    "New workload"
                </a>
            })}
            <Show
                when=move || admin && confirming.get()
                fallback=move || admin.then(|| view! {
                    <button type="button" class="btn btn--danger-outline" on:click=move |_| confirming.set(true) data-testid="delete-table">
                        "Delete table"
                    </button>
                })
            >
                <ActionForm action=delete attr:class="confirm">
                    <input type="hidden" name="table" value=move || hidden_reference.get_value() />
                    <span>"Delete this table and its data?"</span>
                    <button type="submit" class="btn btn--danger" data-testid="confirm-delete">"Delete"</button>
                    <button type="button" class="btn btn--secondary" on:click=move |_| confirming.set(false)>"Cancel"</button>
                </ActionForm>
            </Show>
        </PageHeader>
        {move || delete.value().get().and_then(|r| r.err()).map(|e| view! {
            <p class="alert alert--error" role="alert">{e.message}</p>
        })}
        <div class="grid">
            <section class="card" aria-labelledby="stats-title">
                <header class="card__header"><h2 id="stats-title">"Statistics"</h2></header>
                <dl class="facts" data-testid="table-stats">
                    <div><dt>"Rows"</dt><dd>{thousands(t.row_count)}</dd></div>
                    <div><dt>"Stored"</dt><dd>{bytes(t.stored_bytes)}</dd></div>
                    <div><dt>"Imported from"</dt><dd>{crate::labels::source_format(t.source_format)}</dd></div>
                    <div><dt>"Created"</dt><dd><time datetime=t.created_at.clone()>{timestamp(&t.created_at)}</time></dd></div>
                </dl>
            </section>
            <section class="card" aria-labelledby="schema-title">
                <header class="card__header"><h2 id="schema-title">"Schema"</h2></header>
                <table class="data" data-testid="table-schema">
                    <thead><tr><th scope="col">"Column"</th><th scope="col">"Type"</th></tr></thead>
                    <tbody>
                        {t.columns.iter().map(|c| view! {
                            <tr><td class="mono text">{c.name.clone()}</td><td>{c.kind.as_str()}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </section>
        </div>
        <section class="card card--spaced" aria-labelledby="preview-title">
            <header class="card__header"><h2 id="preview-title">"First rows"</h2></header>
            <div class="table-scroll">
                <table class="data" data-testid="table-preview">
                    <thead><tr>{columns.iter().map(|c| view! { <th scope="col" class="column">{c.name.clone()}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {detail.preview.into_iter().map(|row| view! {
                            <tr>{row.into_iter().map(|v| {
                                // Null and the empty string are different values: each
                                // gets a visible, distinct mark.
                                let (text, null, empty) = match v {
                                    serde_json::Value::Null => ("null".to_string(), true, false),
                                    serde_json::Value::String(s) if s.is_empty() => ("(empty string)".to_string(), false, true),
                                    serde_json::Value::String(s) => (s, false, false),
                                    other => (other.to_string(), false, false),
                                };
                                view! { <td class="text" class:null=null class:empty=empty>{text}</td> }
                            }).collect_view()}</tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
