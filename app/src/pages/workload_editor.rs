//! `/workloads/new` and `/workloads/:id/edit`: the workload form. The source is
//! picked with cascading selects fed by the catalog (project → dataset → table →
//! string column). Both pages post plain forms to their server functions, so they
//! work without JavaScript; with it, errors appear next to their fields and the
//! form keeps what the user typed.

use leptos::form::ActionForm;
use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

use crate::api::{
    CreateWorkload, UpdateWorkload, get_catalog_tree, get_system_status, get_workload,
};
use crate::catalog::{ColumnType, DatasetTree, ProjectTree, TableInfo};
use crate::components::layout::PageHeader;
use crate::error::AppError;
use crate::system_status::SystemStatus;
use crate::workload::{Executor, PostedForm, Workload, WorkloadForm};

/// What the form's selects offer: the catalog's tables and the server's
/// executors. The page component makes these resources itself, once: a
/// resource made in the view of another resource (the edited workload) is
/// made more than once when the server renders, and the browser may then
/// hydrate against an answer it never got.
#[derive(Clone, Copy)]
struct FormSources {
    catalog: Resource<Result<Vec<ProjectTree>, AppError>>,
    status: Resource<Result<SystemStatus, AppError>>,
}

impl FormSources {
    fn new() -> Self {
        Self {
            catalog: Resource::new(|| (), |_| get_catalog_tree()),
            status: Resource::new(|| (), |_| get_system_status()),
        }
    }
}

#[component]
pub fn NewWorkloadPage() -> impl IntoView {
    let query = use_query_map();
    let mut initial = WorkloadForm::new_workload();
    // `?table=project.dataset.table` preselects a source (the table page links here).
    if let Some(table) = query.with_untracked(|q| q.get("table")) {
        let mut parts = table.splitn(3, '.');
        initial.src_project = parts.next().unwrap_or_default().to_string();
        initial.src_dataset = parts.next().unwrap_or_default().to_string();
        initial.src_table = parts.next().unwrap_or_default().to_string();
    }
    if let Some(form) = WorkloadForm::from_query(|k| query.with_untracked(|q| q.get(k))) {
        initial = form;
    }
    let posted = posted_form();
    if let Some(p) = &posted {
        initial = p.form.clone();
    }
    let create = ServerAction::<CreateWorkload>::new();
    let error = Signal::derive(move || failure(create.value().get(), &posted));
    let pending = create.pending();
    let sources = FormSources::new();

    view! {
        <Title text="New workload" />
        <nav class="breadcrumbs" aria-label="Breadcrumbs"><a href="/workloads">"Workloads"</a>" / new"</nav>
        <PageHeader title="New workload" subtitle="Count the words of one string column; the first run starts at once." />
        <ActionForm action=create attr:class="card form" attr:novalidate=true attr:data-testid="workload-form">
            <WorkloadFields initial error sources />
            <div class="form__actions">
                <button type="submit" class="btn" disabled=move || pending.get() data-testid="workload-submit">
                    {move || if pending.get() { "Creating…" } else { "Create and run" }}
                </button>
                <a class="btn btn--secondary" href="/workloads">"Cancel"</a>
            </div>
        </ActionForm>
    }
}

#[component]
pub fn EditWorkloadPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<u64>().ok()));
    let workload = Resource::new(id, |id| async move {
        match id {
            Some(id) => get_workload(id).await,
            None => Err(crate::api::address_not_found(
                "Workload ids are whole numbers",
            )),
        }
    });
    let sources = FormSources::new();
    view! {
        <Title text="Edit workload" />
        <Suspense fallback=|| view! { <p class="muted">"Loading the workload…"</p> }>
            {move || Suspend::new(async move {
                match workload.await {
                    Ok(w) => view! { <EditForm w sources /> }.into_any(),
                    Err(e) => view! {
                        <PageHeader title="Workload not found" />
                        <p class="alert alert--error" role="alert" data-testid="workload-error">{e.message}</p>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn EditForm(w: Workload, sources: FormSources) -> impl IntoView {
    let posted = posted_form();
    let query = use_query_map();
    let initial = posted.as_ref().map_or_else(
        || {
            WorkloadForm::from_query(|k| query.with_untracked(|q| q.get(k)))
                .unwrap_or_else(|| WorkloadForm::from_workload(&w))
        },
        |p| p.form.clone(),
    );
    let update = ServerAction::<UpdateWorkload>::new();
    let error = Signal::derive(move || failure(update.value().get(), &posted));
    let pending = update.pending();
    let back = format!("/workloads/{}", w.id);
    view! {
        <nav class="breadcrumbs" aria-label="Breadcrumbs">
            <a href="/workloads">"Workloads"</a>" / "<a href=back.clone()>{w.name.clone()}</a>" / edit"
        </nav>
        <PageHeader title=format!("Edit “{}”", w.name) subtitle="Saving changes the definition; the next run uses it." />
        <ActionForm action=update attr:class="card form" attr:novalidate=true attr:data-testid="workload-form">
            <input type="hidden" name="id" value=w.id />
            <WorkloadFields initial error sources />
            <div class="form__actions">
                <button type="submit" class="btn" disabled=move || pending.get() data-testid="workload-submit">
                    {move || if pending.get() { "Saving…" } else { "Save" }}
                </button>
                <a class="btn btn--secondary" href=back>"Cancel"</a>
            </div>
        </ActionForm>
    }
}

/// The error to show: the latest submit's, or else that of a form posted
/// without JavaScript that came back to this page.
fn failure<T>(
    result: Option<Result<T, AppError>>,
    posted: &Option<PostedForm>,
) -> Option<AppError> {
    match result {
        Some(result) => result.err(),
        None => posted.as_ref().map(|p| p.error.clone()),
    }
}

/// A form posted without JavaScript that failed comes back with `?posted=`.
fn posted_form() -> Option<PostedForm> {
    use_query_map()
        .with_untracked(|q| q.get("posted"))
        .and_then(|p| PostedForm::decode(&p))
}

/// The form's inputs, named `form[...]` for the server functions' `form` argument.
#[component]
fn WorkloadFields(
    initial: WorkloadForm,
    #[prop(into)] error: Signal<Option<AppError>>,
    sources: FormSources,
) -> impl IntoView {
    let query = use_query_map();
    // A plain form post that failed comes back here with `?error=`.
    let posted_error = move || query.with(|q| q.get("error"));
    let general = move || match error.get() {
        Some(e) if e.errors.is_empty() && e.field.is_none() => Some(e.message),
        Some(e) if !e.errors.is_empty() => Some(format!("{}. See the fields below.", e.message)),
        Some(_) => None,
        None => posted_error(),
    };
    let message = move |field: &'static str| {
        Signal::derive(move || error.get().and_then(|e| form_message(&e, field)))
    };
    let invalid = move |field: &'static str| move || message(field).get().is_some().to_string();
    let stopwords = RwSignal::new(initial.stopwords.clone());
    let kind = RwSignal::new(initial.workload_type.clone());
    let is_ngram = move || kind.get() == crate::workload::WorkloadType::Ngram.as_str();
    // After a failed submit, the keyboard lands on the first field to fix.
    Effect::new(move |_| {
        if let Some(first) = error.get().and_then(|e| e.errors.first().cloned()) {
            focus_input(first.field());
        }
    });

    view! {
        {move || general().map(|m| view! { <p class="alert alert--error" role="alert" data-testid="form-error">{m}</p> })}
        <div class="field">
            <label for="wl-name">"Name"</label>
            <input id="wl-name" name="form[name]" value=initial.name.clone() required maxlength="200"
                autocomplete="off" aria-describedby="wl-name-error" aria-invalid=invalid("name") />
            <FieldMessage id="wl-name-error" message=message("name") />
        </div>
        <div class="field">
            <label for="wl-type">"Type"</label>
            <select id="wl-type" name="form[workload_type]" aria-describedby="wl-type-help wl-workload_type-error"
                on:change=move |ev| kind.set(event_target_value(&ev))>
                {crate::workload::WorkloadType::ALL.into_iter().map(|t| view! {
                    <option value=t.as_str() selected=initial.workload_type == t.as_str()>{crate::labels::workload_type(t)}</option>
                }).collect_view()}
            </select>
            <p class="field__help" id="wl-type-help">
                {move || if is_ngram() {
                    "Counts every distinct run of consecutive words within each value (never across two)."
                } else {
                    "Counts every distinct word of the column."
                }}
            </p>
            <FieldMessage id="wl-workload_type-error" message=message("workload_type") />
        </div>
        <div class="field" class:field--muted=move || !is_ngram()>
            <label for="wl-n">"Words per n-gram"</label>
            <select id="wl-n" name="form[n]" aria-describedby="wl-n-help wl-n-error" aria-invalid=invalid("n")>
                {(2..=tally_engine::MAX_NGRAM).map(|n| {
                    let value = n.to_string();
                    let selected = initial.n == value;
                    view! { <option value=value.clone() selected=selected>{crate::labels::ngram_size(n)}</option> }
                }).collect_view()}
            </select>
            <p class="field__help" id="wl-n-help">"Used when the type is N-grams. Stopwords are removed first, so an n-gram can join the words around one."</p>
            <FieldMessage id="wl-n-error" message=message("n") />
        </div>
        <SourcePicker initial=initial.clone() message tree=sources.catalog />
        <ExecutorField initial=initial.executor.clone() message=message("executor") status=sources.status />
        <fieldset class="fieldset">
            <legend>"Counting options"</legend>
            <div class="field-row">
                <div class="field">
                    <label for="wl-tokenizer">"Tokenizer"</label>
                    <select id="wl-tokenizer" name="form[tokenizer]" aria-describedby="wl-tokenizer-help wl-tokenizer-error">
                        {tally_engine::TokenizerKind::ALL
                            .into_iter()
                            .map(|k| view! { <option value=k.as_str() selected=initial.tokenizer == k.as_str()>{crate::labels::tokenizer(k)}</option> })
                            .collect_view()}
                    </select>
                    <p class="field__help" id="wl-tokenizer-help">
                        "Whitespace splits on spaces and keeps punctuation; Words follows Unicode word boundaries; Spark splits on single spaces, exactly as Spark's split(' ') does."
                    </p>
                    <FieldMessage id="wl-tokenizer-error" message=message("tokenizer") />
                </div>
                <div class="field">
                    <label for="wl-case">"Case"</label>
                    <select id="wl-case" name="form[case]" aria-describedby="wl-case-error">
                        {[tally_engine::CaseMode::Lower, tally_engine::CaseMode::Preserve]
                            .into_iter()
                            .map(|c| view! { <option value=c.as_str() selected=initial.case == c.as_str()>{crate::labels::case(c)}</option> })
                            .collect_view()}
                    </select>
                    <FieldMessage id="wl-case-error" message=message("case") />
                </div>
                <div class="field">
                    <label for="wl-min-length">"Minimum length"</label>
                    <input id="wl-min-length" name="form[min_length]" value=initial.min_length.clone() inputmode="numeric"
                        size="6" aria-describedby="wl-min-length-help wl-min_length-error" aria-invalid=invalid("min_length") />
                    <p class="field__help" id="wl-min-length-help">"In characters; 0 keeps every word."</p>
                    <FieldMessage id="wl-min_length-error" message=message("min_length") />
                </div>
            </div>
            <div class="field">
                <label for="wl-stopwords">"Stopwords"</label>
                <select id="wl-stopwords" name="form[stopwords]" aria-describedby="wl-stopwords-error"
                    on:change=move |ev| stopwords.set(event_target_value(&ev))>
                    <option value="none" selected=initial.stopwords == "none">"Count every word"</option>
                    <option value="english" selected=initial.stopwords == "english">"Skip common English words"</option>
                    <option value="custom" selected=initial.stopwords == "custom">"Skip my own list"</option>
                </select>
                <FieldMessage id="wl-stopwords-error" message=message("stopwords") />
            </div>
            <div class="field" class:field--muted=move || stopwords.get() != "custom">
                <label for="wl-custom-stopwords">"Your stopwords"</label>
                // tachys 0.2 writes a <textarea>'s text into the server-rendered
                // page unescaped (a stopword `</textarea><script>` would run), so
                // the text goes in escaped, as markup.
                <textarea id="wl-custom-stopwords" name="form[custom_stopwords]" rows="3"
                    aria-describedby="wl-custom-help wl-custom-error"
                    inner_html=crate::security::escape_text(&initial.custom_stopwords)></textarea>
                <p class="field__help" id="wl-custom-help">"One per line or separated by commas; used when “Skip my own list” is chosen."</p>
                <FieldMessage id="wl-custom-error" message=message("custom") />
            </div>
        </fieldset>
    }
}

/// Where the runs count: a choice only on a server with Spark. Elsewhere the
/// workload's executor is kept as it is (a hidden input), so an edit never
/// changes it unasked.
#[component]
fn ExecutorField(
    initial: String,
    message: Signal<Option<String>>,
    status: Resource<Result<SystemStatus, AppError>>,
) -> impl IntoView {
    let initial = if initial.is_empty() {
        Executor::Native.as_str().to_string()
    } else {
        initial
    };
    // Until the server's executors are known, the form still carries the
    // workload's own: a save then can never change it unasked.
    let pending = initial.clone();
    view! {
        <Suspense fallback=move || view! { <input type="hidden" name="form[executor]" value=pending.clone() /> }>
            {
                let initial = initial.clone();
                move || {
                    let offered = status
                        .get()
                        .and_then(Result::ok)
                        .is_some_and(|s| s.executors.contains(&Executor::Spark));
                    let initial = initial.clone();
                    if offered {
                        view! {
                            <div class="field">
                                <label for="wl-executor">"Executor"</label>
                                <select id="wl-executor" name="form[executor]" aria-describedby="wl-executor-help wl-executor-error">
                                    <option value="native" selected=initial == "native">"Tally (this server)"</option>
                                    <option value="spark" selected=initial == "spark">"Apache Spark"</option>
                                </select>
                                <p class="field__help" id="wl-executor-help">
                                    "Spark counts with the whitespace and spark tokenizers only, and gives the same counts as Tally."
                                </p>
                                <FieldMessage id="wl-executor-error" message />
                            </div>
                        }
                        .into_any()
                    } else {
                        view! {
                            <input type="hidden" name="form[executor]" value=initial />
                            <FieldMessage id="wl-executor-error" message />
                        }
                        .into_any()
                    }
                }
            }
        </Suspense>
    }
}

/// A field's error message, announced when it appears.
#[component]
fn FieldMessage(id: &'static str, message: Signal<Option<String>>) -> impl IntoView {
    view! { <p class="field__error" id=id role="alert" data-testid=id>{move || message.get()}</p> }
}

/// The source: project → dataset → table → string column. Each choice narrows the
/// next select; a choice that no longer fits falls back to the first that does.
#[component]
fn SourcePicker(
    initial: WorkloadForm,
    message: impl Fn(&'static str) -> Signal<Option<String>> + Copy + Send + Sync + 'static,
    tree: Resource<Result<Vec<ProjectTree>, AppError>>,
) -> impl IntoView {
    view! {
        <fieldset class="fieldset" data-testid="source-picker">
            <legend>"Source"</legend>
            <Suspense fallback=|| view! { <p class="muted">"Loading the catalog…"</p> }>
                // A plain value, not a signal of this component, after the
                // wait for the page's resource (see docs/architecture.md).
                {move || { let initial = initial.clone(); Suspend::new(async move {
                    match tree.await {
                        Ok(projects) if projects.is_empty() => view! {
                            <p class="alert" data-testid="source-empty">
                                "There is no table to count yet. "
                                <a href="/datasets">"Upload a file"</a>
                                " first: a CSV, JSON Lines, Parquet or text file."
                            </p>
                        }.into_any(),
                        Ok(projects) => view! { <SourceSelects projects initial message /> }.into_any(),
                        Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}}
            </Suspense>
        </fieldset>
    }
}

#[component]
fn SourceSelects(
    projects: Vec<ProjectTree>,
    initial: WorkloadForm,
    message: impl Fn(&'static str) -> Signal<Option<String>> + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let projects = StoredValue::new(projects);
    let initial_filter = initial.filter;
    let initial_group_by = initial.group_by;
    let project = RwSignal::new(initial.src_project);
    let dataset = RwSignal::new(initial.src_dataset);
    let table = RwSignal::new(initial.src_table);
    let column = RwSignal::new(initial.src_column_name);

    let project_names =
        move || projects.with_value(|ps| ps.iter().map(|p| p.name.clone()).collect::<Vec<_>>());
    let chosen_project = Memo::new(move |_| pick(project.get(), project_names()));
    let datasets = Memo::new(move |_| {
        let p = chosen_project.get();
        projects.with_value(|ps| {
            ps.iter()
                .find(|x| x.name == p)
                .map(|x| x.datasets.clone())
                .unwrap_or_default()
        })
    });
    let chosen_dataset = Memo::new(move |_| {
        pick(
            dataset.get(),
            datasets.with(|ds| names(ds, |d: &DatasetTree| &d.name)),
        )
    });
    let tables = Memo::new(move |_| {
        let d = chosen_dataset.get();
        datasets.with(|ds| {
            ds.iter()
                .find(|x| x.name == d)
                .map(|x| x.tables.clone())
                .unwrap_or_default()
        })
    });
    let chosen_table = Memo::new(move |_| {
        pick(
            table.get(),
            tables.with(|ts| names(ts, |t: &TableInfo| &t.name)),
        )
    });
    let columns = Memo::new(move |_| {
        let t = chosen_table.get();
        tables.with(|ts| {
            ts.iter()
                .find(|x| x.name == t)
                .map(|x| {
                    x.columns
                        .iter()
                        .filter(|c| c.kind == ColumnType::String)
                        .map(|c| c.name.clone())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        })
    });
    // Every column of the chosen table, with its type: what a filter may test.
    let all_columns = Memo::new(move |_| {
        let t = chosen_table.get();
        tables.with(|ts| {
            ts.iter()
                .find(|x| x.name == t)
                .map(|x| x.columns.clone())
                .unwrap_or_default()
        })
    });
    let chosen_column = Memo::new(move |_| {
        let wanted = column.get();
        columns.with(|cs| {
            if cs.contains(&wanted) {
                wanted
            } else {
                text_column(cs).unwrap_or_default()
            }
        })
    });

    view! {
        <div class="field-row">
            <SourceSelect id="wl-src_project" label="Project" field="src_project" options=Signal::derive(project_names)
                chosen=chosen_project.into() choose=project message=message("src_project") />
            <SourceSelect id="wl-src_dataset" label="Dataset" field="src_dataset"
                options=Signal::derive(move || datasets.with(|ds| names(ds, |d: &DatasetTree| &d.name)))
                chosen=chosen_dataset.into() choose=dataset message=message("src_dataset") />
            <SourceSelect id="wl-src_table" label="Table" field="src_table"
                options=Signal::derive(move || tables.with(|ts| names(ts, |t: &TableInfo| &t.name)))
                chosen=chosen_table.into() choose=table message=message("src_table") />
            <SourceSelect id="wl-src_column_name" label="Column" field="src_column_name"
                options=columns.into() chosen=chosen_column.into() choose=column message=message("src_column_name") />
        </div>
        // Only a chosen table can lack a string column: before, there is nothing to say.
        {move || (!chosen_table.with(String::is_empty) && columns.with(Vec::is_empty)).then(|| view! {
            <p class="alert" data-testid="source-no-string-column">"This table has no string column to count."</p>
        })}
        <RowFilterField initial=initial_filter columns=all_columns message=message("filter") />
        <GroupByField initial=initial_group_by columns=all_columns message=message("group_by") />
        // Without JavaScript the selects cannot narrow each other: this sends
        // the form to its own page as a GET, which comes back with the next
        // select's choices and everything typed so far. Hidden once hydrated.
        <button type="submit" class="btn btn--secondary without-js" formmethod="get"
            formaction=use_location().pathname.get_untracked() formnovalidate=true data-testid="source-next">
            "Show the choices for this source"
        </button>
    }
}

/// The row filter, as text: one condition a line. The help names the chosen
/// table's columns and their types, the values a condition must fit.
#[component]
fn RowFilterField(
    initial: String,
    columns: Memo<Vec<crate::catalog::Column>>,
    message: Signal<Option<String>>,
) -> impl IntoView {
    let listed = move || {
        columns.with(|cs| {
            cs.iter()
                .map(|c| format!("{} ({})", c.name, c.kind.as_str()))
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    view! {
        <div class="field">
            <label for="wl-filter">"Rows to count"</label>
            // As for the stopwords: the text goes in escaped, as markup (tachys
            // writes a <textarea>'s text into the server-rendered page as it is).
            <textarea id="wl-filter" name="form[filter]" rows="3" spellcheck="false" autocomplete="off"
                placeholder="Every row. For example: corpus = hamlet"
                aria-describedby="wl-filter-help wl-filter-columns wl-filter-error"
                aria-invalid=move || message.get().is_some().to_string()
                inner_html=crate::security::escape_text(&initial)></textarea>
            <p class="field__help" id="wl-filter-help">
                "One condition a line; a row is counted when it meets them all. "
                <code>"corpus = hamlet"</code>", "<code>"corpus in hamlet, macbeth"</code>", "
                <code>"year >= 1600"</code>" (also "<code>">"</code>", "<code>"<"</code>", "<code>"<="</code>
                ", for numbers and times, such as "<code>"2026-12-07"</code>"). Blank counts every row."
            </p>
            <p class="field__help" id="wl-filter-columns" data-testid="filter-columns">
                {move || {
                    let listed = listed();
                    (!listed.is_empty()).then(|| format!("Columns: {listed}."))
                }}
            </p>
            <FieldMessage id="wl-filter-error" message />
        </div>
    }
}

/// The column to count per group of: none, or any column of the chosen
/// table (its values as text; null rows are a group of their own).
#[component]
fn GroupByField(
    initial: String,
    columns: Memo<Vec<crate::catalog::Column>>,
    message: Signal<Option<String>>,
) -> impl IntoView {
    let chosen = RwSignal::new(initial);
    view! {
        <div class="field">
            <label for="wl-group_by">"Counts per group of"</label>
            <select id="wl-group_by" name="form[group_by]" data-testid="group-by"
                aria-describedby="wl-group_by-help wl-group_by-error"
                aria-invalid=move || message.get().is_some().to_string()
                on:change=move |ev| chosen.set(event_target_value(&ev))>
                <option value="" selected=move || chosen.with(String::is_empty)>"No groups"</option>
                {move || {
                    let mut names: Vec<String> = columns.with(|cs| cs.iter().map(|c| c.name.clone()).collect());
                    // A stored choice the table no longer has stays visible, so
                    // saving reports it rather than silently dropping it.
                    let current = chosen.get_untracked();
                    if !current.is_empty() && !names.contains(&current) {
                        names.push(current);
                    }
                    names.into_iter().map(|name| {
                        let selected = name == chosen.get_untracked();
                        view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
                    }).collect_view()
                }}
            </select>
            <p class="field__help" id="wl-group_by-help">
                "Counts each value of this column apart (numbers and times as text; empty cells are a group of their own), "
                "as well as all rows together. No groups counts every row together."
            </p>
            <FieldMessage id="wl-group_by-error" message />
        </div>
    }
}

#[component]
fn SourceSelect(
    id: &'static str,
    label: &'static str,
    field: &'static str,
    options: Signal<Vec<String>>,
    chosen: Signal<String>,
    choose: RwSignal<String>,
    message: Signal<Option<String>>,
) -> impl IntoView {
    let error_id = format!("{id}-error");
    view! {
        <div class="field">
            <label for=id>{label}</label>
            <select id=id name=format!("form[{field}]") aria-describedby=error_id.clone()
                aria-invalid=move || message.get().is_some().to_string()
                on:change=move |ev| choose.set(event_target_value(&ev))>
                {move || {
                    let current = chosen.get();
                    // Nothing is chosen for the user: with several to choose
                    // from, the select starts on this placeholder.
                    let placeholder = current.is_empty().then(|| view! {
                        <option value="" selected=true>"Choose…"</option>
                    });
                    let choices = options.get().into_iter().map(|name| {
                        let selected = name == current;
                        let label = name.clone();
                        view! { <option value=name selected=selected>{label}</option> }
                    }).collect_view();
                    view! { {placeholder} {choices} }
                }}
            </select>
            <p class="field__error" id=error_id.clone() role="alert" data-testid=error_id>{move || message.get()}</p>
        </div>
    }
}

/// Moves the keyboard focus to the input of a form field (by the field's name).
fn focus_input(field: &str) {
    let id = match field {
        "min_length" => "wl-min-length".to_string(),
        "workload_type" => "wl-type".to_string(),
        "custom" => "wl-custom-stopwords".to_string(),
        other => format!("wl-{other}"),
    };
    if let Some(element) = document()
        .get_element_by_id(&id)
        .and_then(|e| e.dyn_into::<leptos::web_sys::HtmlElement>().ok())
    {
        let _ = element.focus();
    }
}

/// `wanted` when it is one of `options`, else the first option (or nothing).
/// The choice to show: the one wanted if it is still there, the only one if
/// there is one, else none (the select shows "Choose…").
fn pick(wanted: String, options: Vec<String>) -> String {
    if options.contains(&wanted) {
        wanted
    } else if options.len() == 1 {
        options.into_iter().next().unwrap_or_default()
    } else {
        String::new()
    }
}

/// Names that say a column holds text to count, most telling first.
const TEXT_COLUMN_NAMES: [&str; 9] = [
    "text",
    "line",
    "body",
    "content",
    "message",
    "description",
    "comment",
    "review",
    "word",
];

/// The string column to offer first: the only one, or one whose name says it
/// holds text (ignoring case); else none, and the user chooses.
fn text_column(columns: &[String]) -> Option<String> {
    if let [only] = columns {
        return Some(only.clone());
    }
    TEXT_COLUMN_NAMES.iter().find_map(|wanted| {
        columns
            .iter()
            .find(|c| c.eq_ignore_ascii_case(wanted))
            .cloned()
    })
}

/// A field's error in the form's words. The REST API keeps the prototype's
/// (pydantic's) wording for scripts; a person filling in the form gets told
/// what to do instead.
fn form_message(error: &AppError, field: &str) -> Option<String> {
    let Some(e) = error.errors.iter().find(|e| e.field() == field) else {
        return error.for_field(field);
    };
    let choose = |what: &str| Some(format!("Choose a {what}."));
    match (field, e.kind.as_str()) {
        ("name", "string_too_short" | "missing") => Some("Give the workload a name.".into()),
        ("src_project", "string_too_short" | "missing") => choose("project"),
        ("src_dataset", "string_too_short" | "missing") => choose("dataset"),
        ("src_table", "string_too_short" | "missing") => choose("table"),
        ("src_column_name", "string_too_short" | "missing") => choose("string column to count"),
        ("min_length", "int_type" | "int_parsing") => {
            Some("Enter a whole number of characters, such as 0 or 3.".into())
        }
        (_, "string_too_long") => Some(
            e.msg
                .replacen("String should have at most", "Too long: at most", 1)
                + ".",
        ),
        _ => Some(e.msg.clone()),
    }
}

fn names<T>(items: &[T], name: impl Fn(&T) -> &String) -> Vec<String> {
    items.iter().map(|i| name(i).clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_that_no_longer_fits_falls_back_to_the_first() {
        let options = vec!["a".to_string(), "b".to_string()];
        assert_eq!(pick("b".into(), options.clone()), "b");
        assert_eq!(
            pick("gone".into(), options),
            "",
            "two to choose from: no guess"
        );
        assert_eq!(pick("gone".into(), vec!["only".into()]), "only");
        assert_eq!(pick("x".into(), Vec::new()), "");
    }

    #[test]
    fn the_text_column_is_the_one_whose_name_says_so() {
        let cols = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        assert_eq!(
            text_column(&cols(&["corpus", "word"])).as_deref(),
            Some("word")
        );
        assert_eq!(
            text_column(&cols(&["id", "Text", "line"])).as_deref(),
            Some("Text")
        );
        assert_eq!(text_column(&cols(&["only"])).as_deref(), Some("only"));
        assert_eq!(text_column(&cols(&["a", "b"])), None);
    }

    #[test]
    fn form_errors_say_what_to_do() {
        use crate::error::FieldError;
        let mut e = AppError::new(422, "Invalid workload");
        e.errors = vec![
            FieldError::body(
                &["name"],
                "String should have at least 1 character".into(),
                "string_too_short",
            ),
            FieldError::body(&["src_table"], "Field required".into(), "missing"),
            FieldError::body(
                &["options", "min_length"],
                "Input should be a valid integer".into(),
                "int_type",
            ),
        ];
        assert_eq!(
            form_message(&e, "name").as_deref(),
            Some("Give the workload a name.")
        );
        assert_eq!(
            form_message(&e, "src_table").as_deref(),
            Some("Choose a table.")
        );
        assert!(form_message(&e, "min_length").is_some_and(|m| m.contains("whole number")));
        assert_eq!(form_message(&e, "case"), None);
    }
}
