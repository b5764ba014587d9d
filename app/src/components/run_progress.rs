//! A run's progress: a bar with its percentage in text, bytes read, pace and the
//! time left. Read by assistive technology as a `progressbar`.

use leptos::prelude::*;

use crate::format::{bytes, duration, rate, thousands};
use crate::run::{RunProgress, RunState};

#[component]
pub fn RunProgressBar(
    #[prop(into)] state: Signal<RunState>,
    #[prop(into)] progress: Signal<RunProgress>,
) -> impl IntoView {
    let percent = move || (progress.with(|p| p.fraction) * 100.0).clamp(0.0, 100.0);
    let label = move || match state.get() {
        RunState::Queued => "Waiting for a worker".to_string(),
        RunState::Running => format!("{:.0} % counted", percent()),
        other => other.status().label().to_string(),
    };
    let details = move || {
        progress.with(|p| {
            let mut parts = Vec::new();
            if p.bytes_total > 0 {
                parts.push(format!(
                    "{} of {}",
                    bytes(p.bytes_done),
                    bytes(p.bytes_total)
                ));
            }
            if p.words_done > 0 {
                parts.push(format!("{} words", thousands(p.words_done)));
            }
            if p.words_per_sec > 0.0 {
                parts.push(format!("{} words/s", rate(p.words_per_sec)));
            }
            // A finished, failed or cancelled run has no time left.
            if let Some(eta) = p.eta_secs.filter(|_| state.get().is_active()) {
                parts.push(format!("about {} left", duration(eta)));
            }
            parts.join(" · ")
        })
    };
    view! {
        <div class="progress" data-testid="run-progress" data-state=move || state.get().as_str()>
            <div class="progress__label">
                <strong data-testid="run-progress-label">{label}</strong>
                <span class="muted">{details}</span>
            </div>
            <div
                class="progress__track"
                role="progressbar"
                aria-label="Run progress"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=move || format!("{:.0}", percent())
            >
                <div
                    class="progress__fill"
                    class:progress__fill--active=move || state.get().is_active()
                    style:width=move || format!("{:.1}%", percent())
                ></div>
            </div>
        </div>
    }
}
