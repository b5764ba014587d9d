//! The top words of a result as a horizontal bar chart: one row per word with
//! its label, a bar as long as its share of the top count, and the count. Rows
//! of HTML rather than an SVG scaled to the screen, so the labels keep a
//! readable size on a phone; screen readers get the whole chart as one label.

use leptos::prelude::*;

use crate::format::thousands;
use crate::run::WordCountRow;

/// Labels longer than this are cut (with an ellipsis); the full word is in the
/// row's tooltip and in the table below the chart.
const LABEL_CHARS: usize = 18;

#[component]
pub fn WordChart(words: Vec<WordCountRow>) -> impl IntoView {
    let max = words.iter().map(|w| w.count).max().unwrap_or(1).max(1) as f64;
    let summary = words
        .iter()
        .map(|w| format!("{}: {}", display(&w.word), thousands(w.count)))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <figure class="chart" data-testid="word-chart" role="img" aria-label=format!("Most frequent words: {summary}")>
            <ol class="chart__rows" aria-hidden="true">
                {words.into_iter().map(|w| {
                    // Leave room after the longest bar for its count.
                    let percent = (w.count as f64 / max * 80.0).max(0.5);
                    let label = short(&display(&w.word));
                    view! {
                        <li class="chart__row" data-testid="chart-row" data-word=w.word.clone()
                            title=format!("{}: {}", display(&w.word), thousands(w.count))>
                            <span class="chart__label">{label}</span>
                            <span class="chart__track">
                                <span class="chart__bar" style:width=format!("{percent:.1}%")></span>
                                <span class="chart__count">{thousands(w.count)}</span>
                            </span>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </figure>
    }
}

/// The empty word (which the `spark` tokenizer counts) needs a visible name.
pub fn display(word: &str) -> String {
    if word.is_empty() {
        "(empty)".into()
    } else {
        word.to_string()
    }
}

fn short(word: &str) -> String {
    if word.chars().count() <= LABEL_CHARS {
        word.to_string()
    } else {
        let mut cut: String = word.chars().take(LABEL_CHARS - 1).collect();
        cut.push('…');
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_visible_and_bounded() {
        assert_eq!(display(""), "(empty)");
        assert_eq!(short("short"), "short");
        let long = "x".repeat(40);
        assert_eq!(short(&long).chars().count(), LABEL_CHARS);
        assert!(short(&long).ends_with('…'));
    }
}
