//! The counting options and the row filter of a definition as facts
//! (`<dt>`/`<dd>` pairs), in the form's words: the Workload page and the Run
//! page show them the same way.

use leptos::prelude::*;
use tally_engine::CountOptions;

use crate::labels;
use crate::workload::RowFilter;

/// The rows counted: "Every row", or the filter's conditions one a line, as
/// the form writes them.
#[component]
pub fn RowFilterFact(filter: RowFilter) -> impl IntoView {
    let text = filter.to_text();
    view! {
        <dt>"Rows"</dt>
        <dd data-testid="option-filter">
            {if filter.is_empty() {
                view! { "Every row" }.into_any()
            } else {
                text.lines()
                    .map(|line| view! { <code class="condition">{line.to_string()}</code> })
                    .collect_view()
                    .into_any()
            }}
        </dd>
    }
}

/// How the rows are counted: together, or per group of a column.
#[component]
pub fn GroupByFact(group_by: Option<String>) -> impl IntoView {
    view! {
        <dt>"Groups"</dt>
        <dd data-testid="option-group-by">
            {match group_by {
                Some(column) => view! { "Per value of "<code>{column}</code> }.into_any(),
                None => view! { "None: every row together" }.into_any(),
            }}
        </dd>
    }
}

#[component]
pub fn CountOptionFacts(options: CountOptions) -> impl IntoView {
    view! {
        {options.n.map(|n| view! {
            <dt>"Words per n-gram"</dt><dd data-testid="option-n">{labels::ngram_size(n)}</dd>
        })}
        <dt>"Tokenizer"</dt><dd data-testid="option-tokenizer">{labels::tokenizer(options.tokenizer)}</dd>
        <dt>"Case"</dt><dd data-testid="option-case">{labels::case(options.case)}</dd>
        <dt>"Minimum length"</dt><dd data-testid="option-min-length">{labels::min_length(options.min_length)}</dd>
        <dt>"Stopwords"</dt><dd data-testid="option-stopwords">{labels::stopwords(&options.stopwords)}</dd>
    }
}
