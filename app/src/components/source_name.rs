//! A table or column reference (`project.dataset.table.column`) that a narrow
//! cell breaks after a dot, and inside a name only when that name alone is
//! wider than the line: wrapped anywhere, a cell showed
//! "public-data.samples.shake" over "speare.text".

use leptos::prelude::*;

#[component]
pub fn SourceName(#[prop(into)] name: String) -> impl IntoView {
    // Names never hold a dot (they are validated), so every dot is a boundary.
    let parts: Vec<String> = name.split_inclusive('.').map(str::to_owned).collect();
    view! {
        <code class="source-name">
            {parts.into_iter().map(|part| view! { <span>{part}</span><wbr /> }).collect_view()}
        </code>
    }
}
