//! `/runs/:id/compare/:other`: how the terms of one run changed in another:
//! both runs' totals, how many terms are new, vanished, changed or the same,
//! and every term with both counts, searched, filtered, ordered and paged
//! through the URL query (`q`, `kind`, `order`, `page`, and `group` or
//! `null_group` for one group of runs counted per group), so that each view
//! is a link and works without JavaScript; with the whole comparison as CSV.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};

use crate::api::compare_runs;
use crate::compare::{ChangeKind, CompareOrder, ComparePage, ComparedRun, TermChange};
use crate::components::layout::PageHeader;
use crate::components::word_chart::display;
use crate::format::{or_dash, thousands, timestamp};
use crate::href::with_query;
use crate::run::GroupPick;

/// Terms per page of the table.
const PAGE_SIZE: u64 = 50;

/// What the URL asks to see.
#[derive(Clone, Debug, PartialEq)]
struct View {
    group: GroupPick,
    q: String,
    kind: ChangeKind,
    order: CompareOrder,
    page: u64,
}

impl View {
    /// The query of this view on `page` (defaults left out).
    fn query(&self, page: u64) -> Vec<(&'static str, String)> {
        let kind = (self.kind != ChangeKind::All).then(|| self.kind.as_str().to_string());
        let order = (self.order != CompareOrder::Rise).then(|| self.order.as_str().to_string());
        let mut query = self.group.query_params();
        query.extend([
            ("q", self.q.clone()),
            ("kind", kind.unwrap_or_default()),
            ("order", order.unwrap_or_default()),
            (
                "page",
                if page > 1 {
                    page.to_string()
                } else {
                    String::new()
                },
            ),
        ]);
        query
    }

    fn href(&self, base: &str, page: u64) -> String {
        format!("{}#changes", with_query(base, &self.query(page)))
    }

    /// The same view with another kind, from its first page.
    fn of_kind(&self, kind: ChangeKind) -> Self {
        Self {
            kind,
            page: 1,
            ..self.clone()
        }
    }
}

#[component]
pub fn CompareRunsPage() -> impl IntoView {
    let params = use_params_map();
    let ids = Memo::new(move |_| {
        params.with(|p| {
            let id = |key: &str| p.get(key).and_then(|id| id.parse::<u64>().ok());
            id("id").zip(id("other"))
        })
    });
    let query = use_query_map();
    let view = Memo::new(move |_| {
        query.with(|q| View {
            group: GroupPick::of_url(|key| q.get(key)),
            q: q.get("q").unwrap_or_default(),
            kind: q
                .get("kind")
                .and_then(|k| ChangeKind::parse(&k))
                .unwrap_or_default(),
            order: q
                .get("order")
                .and_then(|o| CompareOrder::parse(&o))
                .unwrap_or_default(),
            page: q
                .get("page")
                .and_then(|p| p.parse().ok())
                .filter(|&p| p >= 1)
                .unwrap_or(1),
        })
    });
    let page = Resource::new(
        move || (ids.get(), view.get()),
        |(ids, v)| async move {
            let Some((before, after)) = ids else {
                return Err(crate::api::address_not_found("Run ids are whole numbers"));
            };
            let offset = ((v.page - 1) * PAGE_SIZE).to_string();
            let (group, null_group) = v.group.as_args();
            compare_runs(
                before,
                after,
                v.q,
                v.kind.as_str().into(),
                v.order.as_str().into(),
                offset,
                PAGE_SIZE.to_string(),
                group,
                if null_group {
                    "true".into()
                } else {
                    String::new()
                },
            )
            .await
        },
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Comparing the runs…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(page) => view! { <Comparison page view=view.get_untracked() /> }.into_any(),
                    Err(e) => view! {
                        <Title text="Runs do not compare" />
                        <PageHeader title="Runs do not compare" />
                        <p class="alert alert--error" role="alert" data-testid="compare-error">{e.message}</p>
                    }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn Comparison(page: ComparePage, view: View) -> impl IntoView {
    let (before, after) = (page.before.run_id, page.after.run_id);
    let base = format!("/runs/{before}/compare/{after}");
    let title = format!("Run {before} → run {after}");
    let subtitle = if page.before.workload_id == page.after.workload_id {
        page.after.workload_name.clone()
    } else {
        format!(
            "{} → {}",
            page.before.workload_name, page.after.workload_name
        )
    };
    let summary = page.summary;
    let kinds = [
        (ChangeKind::New, summary.new, "New"),
        (ChangeKind::Vanished, summary.vanished, "Vanished"),
        (ChangeKind::Changed, summary.changed, "Changed"),
        (ChangeKind::Unchanged, summary.unchanged, "Same"),
    ];
    view! {
        <Title text=title.clone() />
        <nav class="breadcrumbs" aria-label="Breadcrumbs">
            <a href="/workloads">"Workloads"</a>" / "
            <a href=format!("/workloads/{}", page.after.workload_id) data-testid="compare-workload">{page.after.workload_name.clone()}</a>
            " / "{format!("Compare runs {before} and {after}")}
        </nav>
        <PageHeader title=title subtitle=subtitle />
        {view.group.label().map(|label| view! {
            <p class="muted" data-testid="compare-group">
                "Comparing one group: "<strong>{label}</strong>" · "
                <a href=with_query(&base, &[]) data-testid="compare-all-groups">"All groups"</a>
            </p>
        })}
        <div class="grid">
            <RunSide label="Before" run=page.before.clone() testid="compare-before" />
            <RunSide label="After" run=page.after.clone() testid="compare-after" />
            <section class="card" aria-labelledby="kinds-title">
                <header class="card__header"><h2 id="kinds-title">"Terms"</h2></header>
                <dl class="facts" data-testid="compare-summary">
                    {kinds.into_iter().map(|(kind, n, label)| {
                        let href = view.of_kind(kind).href(&base, 1);
                        view! {
                            <dt>{label}</dt>
                            <dd><a href=href data-testid=format!("summary-{}", kind.as_str())>{thousands(n)}</a></dd>
                        }
                    }).collect_view()}
                </dl>
            </section>
        </div>
        <section class="card" aria-labelledby="changes-title" id="changes">
            <header class="card__header"><h2 id="changes-title">"Changes"</h2></header>
            <ChangeToolbar view=view.clone() base=base.clone() />
            <ChangeTable page view base />
        </section>
    }
}

#[component]
fn RunSide(label: &'static str, run: ComparedRun, testid: &'static str) -> impl IntoView {
    let id = run.run_id;
    view! {
        <section class="card" aria-label=label data-testid=testid>
            <header class="card__header"><h2>{label}</h2></header>
            <dl class="facts">
                <dt>"Run"</dt><dd><a href=format!("/runs/{id}")>{format!("Run {id}")}</a></dd>
                <dt>"Workload"</dt><dd><a href=format!("/workloads/{}", run.workload_id)>{run.workload_name}</a></dd>
                <dt>"Finished"</dt><dd>{or_dash(run.finished_at.as_deref(), timestamp)}</dd>
                <dt>"Terms counted"</dt><dd class="num">{thousands(run.total_words)}</dd>
                <dt>"Distinct"</dt><dd class="num">{thousands(run.distinct_words)}</dd>
            </dl>
        </section>
    }
}

/// The search, the kind and the order; a choice applies at once (without
/// JavaScript, Search does).
#[component]
fn ChangeToolbar(view: View, base: String) -> impl IntoView {
    let typed = RwSignal::new(view.q.clone());
    let kind = RwSignal::new(view.kind);
    let order = RwSignal::new(view.order);
    let navigate = use_navigate();
    let target = base.clone();
    let group = view.group.clone();
    let kept_group = view.group.query_params();
    let go = move || {
        let next = View {
            group: group.clone(),
            q: typed.get_untracked(),
            kind: kind.get_untracked(),
            order: order.get_untracked(),
            page: 1,
        };
        navigate(&next.href(&target, 1), Default::default());
    };
    let go_kind = go.clone();
    let csv_query: Vec<(&str, String)> = view
        .query(1)
        .into_iter()
        .filter(|(k, _)| *k != "page")
        .chain([("format", "csv".to_string())])
        .collect();
    let csv = with_query(&format!("/api/v1{base}"), &csv_query);
    view! {
        <div class="results__toolbar">
            <form class="filters" method="get" action=base role="search" data-testid="compare-search">
                // A search stays within the group compared.
                {kept_group.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value /> }).collect_view()}
                <label class="field field--inline">
                    <span class="field__label">"Terms starting with"</span>
                    <input type="search" name="q" value=view.q.clone() autocomplete="off" spellcheck="false"
                        on:input=move |ev| typed.set(event_target_value(&ev)) />
                </label>
                <label class="field field--inline">
                    <span class="field__label">"Show"</span>
                    <select name="kind" on:change=move |ev| {
                        kind.set(ChangeKind::parse(&event_target_value(&ev)).unwrap_or_default());
                        go_kind();
                    }>
                        {ChangeKind::ALL.into_iter().map(|k| view! {
                            <option value=k.as_str() selected=view.kind == k>{k.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="field field--inline">
                    <span class="field__label">"Order"</span>
                    <select name="order" on:change=move |ev| {
                        order.set(CompareOrder::parse(&event_target_value(&ev)).unwrap_or_default());
                        go();
                    }>
                        {CompareOrder::ALL.into_iter().map(|o| view! {
                            <option value=o.as_str() selected=view.order == o>{o.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="btn btn--secondary">"Search"</button>
            </form>
            <div class="results__downloads">
                <a class="btn btn--secondary" href=csv rel="external" download data-testid="compare-csv">"Download CSV"</a>
            </div>
        </div>
    }
}

#[component]
fn ChangeTable(page: ComparePage, view: View, base: String) -> impl IntoView {
    if page.terms.is_empty() {
        let message = if view.q.is_empty() {
            "No term of this kind.".to_string()
        } else {
            format!("No term of this kind starts with “{}”.", view.q)
        };
        return view! { <p class="muted" data-testid="compare-empty">{message}</p> }.into_any();
    }
    let pages = page.total.div_ceil(PAGE_SIZE).max(1);
    let first = page.offset + 1;
    let last = page.offset + page.terms.len() as u64;
    let current = view.page;
    view! {
        <p class="muted" data-testid="compare-count">
            {format!("{}–{} of {} terms", thousands(first), thousands(last), thousands(page.total))}
        </p>
        <div class="table-scroll">
            <table class="data" data-testid="compare-table">
                <thead>
                    <tr>
                        <th scope="col" class="num">"#"</th>
                        <th scope="col">"Term"</th>
                        <th scope="col" class="num">"Before"</th>
                        <th scope="col" class="num">"After"</th>
                        <th scope="col" class="num">"Change"</th>
                        <th scope="col" class="num">"Relative"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.terms.into_iter().enumerate().map(|(i, t)| {
                        let direction = match t.change.signum() {
                            1 => "change--up",
                            -1 => "change--down",
                            _ => "",
                        };
                        view! {
                            <tr data-testid="compare-row">
                                <td class="num muted">{page.offset + i as u64 + 1}</td>
                                <td class="word text">{display(&t.word)}</td>
                                <td class="num">{thousands(t.before)}</td>
                                <td class="num">{thousands(t.after)}</td>
                                <td class=format!("num {direction}")>{signed(t.change)}</td>
                                <td class=format!("num {direction}")>{relative(&t)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Comparison pages">
            {(current > 1).then(|| view! { <a rel="prev" href=view.href(&base, current - 1)>"← Previous"</a> })}
            <span>{format!("Page {current} of {pages}")}</span>
            {(current < pages).then(|| view! { <a rel="next" href=view.href(&base, current + 1)>"Next →"</a> })}
        </nav>
    }
    .into_any()
}

/// `+1,204`, `−3` (a real minus sign), `0`.
fn signed(change: i64) -> String {
    let size = thousands(change.unsigned_abs());
    match change.signum() {
        1 => format!("+{size}"),
        -1 => format!("−{size}"),
        _ => size,
    }
}

/// `+50.0 %`, `−100 %` for a vanished term, `new` for a term with no count before.
fn relative(t: &TermChange) -> String {
    match t.relative {
        None => "new".into(),
        Some(r) if r <= -1.0 => "−100 %".into(),
        Some(r) => {
            let percent = r * 100.0;
            let sign = if percent > 0.0 {
                "+"
            } else if percent < 0.0 {
                "−"
            } else {
                ""
            };
            format!("{sign}{:.1} %", percent.abs())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_read_with_their_sign() {
        assert_eq!(signed(1_204), "+1,204");
        assert_eq!(signed(-3), "−3");
        assert_eq!(signed(0), "0");
        assert_eq!(relative(&TermChange::new("a".into(), 0, 2)), "new");
        assert_eq!(relative(&TermChange::new("a".into(), 4, 0)), "−100 %");
        assert_eq!(relative(&TermChange::new("a".into(), 2, 3)), "+50.0 %");
        assert_eq!(relative(&TermChange::new("a".into(), 3, 2)), "−33.3 %");
        assert_eq!(relative(&TermChange::new("a".into(), 3, 3)), "0.0 %");
    }

    #[test]
    fn view_links_keep_the_search_kind_and_order() {
        let view = View {
            group: GroupPick::All,
            q: "th e".into(),
            kind: ChangeKind::New,
            order: CompareOrder::Word,
            page: 3,
        };
        assert_eq!(
            view.href("/runs/1/compare/2", 2),
            "/runs/1/compare/2?q=th%20e&kind=new&order=word&page=2#changes"
        );
        assert_eq!(
            View {
                group: GroupPick::One(Some("hamlet".into())),
                q: String::new(),
                kind: ChangeKind::All,
                order: CompareOrder::Rise,
                page: 1
            }
            .href("/runs/1/compare/2", 1),
            "/runs/1/compare/2?group=hamlet#changes"
        );
        assert_eq!(view.of_kind(ChangeKind::Vanished).page, 1);
    }
}
