//! A workload's status as a badge: a word and a colour (never the colour alone).

use leptos::prelude::*;

use crate::workload::WorkloadStatus;

#[component]
pub fn StatusBadge(status: WorkloadStatus) -> impl IntoView {
    let tone = match status {
        WorkloadStatus::Created => "badge--neutral",
        WorkloadStatus::Queued | WorkloadStatus::Running => "badge--info",
        WorkloadStatus::Succeeded => "badge--ok",
        WorkloadStatus::Failed => "badge--error",
        WorkloadStatus::Cancelled => "badge--warn",
    };
    view! {
        <span class=format!("badge {tone}") data-status=status.as_str()>{status.label()}</span>
    }
}
