//! `/datasets`: the catalog of projects, datasets and tables.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::components::layout::PageHeader;

#[component]
pub fn DatasetsPage() -> impl IntoView {
    view! {
        <Title text="Datasets" />
        <PageHeader title="Datasets" subtitle="Tables are named project.dataset.table, as in BigQuery." />
        <section class="card empty-state">
            <h2>"The catalog is empty"</h2>
            <p class="muted">"Imported tables will be listed here by project and dataset."</p>
        </section>
    }
}
