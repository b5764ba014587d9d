//! `/workloads`: the workloads list.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::layout::PageHeader;

#[component]
pub fn WorkloadsPage() -> impl IntoView {
    view! {
        <Title text="Workloads" />
        <PageHeader title="Workloads" subtitle="Each workload counts the words of one column of one table." />
        <section class="card empty-state">
            <h2>"No workloads yet"</h2>
            <p class="muted">"Workloads you create will be listed here with their status and latest run."</p>
        </section>
    }
}
