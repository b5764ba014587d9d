//! A run's results: every word and its count, searched by prefix, ordered and
//! paged through the URL query (`q`, `order`, `page`), so that a search is a
//! link and works without JavaScript; with the downloads of the whole result.

use leptos::prelude::*;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::get_run_words;
use crate::components::word_chart::display;
use crate::format::thousands;
use crate::href::with_query;
use crate::run::{MAX_WORDS_PAGE, WordCountPage, WordOrder};

/// Words per page of the table.
const PAGE_SIZE: u64 = 50;

#[derive(Clone, Debug, PartialEq)]
struct TableParams {
    q: String,
    order: WordOrder,
    page: u64,
}

impl TableParams {
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
        let link = with_query(
            base,
            &[("q", self.q.clone()), ("order", order), ("page", page)],
        );
        format!("{link}#results")
    }
}

#[component]
pub fn ResultsExplorer(
    run_id: u64,
    /// Words in the whole result, for each word's share.
    total_words: u64,
    /// The page the explorer sits on; its links keep to it.
    #[prop(into)]
    base: String,
) -> impl IntoView {
    let query = use_query_map();
    let params = Memo::new(move |_| {
        query.with(|q| TableParams {
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
        })
    });
    let words = Resource::new(
        move || params.get(),
        move |p| get_run_words(run_id, p.q, p.order, (p.page - 1) * PAGE_SIZE, PAGE_SIZE),
    );
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
        let next = TableParams {
            q: typed.get_untracked(),
            order,
            page: 1,
        };
        navigate(&next.href(&base.get_value(), 1), Default::default());
    };
    let csv = format!("/api/v1/runs/{run_id}/wordcount?format=csv");
    let json = format!("/api/v1/runs/{run_id}/wordcount?limit={MAX_WORDS_PAGE}");
    let json_words = thousands(MAX_WORDS_PAGE);

    view! {
        <div class="results" id="results">
            <div class="results__toolbar">
                <form class="filters" method="get" action=base.get_value() role="search" data-testid="results-search">
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
                    <a class="btn btn--secondary" href=csv rel="external" download data-testid="download-csv">"Download CSV"</a>
                    <a class="btn btn--secondary" href=json rel="external" data-testid="download-json"
                        title=format!("The {json_words} most frequent words; the CSV has every word")>{format!("JSON (top {json_words})")}</a>
                </div>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading words…"</p> }>
                {move || Suspend::new(async move {
                    match words.await {
                        Ok(page) => view! {
                            <WordPage page total_words params=params.get_untracked() base=base.get_value() />
                        }.into_any(),
                        Err(e) => view! { <p class="alert alert--error" role="alert">{e.message}</p> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn WordPage(
    page: WordCountPage,
    total_words: u64,
    params: TableParams,
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
        let p = TableParams {
            q: "th".into(),
            order: WordOrder::Word,
            page: 1,
        };
        assert_eq!(
            p.href("/workloads/3", 2),
            "/workloads/3?q=th&order=word&page=2#results"
        );
        let plain = TableParams {
            q: String::new(),
            order: WordOrder::Count,
            page: 2,
        };
        assert_eq!(plain.href("/runs/9", 1), "/runs/9#results");
    }
}
