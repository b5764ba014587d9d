//! `tally import`: uploads files to a running Tally server as a new table.

use std::path::PathBuf;

use clap::Args;
use reqwest::{Body, multipart};
use tally_app::names::TableRef;
use tokio_util::io::ReaderStream;

/// Import files as a new table of a running Tally server.
#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// Files to import (several only for the text format).
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,

    /// The new table, as project.dataset.table.
    #[arg(long, value_name = "PROJECT.DATASET.TABLE", value_parser = parse_table)]
    pub table: TableRef,

    /// Source format (default: from the file extension).
    #[arg(long, value_parser = ["csv", "jsonl", "parquet", "text"])]
    pub format: Option<String>,

    /// CSV field delimiter: one ASCII character, or `tab`.
    #[arg(long)]
    pub delimiter: Option<String>,

    /// CSV quote character.
    #[arg(long)]
    pub quote: Option<String>,

    /// Replace invalid UTF-8 with U+FFFD instead of refusing the file.
    #[arg(long)]
    pub replace_invalid_utf8: bool,

    /// The Tally server.
    #[arg(long, env = "TALLY_URL", default_value = "http://127.0.0.1:3000")]
    pub server: String,

    /// An API token (`tally_...`, an editor's or an admin's), for a server that
    /// needs a sign-in; create one on the Account page.
    #[arg(long, env = "TALLY_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

fn parse_table(raw: &str) -> Result<TableRef, String> {
    TableRef::parse(raw).map_err(|e| e.to_string())
}

/// Why an import failed; printed as `error: ...`.
#[derive(Debug, thiserror::Error)]
pub enum ImportCmdError {
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot reach the Tally server at {url}: {source}")]
    Connect { url: String, source: reqwest::Error },
    #[error("the server refused the import ({status}): {detail}")]
    Refused { status: u16, detail: String },
}

/// Uploads the files and prints the new table's summary.
pub async fn run(args: &ImportArgs) -> Result<(), ImportCmdError> {
    let r = &args.table;
    let base = args.server.trim_end_matches('/');
    let mut query: Vec<(&str, String)> = Vec::new();
    if let Some(f) = &args.format {
        query.push(("format", f.clone()));
    }
    if let Some(d) = &args.delimiter {
        query.push(("delimiter", d.clone()));
    }
    if let Some(q) = &args.quote {
        query.push(("quote", q.clone()));
    }
    if args.replace_invalid_utf8 {
        query.push(("replace_invalid_utf8", "true".into()));
    }
    let url = format!(
        "{base}/api/v1/projects/{}/datasets/{}/tables/{}",
        r.project, r.dataset, r.table
    );
    let client = reqwest::Client::new();
    let mut request = client.post(&url);
    if let Some(token) = &args.token {
        request = request.bearer_auth(token.trim());
    }
    if let [file] = args.files.as_slice() {
        let (body, len) = open(file).await?;
        query.push(("filename", file_name(file)));
        request = request
            .header(reqwest::header::CONTENT_LENGTH, len)
            .body(body);
    } else {
        let mut form = multipart::Form::new();
        for file in &args.files {
            let (body, len) = open(file).await?;
            form = form.part(
                "file",
                multipart::Part::stream_with_length(body, len).file_name(file_name(file)),
            );
        }
        request = request.multipart(form);
    }
    let response =
        request
            .query(&query)
            .send()
            .await
            .map_err(|source| ImportCmdError::Connect {
                url: base.to_string(),
                source,
            })?;
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
    if !status.is_success() {
        let detail = body["detail"]
            .as_str()
            .map_or_else(|| body.to_string(), str::to_string);
        return Err(ImportCmdError::Refused {
            status: status.as_u16(),
            detail,
        });
    }
    println!(
        "imported {}: {} rows, {} columns ({})",
        args.table,
        body["row_count"],
        body["columns"].as_array().map_or(0, Vec::len),
        body["columns"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!(
                "{} {}",
                c["name"].as_str().unwrap_or("?"),
                c["type"].as_str().unwrap_or("?")
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(())
}

fn file_name(path: &std::path::Path) -> String {
    path.file_name()
        .map_or_else(|| "upload".into(), |n| n.to_string_lossy().into_owned())
}

async fn open(path: &std::path::Path) -> Result<(Body, u64), ImportCmdError> {
    let err = |source| ImportCmdError::File {
        path: path.display().to_string(),
        source,
    };
    let file = tokio::fs::File::open(path).await.map_err(err)?;
    let meta = file.metadata().await.map_err(err)?;
    if meta.is_dir() {
        return Err(err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a directory",
        )));
    }
    Ok((
        Body::wrap_stream(ReaderStream::with_capacity(file, 1 << 20)),
        meta.len(),
    ))
}
