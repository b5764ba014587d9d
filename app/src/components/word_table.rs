//! A run's results: every word and its count, searched by prefix, ordered and
//! paged through the URL query (`q`, `order`, `page`, and `group` or
//! `null_group` for one group of a run counted per group), so that a search
//! is a link and works without JavaScript; with the downloads of the whole
//! result, and a grouped run's groups, each a link to its own counts.
//!
//! The page showing the results loads them ([`load_results`] in a resource of
//! its own component), not the explorer: the server renders a view inside a
//! `Suspend` more than once, so a resource made there is made more than once,
//! and the browser may then hydrate against an answer the server never sent
//! (a hydration panic, seen on loaded machines).

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use serde::{Deserialize, Serialize};

use crate::api::{get_run_groups, get_run_words};
use crate::components::word_chart::display;
use crate::error::AppError;
use crate::format::thousands;
use crate::href::with_query;
use crate::run::{
    GroupPick, MAX_WORDS_PAGE, Run, RunGroupsPage, WordCountPage, WordCountRow, WordOrder,
    group_label,
};

/// Words per page of the table.
const PAGE_SIZE: u64 = 50;

/// Groups listed on a page, at most (the JSON link has them all).
const GROUPS_SHOWN: u64 = 1_000;

/// What the results show, as the URL's query asks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultsQuery {
    q: String,
    order: WordOrder,
    page: u64,
    group: GroupPick,
}

impl ResultsQuery {
    /// The query of `q`; a group only where the run is counted per group.
    fn of_query(q: &ParamsMap, grouped: bool) -> Self {
        Self {
            group: if grouped {
                GroupPick::of_url(|key| q.get(key))
            } else {
                GroupPick::All
            },
            q: q.get("q").unwrap_or_default(),
            order: match q.get("order").as_deref() {
                Some("word") => WordOrder::Word,
                _ => WordOrder::Count,
            },
            page: q
                .get("page")
                .and_then(|p| p.parse().ok())
                .filter(|&p| p >= 1)
                .unwrap_or(1),
        }
    }

    fn href(&self, base: &str, page: u64) -> String {
        let order = match self.order {
            WordOrder::Count => String::new(),
            WordOrder::Word => "word".into(),
        };
        let page = if page > 1 {
            page.to_string()
        } else {
            String::new()
        };
        let mut params = self.group.query_params();
        params.extend([("q", self.q.clone()), ("order", order), ("page", page)]);
        let link = with_query(base, &params);
        format!("{link}#results")
    }
}

/// The results query of the current URL, for the page's resource (the group
/// is kept; [`load_results`] drops it for a run counted whole).
pub fn use_results_query() -> Memo<ResultsQuery> {
    let query = use_query_map();
    Memo::new(move |_| query.with(|q| ResultsQuery::of_query(q, true)))
}

/// One run's results as a page shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunResults {
    /// What they were loaded for (no group for a run counted whole).
    query: ResultsQuery,
    /// The most frequent words of the group shown, for a chart (if asked).
    pub chart: Vec<WordCountRow>,
    /// The table's page.
    words: WordCountPage,
    /// A grouped run's groups.
    groups: Option<RunGroupsPage>,
}

/// A page's resource of the results it shows: none while it has no
/// succeeded run to show.
pub type ResultsResource = Resource<Result<Option<RunResults>, AppError>>;

/// Loads what the results of `run` show for `query`, with the `chart_words`
/// most frequent words of the group shown (none for 0).
pub async fn load_results(
    run: &Run,
    query: ResultsQuery,
    chart_words: u64,
) -> Result<RunResults, AppError> {
    let grouped = run.group_by.is_some();
    let query = ResultsQuery {
        group: if grouped { query.group } else { GroupPick::All },
        ..query
    };
    let (group, null_group) = query.group.as_args();
    let null_group = if null_group { "true" } else { "" };
    let chart = if chart_words > 0 {
        get_run_words(
            run.id,
            String::new(),
            WordOrder::Count.as_str().into(),
            String::new(),
            chart_words.to_string(),
            group.clone(),
            null_group.into(),
        )
        .await?
        .words
    } else {
        Vec::new()
    };
    let offset = (query.page - 1) * PAGE_SIZE;
    let words = get_run_words(
        run.id,
        query.q.clone(),
        query.order.as_str().into(),
        offset.to_string(),
        PAGE_SIZE.to_string(),
        group,
        null_group.into(),
    )
    .await?;
    // A grouped run's page needs its groups too: to list them, and for the
    // share of each word in the group shown.
    let groups = if grouped {
        Some(get_run_groups(run.id, 0, GROUPS_SHOWN).await?)
    } else {
        None
    };
    Ok(RunResults {
        query,
        chart,
        words,
        groups,
    })
}

/// The link to `pick`'s counts on the page at `base` (first page, no search).
fn group_href(base: &str, pick: &GroupPick) -> String {
    format!("{}#results", with_query(base, &pick.query_params()))
}

#[component]
pub fn ResultsExplorer(
    run_id: u64,
    /// Words in the whole result, for each word's share.
    total_words: u64,
    /// The page the explorer sits on; its links keep to it.
    #[prop(into)]
    base: String,
    /// The column the run counted per group of, if any: its groups are
    /// listed, and each has its own counts.
    group_by: Option<String>,
    /// What to show, loaded by the page.
    results: ResultsResource,
) -> impl IntoView {
    let query = use_query_map();
    let grouped = group_by.is_some();
    let params = Memo::new(move |_| query.with(|q| ResultsQuery::of_query(q, grouped)));
    let base_link = base.clone();
    let base = StoredValue::new(base);
    let current = params.get_untracked();
    // Choosing an order applies it at once (without JavaScript, Search does),
    // with whatever is typed in the search box.
    let typed = RwSignal::new(current.q.clone());
    let navigate = use_navigate();
    let on_order = move |ev: leptos::ev::Event| {
        let order = match event_target_value(&ev).as_str() {
            "word" => WordOrder::Word,
            _ => WordOrder::Count,
        };
        let next = ResultsQuery {
            q: typed.get_untracked(),
            order,
            page: 1,
            group: params.get_untracked().group,
        };
        navigate(&next.href(&base.get_value(), 1), Default::default());
    };
    let api = format!("/api/v1/runs/{run_id}/wordcount");
    // The group follows the URL: a group's link is a navigation within the
    // page, which keeps this component.
    let api = StoredValue::new(api);
    let download = move |last: (&'static str, String)| {
        let mut query = params.with(|p| p.group.query_params());
        query.push(last);
        api.with_value(|api| with_query(api, &query))
    };
    let csv = move || download(("format", "csv".into()));
    let json = move || download(("limit", MAX_WORDS_PAGE.to_string()));
    let json_words = thousands(MAX_WORDS_PAGE);
    let csv_title = move || match (params.with(|p| p.group.clone()), grouped) {
        (GroupPick::All, true) => "Every group's words, with a group column",
        _ => "Every word",
    };
    let kept_group = move || {
        params
            .with(|p| p.group.query_params())
            .into_iter()
            .map(|(name, value)| view! { <input type="hidden" name=name value=value /> })
            .collect_view()
    };

    view! {
        <div class="results" id="results">
            <div class="results__toolbar">
                <form class="filters" method="get" action=base.get_value() role="search" data-testid="results-search">
                    // A search stays within the group shown.
                    {kept_group}
                    <label class="field field--inline">
                        <span class="field__label">"Words starting with"</span>
                        <input type="search" name="q" value=current.q.clone() autocomplete="off" spellcheck="false"
                            on:input=move |ev| typed.set(event_target_value(&ev)) />
                    </label>
                    <label class="field field--inline">
                        <span class="field__label">"Order"</span>
                        <select name="order" on:change=on_order>
                            <option value="" selected=current.order == WordOrder::Count>"Most frequent first"</option>
                            <option value="word" selected=current.order == WordOrder::Word>"Alphabetical"</option>
                        </select>
                    </label>
                    <button type="submit" class="btn btn--secondary">"Search"</button>
                </form>
                <div class="results__downloads">
                    <a class="btn btn--secondary" href=csv rel="external" download data-testid="download-csv" title=csv_title>"Download CSV"</a>
                    <a class="btn btn--secondary" href=json rel="external" data-testid="download-json"
                        title=format!("The {json_words} most frequent words; the CSV has every word")>{format!("JSON (top {json_words})")}</a>
                </div>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading words…"</p> }>
                {move || {
                    // Only the page's resource and plain values in here: the
                    // page may rebuild this explorer while its results reload,
                    // and the old explorer's signals go with it.
                    let base = base_link.clone();
                    Suspend::new(async move {
                        match results.await {
                            Ok(Some(RunResults { query: params, words, groups, .. })) => {
                                let total_words = match (&params.group, &groups) {
                                    (GroupPick::One(wanted), Some(groups)) => groups
                                        .groups
                                        .iter()
                                        .find(|g| g.group == *wanted)
                                        .map_or(0, |g| g.total_words),
                                    _ => total_words,
                                };
                                view! {
                                    {groups.map(|groups| view! {
                                        <GroupList groups picked=params.group.clone() base=base.clone() />
                                    })}
                                    <WordPage page=words total_words params base />
                                }.into_any()
                            }
                            // No succeeded run to show (any more): the page says so.
                            Ok(None) => ().into_any(),
                            Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
                        }
                    })
                }}
            </Transition>
        </div>
    }
}

/// A grouped run's groups: each a link to its counts, the one shown marked.
#[component]
fn GroupList(groups: RunGroupsPage, picked: GroupPick, base: String) -> impl IntoView {
    let all = group_href(&base, &GroupPick::All);
    let showing = match &picked {
        GroupPick::All => format!("All groups of {}", groups.group_by),
        GroupPick::One(group) => format!("{} = {}", groups.group_by, group_label(group.as_deref())),
    };
    let more = groups.total.saturating_sub(groups.groups.len() as u64);
    let groups_json = format!("/api/v1/runs/{}/groups?limit=10000", groups.run_id);
    view! {
        <div class="groups" data-testid="run-groups">
            <p class="muted" data-testid="group-shown">
                "Showing: "<strong>{showing}</strong>
                {(picked != GroupPick::All).then(|| view! { " · "<a href=all.clone() data-testid="all-groups">"All groups"</a> })}
            </p>
            <details open=picked == GroupPick::All>
                <summary>{format!("{} groups by {}", thousands(groups.total), groups.group_by)}</summary>
                <div class="table-scroll">
                    <table class="data" data-testid="groups-table">
                        <thead>
                            <tr>
                                <th scope="col">{groups.group_by.clone()}</th>
                                <th scope="col" class="num">"Words"</th>
                                <th scope="col" class="num">"Distinct"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {groups.groups.into_iter().map(|g| {
                                let pick = GroupPick::One(g.group.clone());
                                let current = (pick == picked).then_some("page");
                                let label = group_label(g.group.as_deref());
                                view! {
                                    <tr data-testid="group-row">
                                        <td class="text">
                                            <a href=group_href(&base, &pick) aria-current=current
                                                class:muted=g.group.is_none()>{label}</a>
                                        </td>
                                        <td class="num">{thousands(g.total_words)}</td>
                                        <td class="num">{thousands(g.distinct_words)}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
                {(more > 0).then(|| view! {
                    <p class="muted">{format!("And {} more: ", thousands(more))}
                        <a href=groups_json rel="external">"every group as JSON"</a></p>
                })}
            </details>
        </div>
    }
}

#[component]
fn WordPage(
    page: WordCountPage,
    total_words: u64,
    params: ResultsQuery,
    base: String,
) -> impl IntoView {
    if page.words.is_empty() {
        let message = if params.q.is_empty() {
            "This result has no words.".to_string()
        } else {
            format!("No word starts with “{}”.", params.q)
        };
        return view! { <p class="muted" data-testid="results-empty">{message}</p> }.into_any();
    }
    let pages = page.total.div_ceil(PAGE_SIZE).max(1);
    let first = page.offset + 1;
    let last = page.offset + page.words.len() as u64;
    let current = params.page;
    view! {
        <p class="muted" data-testid="results-count">
            {format!("{}–{} of {} words", thousands(first), thousands(last), thousands(page.total))}
        </p>
        <div class="table-scroll">
            <table class="data" data-testid="results-table">
                <thead>
                    <tr>
                        <th scope="col" class="num">"#"</th>
                        <th scope="col">"Word"</th>
                        <th scope="col" class="num">"Count"</th>
                        <th scope="col" class="num">"Share"</th>
                    </tr>
                </thead>
                <tbody>
                    {page.words.into_iter().enumerate().map(|(i, w)| {
                        let share = share(w.count, total_words);
                        view! {
                            <tr data-testid="result-row">
                                <td class="num muted">{page.offset + i as u64 + 1}</td>
                                <td class="word text">{display(&w.word)}</td>
                                <td class="num">{thousands(w.count)}</td>
                                <td class="num">{share}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Result pages">
            {(current > 1).then(|| view! { <a rel="prev" href=params.href(&base, current - 1)>"← Previous"</a> })}
            <span>{format!("Page {current} of {pages}")}</span>
            {(current < pages).then(|| view! { <a rel="next" href=params.href(&base, current + 1)>"Next →"</a> })}
        </nav>
    }
    .into_any()
}

/// A word's share of the result, never "0.00 %" for a word that is there.
fn share(count: u64, total: u64) -> String {
    if total == 0 {
        return "–".into();
    }
    let percent = count as f64 / total as f64 * 100.0;
    if percent > 0.0 && percent < 0.01 {
        "< 0.01 %".into()
    } else {
        format!("{percent:.2} %")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rare_word_has_a_share_above_nothing() {
        assert_eq!(share(13, 1_000_000), "< 0.01 %");
        assert_eq!(share(1, 4), "25.00 %");
        assert_eq!(share(0, 10), "0.00 %");
        assert_eq!(share(1, 0), "–");
    }

    #[test]
    fn result_links_keep_the_search_and_order() {
        let p = ResultsQuery {
            q: "th".into(),
            order: WordOrder::Word,
            page: 1,
            group: GroupPick::All,
        };
        assert_eq!(
            p.href("/workloads/3", 2),
            "/workloads/3?q=th&order=word&page=2#results"
        );
        let plain = ResultsQuery {
            q: String::new(),
            order: WordOrder::Count,
            page: 2,
            group: GroupPick::All,
        };
        assert_eq!(plain.href("/runs/9", 1), "/runs/9#results");
        // Within a group, every link keeps to it (the nulls' by a flag).
        let grouped = ResultsQuery {
            group: GroupPick::One(Some("king lear".into())),
            ..p.clone()
        };
        assert_eq!(
            grouped.href("/runs/9", 1),
            "/runs/9?group=king%20lear&q=th&order=word#results"
        );
        let nulls = ResultsQuery {
            group: GroupPick::One(None),
            ..plain
        };
        assert_eq!(nulls.href("/runs/9", 1), "/runs/9?null_group=true#results");
        assert_eq!(
            group_href("/workloads/2", &GroupPick::One(Some("a&b".into()))),
            "/workloads/2?group=a%26b#results"
        );
    }
}
