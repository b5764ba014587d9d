//! `/`: the Dashboard.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::{
    activity::ActivityPanel, data_card::DataCard, layout::PageHeader, status_card::StatusCard,
};

#[component]
pub fn DashboardPage() -> impl IntoView {
    view! {
        <Title text="Dashboard" />
        <PageHeader title="Dashboard" subtitle="Word-count workloads over your own tables, on your own machine.">
            {crate::session::can(crate::auth::Role::Editor).then(|| view! {
                <a class="btn" href="/workloads/new" data-testid="dashboard-new-workload">"New workload"</a>
            })}
        </PageHeader>
        <div class="grid">
            <StatusCard />
            <DataCard />
        </div>
        <ActivityPanel />
    }
}
