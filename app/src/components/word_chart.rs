//! The top words of a result as a horizontal bar chart in SVG: labels in text,
//! each bar with its count, and a table-like description for screen readers.

use leptos::prelude::*;

use crate::format::thousands;
use crate::run::WordCountRow;

const ROW_HEIGHT: f64 = 26.0;
const LABEL_WIDTH: f64 = 140.0;
const COUNT_WIDTH: f64 = 90.0;
const BAR_WIDTH: f64 = 420.0;
/// Labels longer than this are cut (with an ellipsis); the full word is in the
/// bar's tooltip and in the table below the chart.
const LABEL_CHARS: usize = 18;

#[component]
pub fn WordChart(words: Vec<WordCountRow>) -> impl IntoView {
    let max = words.iter().map(|w| w.count).max().unwrap_or(1).max(1) as f64;
    let height = ROW_HEIGHT * words.len() as f64;
    let width = LABEL_WIDTH + BAR_WIDTH + COUNT_WIDTH;
    let summary = words
        .iter()
        .map(|w| format!("{}: {}", display(&w.word), thousands(w.count)))
        .collect::<Vec<_>>()
        .join(", ");
    view! {
        <figure class="chart" data-testid="word-chart">
            <svg
                viewBox=format!("0 0 {width} {height}")
                role="img"
                aria-label=format!("Most frequent words: {summary}")
                preserveAspectRatio="xMinYMin meet"
            >
                {words.into_iter().enumerate().map(|(i, w)| {
                    let y = i as f64 * ROW_HEIGHT;
                    let bar = (w.count as f64 / max * BAR_WIDTH).max(2.0);
                    let label = short(&display(&w.word));
                    view! {
                        <g class="chart__row" data-testid="chart-row" data-word=w.word.clone()>
                            <title>{format!("{}: {}", display(&w.word), thousands(w.count))}</title>
                            <text class="chart__label" x=LABEL_WIDTH - 8.0 y=y + ROW_HEIGHT * 0.65 text-anchor="end">{label}</text>
                            <rect class="chart__bar" x=LABEL_WIDTH y=y + 4.0 width=bar height=ROW_HEIGHT - 8.0 rx="3"></rect>
                            <text class="chart__count" x=LABEL_WIDTH + bar + 6.0 y=y + ROW_HEIGHT * 0.65>{thousands(w.count)}</text>
                        </g>
                    }
                }).collect_view()}
            </svg>
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
