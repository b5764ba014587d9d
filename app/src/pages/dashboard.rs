//! `/`: the Dashboard.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{data_card::DataCard, layout::PageHeader, status_card::StatusCard};

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <Title text="Dashboard" />
        <PageHeader title="Dashboard" subtitle="Word-count workloads over your own tables, on your own machine.">
            <a class="btn" href="/workloads/new" data-testid="dashboard-new-workload">"New workload"</a>
        </PageHeader>
        <div class="grid">
            <StatusCard />
            <DataCard />
            <section class="card" aria-labelledby="first-steps-title">
                <header class="card__header"><h2 id="first-steps-title">"First steps"</h2></header>
                <ol class="steps">
                    <li>"Import a table, or browse the catalog, on the " <a href="/datasets">"Datasets"</a> " page."</li>
                    <li><a href="/workloads/new">"Create a workload"</a>" that counts the words of one text column."</li>
                    <li>"Watch its run and explore the counts."</li>
                </ol>
                <p class="muted">"Scripts can do the same through the " <a href="/docs" rel="external">"REST API"</a> "."</p>
            </section>
        </div>
    }
}
