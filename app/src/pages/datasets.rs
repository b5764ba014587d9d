//! `/datasets`: the catalog tree and the upload form.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{FormData, HtmlFormElement, SubmitEvent};
use leptos_meta::Title;

use crate::api::get_catalog_tree;
use crate::catalog::{ProjectTree, SourceFormat, TableInfo};
use crate::components::layout::PageHeader;
use crate::error::AppError;
use crate::format::{bytes, thousands};
use crate::upload::{UploadProgress, upload_with_progress};

type UploadAction = Action<FormData, Result<TableInfo, AppError>>;

#[component]
pub fn DatasetsPage() -> impl IntoView {
    let progress: UploadProgress = RwSignal::new(None);
    let upload: UploadAction =
        Action::new_local(move |data: &FormData| upload_with_progress(data.clone(), progress));
    let tree = Resource::new(move || upload.version().get(), |_| get_catalog_tree());

    view! {
        <Title text="Datasets" />
        <PageHeader title="Datasets" subtitle="Tables are named project.dataset.table, as in BigQuery." />
        <div class="grid">
            <section class="card" aria-labelledby="catalog-title">
                <header class="card__header"><h2 id="catalog-title">"Catalog"</h2></header>
                <Transition fallback=|| view! { <p class="muted">"Loading the catalog…"</p> }>
                    {move || Suspend::new(async move {
                        match tree.await {
                            Ok(projects) if projects.is_empty() => view! {
                                <p class="muted" data-testid="catalog-empty">
                                    "The catalog is empty: upload a CSV, JSON Lines, Parquet or text file to create a table."
                                </p>
                            }.into_any(),
                            Ok(projects) => view! { <CatalogTree projects /> }.into_any(),
                            Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
            {crate::session::can(crate::auth::Role::Editor).then(|| view! { <UploadForm action=upload progress /> })}
        </div>
    }
}

#[component]
fn CatalogTree(projects: Vec<ProjectTree>) -> impl IntoView {
    view! {
        <ul class="tree" data-testid="catalog-tree">
            {projects.into_iter().map(|project| {
                let p = project.name.clone();
                view! {
                    <li>
                        <details open>
                            <summary><span class="tree__kind">"project"</span>" "{project.name}</summary>
                            <ul>
                                {project.datasets.into_iter().map(|dataset| {
                                    let (p, d) = (p.clone(), dataset.name.clone());
                                    view! {
                                        <li>
                                            <details open>
                                                <summary><span class="tree__kind">"dataset"</span>" "{dataset.name}</summary>
                                                <ul>
                                                    {dataset.tables.is_empty().then(|| view! {
                                                        <li class="tree__table muted" data-testid="dataset-empty">"No tables in this dataset."</li>
                                                    })}
                                                    {dataset.tables.into_iter().map(|t| {
                                                        let href = format!("/datasets/{p}/{d}/{}", t.name);
                                                        view! {
                                                            <li class="tree__table">
                                                                <a href=href>{t.name.clone()}</a>
                                                                <span class="muted">
                                                                    {format!(" {} rows · {} · {}", thousands(t.row_count), bytes(t.stored_bytes), crate::labels::source_format(t.source_format))}
                                                                </span>
                                                            </li>
                                                        }
                                                    }).collect_view()}
                                                </ul>
                                            </details>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        </details>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// The upload form. With JavaScript it uploads in place and shows errors next to
/// their fields; without, it posts the same multipart form to the server function.
#[component]
fn UploadForm(action: UploadAction, progress: UploadProgress) -> impl IntoView {
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(form) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlFormElement>().ok())
        else {
            return;
        };
        if let Ok(data) = FormData::new_with_form(&form) {
            action.dispatch_local(data);
        }
    };
    let result = action.value();
    let pending = action.pending();
    let error_for = move |field: &'static str| {
        result.with(|r| {
            r.as_ref()
                .and_then(|r| r.as_ref().err())
                .and_then(|e| e.for_field(field))
        })
    };
    let field_error = move |field: &'static str| {
        view! {
            <p class="field__error" id=format!("upload-{field}-error") role="alert" data-testid=format!("upload-{field}-error")>
                {move || error_for(field)}
            </p>
        }
    };

    view! {
        <form
            class="card form"
            method="post"
            action="/api/fn/datasets/upload"
            enctype="multipart/form-data"
            on:submit=on_submit
            aria-labelledby="upload-title"
            data-testid="upload-form"
        >
            <header class="card__header"><h2 id="upload-title">"Upload a table"</h2></header>
            <div class="field">
                <label for="upload-table">"Table"</label>
                <input id="upload-table" name="table" required placeholder="project.dataset.table"
                    autocomplete="off" spellcheck="false" aria-describedby="upload-table-error upload-table-help" />
                <p class="field__help" id="upload-table-help">"Letters, digits, _ and -; new projects and datasets are created."</p>
                {field_error("table")}
            </div>
            <div class="field">
                <label for="upload-file">"Files"</label>
                <input id="upload-file" type="file" name="file" multiple required aria-describedby="upload-file-error" />
                <p class="field__help">"Several files only for plain text (each line a row, with a source column)."</p>
                {field_error("file")}
            </div>
            <div class="field-row">
                <div class="field">
                    <label for="upload-format">"Format"</label>
                    <select id="upload-format" name="format" aria-describedby="upload-format-error">
                        <option value="auto">"From the file name"</option>
                        {SourceFormat::ALL.into_iter().map(|f| view! {
                            <option value=f.as_str()>{crate::labels::source_format(f)}</option>
                        }).collect_view()}
                    </select>
                    {field_error("format")}
                </div>
                <div class="field">
                    <label for="upload-delimiter">"CSV delimiter"</label>
                    <input id="upload-delimiter" name="delimiter" value="," size="4" aria-describedby="upload-delimiter-error" />
                    {field_error("delimiter")}
                </div>
            </div>
            <label class="check">
                <input type="checkbox" name="replace_invalid_utf8" value="true" />
                " Replace invalid UTF-8 with U+FFFD instead of refusing the file"
            </label>
            <div class="form__actions">
                <button type="submit" class="btn" disabled=move || pending.get() data-testid="upload-submit">
                    {move || if pending.get() { "Uploading…" } else { "Upload" }}
                </button>
            </div>
            {move || pending.get().then(|| {
                let (done, total) = progress.get().unwrap_or((0.0, 0.0));
                let percent = if total > 0.0 { (done / total * 100.0).min(100.0) } else { 0.0 };
                let label = if total <= 0.0 {
                    "Starting the upload…".to_string()
                } else if done >= total {
                    format!("Sent {}; importing on the server…", bytes(total as u64))
                } else {
                    format!("Sending {percent:.0} % ({} of {})", bytes(done as u64), bytes(total as u64))
                };
                view! {
                    <div class="progress" data-testid="upload-progress">
                        <div class="progress__label"><span role="status">{label}</span></div>
                        <div class="progress__track" role="progressbar" aria-label="Upload progress"
                            aria-valuemin="0" aria-valuemax="100" aria-valuenow=format!("{percent:.0}")>
                            <div class="progress__fill progress__fill--active" style:width=format!("{percent:.1}%")></div>
                        </div>
                    </div>
                }
            })}
            {move || result.get().map(|r| match r {
                Ok(t) => {
                    let href = format!("/datasets/{}/{}/{}", t.project, t.dataset, t.name);
                    view! {
                        <p class="alert alert--ok" role="status" data-testid="upload-done">
                            "Imported " <a href=href>{t.reference()}</a>
                            {format!(": {} rows, {} columns.", thousands(t.row_count), t.columns.len())}
                        </p>
                    }.into_any()
                }
                Err(e) if e.field.is_none() => view! {
                    <p class="alert alert--error" role="alert" data-testid="upload-error">{e.message}</p>
                }.into_any(),
                Err(_) => ().into_any(),
            })}
        </form>
    }
}
