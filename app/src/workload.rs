//! Workloads as the REST API and the UI see them, and the one validation of a
//! workload's definition that both go through.
//!
//! A definition arrives as a JSON object (the prototype's request body, or the UI's
//! form turned into the same shape by [`WorkloadForm::to_body`]) and becomes a
//! [`WorkloadSpec`] only through [`WorkloadSpec::from_body`], which reports every
//! problem at once, FastAPI-style, with the location of each.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tally_engine::{CaseMode, CountOptions, MAX_NGRAM, Stopwords, TokenizerKind};

use crate::error::FieldError;

/// The longest workload name, in characters after trimming.
pub const NAME_MAX_CHARS: usize = 200;

/// The longest source name accepted before the catalog is asked (longer ones
/// cannot exist: see [`crate::names`]).
const SOURCE_MAX_CHARS: usize = 1_000;

/// What a workload computes. Both types count terms of one string column with
/// the same options; the type decides what a term is, and which options it
/// needs (`ngram` needs `options.n`, `wordcount` refuses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WorkloadType {
    /// Count the words of one string column.
    Wordcount,
    /// Count the n-grams (`options.n` consecutive words, 2 to 5) within each
    /// value of one string column, keyed by the words joined by a space.
    Ngram,
}

impl WorkloadType {
    pub const ALL: [WorkloadType; 2] = [Self::Wordcount, Self::Ngram];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Wordcount => "wordcount",
            Self::Ngram => "ngram",
        }
    }

    /// Whether `options` fit this type: the field at fault and why, if not.
    pub fn check(self, options: &CountOptions) -> Result<(), (&'static str, String)> {
        match (self, options.n) {
            (Self::Wordcount, Some(_)) => Err((
                "n",
                "Only ngram workloads take n: remove it, or make the workload an ngram".into(),
            )),
            (Self::Ngram, None) => Err((
                "n",
                format!("An ngram workload needs n, the words per n-gram (2 to {MAX_NGRAM})"),
            )),
            _ => Ok(()),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The supported types, for error messages: `wordcount`.
    pub fn supported() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

/// What counts a workload's runs: Tally's own engine, or an Apache Spark
/// cluster the server is configured with (`--spark-master`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Executor {
    /// The built-in parallel engine, in the server's process.
    #[default]
    Native,
    /// A Spark application submitted for each run.
    Spark,
}

impl Executor {
    pub const ALL: [Executor; 2] = [Self::Native, Self::Spark];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Spark => "spark",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// The tokenizers Spark reproduces exactly (built-in Spark SQL splits);
    /// `words` (UAX #29 segmentation) has no Spark equivalent.
    pub fn supports(self, tokenizer: TokenizerKind) -> bool {
        match self {
            Self::Native => true,
            Self::Spark => matches!(tokenizer, TokenizerKind::Whitespace | TokenizerKind::Spark),
        }
    }
}

/// Where a workload stands: its latest run's state, or `created` before any run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum WorkloadStatus {
    Created,
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl WorkloadStatus {
    pub const ALL: [WorkloadStatus; 6] = [
        Self::Created,
        Self::Queued,
        Self::Running,
        Self::Succeeded,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "created",
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// A run is waiting or working: the definition cannot change under it.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Queued | Self::Running)
    }

    /// The word shown to people (status badges), capitalised.
    pub fn label(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Queued => "Queued",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// A summary of a workload's latest run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RunSummary {
    pub id: u64,
    pub state: WorkloadStatus,
    /// Fraction done, from 0 to 1 (when the input size is known).
    pub progress: f64,
    pub queued_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Words counted (so far, while running).
    pub total_words: u64,
    pub distinct_words: Option<u64>,
    /// Seconds from queued to finished, once finished (the wait and the run).
    #[serde(default)]
    pub duration_secs: Option<f64>,
    /// Seconds from queued to started, once started.
    #[serde(default)]
    pub queue_secs: Option<f64>,
    /// Seconds from started to finished, once finished: the run without its wait.
    #[serde(default)]
    pub run_secs: Option<f64>,
    pub error: Option<String>,
}

/// A stored workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Workload {
    /// Assigned by the server; never reused, even after a delete.
    #[cfg_attr(feature = "ssr", schema(example = 1))]
    pub id: u64,
    pub workload_type: WorkloadType,
    #[cfg_attr(feature = "ssr", schema(example = "Shakespeare word count"))]
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(example = "public-data"))]
    pub src_project: String,
    #[cfg_attr(feature = "ssr", schema(example = "samples"))]
    pub src_dataset: String,
    #[cfg_attr(feature = "ssr", schema(example = "shakespeare"))]
    pub src_table: String,
    #[cfg_attr(feature = "ssr", schema(example = "word"))]
    pub src_column_name: String,
    pub options: CountOptions,
    /// What counts the runs; `native` unless set.
    #[serde(default)]
    pub executor: Executor,
    pub status: WorkloadStatus,
    /// RFC 3339, UTC.
    #[cfg_attr(feature = "ssr", schema(example = "2026-11-24T10:15:30.123Z"))]
    pub created_at: String,
    #[cfg_attr(feature = "ssr", schema(example = "2026-11-24T10:15:30.123Z"))]
    pub updated_at: String,
    /// The latest run, once there is one.
    pub last_run: Option<RunSummary>,
}

impl Workload {
    /// `project.dataset.table.column`.
    pub fn source(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.src_project, self.src_dataset, self.src_table, self.src_column_name
        )
    }

    /// `project.dataset.table`.
    pub fn source_table(&self) -> String {
        format!(
            "{}.{}.{}",
            self.src_project, self.src_dataset, self.src_table
        )
    }
}

/// A validated workload definition: what a client may set.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkloadSpec {
    pub workload_type: WorkloadType,
    /// Trimmed, 1 to [`NAME_MAX_CHARS`] characters.
    pub name: String,
    pub src_project: String,
    pub src_dataset: String,
    pub src_table: String,
    pub src_column_name: String,
    pub options: CountOptions,
    pub executor: Executor,
}

/// The fields of a definition, in the order errors are reported.
const SOURCE_FIELDS: [&str; 4] = ["src_project", "src_dataset", "src_table", "src_column_name"];

impl WorkloadSpec {
    /// Validates a request body. Unknown top-level fields are ignored (the
    /// prototype's clients may send more); unknown options are not (a typo there
    /// would silently change the counts).
    pub fn from_body(body: &Map<String, Value>) -> Result<Self, Vec<FieldError>> {
        let mut errors = Vec::new();
        let workload_type = match required_string(body, "workload_type", &mut errors) {
            Some(raw) => match WorkloadType::parse(raw.trim()) {
                Some(t) => Some(t),
                None => {
                    errors.push(FieldError::body(
                        &["workload_type"],
                        format!(
                            "Unsupported workload type '{raw}': supported types are {}",
                            WorkloadType::supported()
                        ),
                        "enum",
                    ));
                    None
                }
            },
            None => None,
        };
        let name = required_string(body, "name", &mut errors).and_then(|raw| {
            let name = raw.trim();
            let chars = name.chars().count();
            if chars == 0 {
                errors.push(FieldError::body(
                    &["name"],
                    "String should have at least 1 character".into(),
                    "string_too_short",
                ));
                None
            } else if chars > NAME_MAX_CHARS {
                errors.push(FieldError::body(
                    &["name"],
                    format!("String should have at most {NAME_MAX_CHARS} characters"),
                    "string_too_long",
                ));
                None
            } else if name.chars().any(char::is_control) {
                errors.push(FieldError::body(
                    &["name"],
                    "Name must not contain control characters".into(),
                    "value_error",
                ));
                None
            } else {
                Some(name.to_string())
            }
        });
        let mut sources = SOURCE_FIELDS.map(|field| {
            required_string(body, field, &mut errors).and_then(|raw| {
                let trimmed = raw.trim();
                if trimmed.is_empty() {
                    errors.push(FieldError::body(
                        &[field],
                        "String should have at least 1 character".into(),
                        "string_too_short",
                    ));
                    None
                } else if trimmed.chars().count() > SOURCE_MAX_CHARS {
                    errors.push(FieldError::body(
                        &[field],
                        format!("String should have at most {SOURCE_MAX_CHARS} characters"),
                        "string_too_long",
                    ));
                    None
                } else {
                    Some(trimmed.to_string())
                }
            })
        });
        let options = parse_options(body.get("options"), &mut errors);
        let executor = parse_executor(body.get("executor"), &mut errors);
        if let (Some(executor), Some(options)) = (executor, &options)
            && !executor.supports(options.tokenizer)
        {
            errors.push(FieldError::body(
                &["options", "tokenizer"],
                format!(
                    "The {} executor cannot count with the {} tokenizer: use whitespace or spark",
                    executor.as_str(),
                    options.tokenizer.as_str()
                ),
                "value_error",
            ));
        }
        if let (Some(kind), Some(options)) = (workload_type, &options)
            && let Err((field, message)) = kind.check(options)
        {
            errors.push(FieldError::body(
                &["options", field],
                message,
                "value_error",
            ));
        }
        if let (Some(WorkloadType::Ngram), Some(Executor::Spark)) = (workload_type, executor) {
            errors.push(FieldError::body(
                &["executor"],
                "The spark executor counts words only: use native for n-grams".into(),
                "value_error",
            ));
        }
        match (workload_type, name, options, executor) {
            (Some(workload_type), Some(name), Some(options), Some(executor))
                if errors.is_empty() =>
            {
                Ok(Self {
                    workload_type,
                    name,
                    src_project: sources[0].take().unwrap_or_default(),
                    src_dataset: sources[1].take().unwrap_or_default(),
                    src_table: sources[2].take().unwrap_or_default(),
                    src_column_name: sources[3].take().unwrap_or_default(),
                    options,
                    executor,
                })
            }
            _ => Err(errors),
        }
    }

    /// The definition as a request body (the starting point of a partial update).
    pub fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("workload_type".into(), self.workload_type.as_str().into());
        body.insert("name".into(), self.name.clone().into());
        body.insert("src_project".into(), self.src_project.clone().into());
        body.insert("src_dataset".into(), self.src_dataset.clone().into());
        body.insert("src_table".into(), self.src_table.clone().into());
        body.insert(
            "src_column_name".into(),
            self.src_column_name.clone().into(),
        );
        body.insert(
            "options".into(),
            serde_json::to_value(&self.options).unwrap_or(Value::Null),
        );
        body.insert("executor".into(), self.executor.as_str().into());
        body
    }

    /// `project.dataset.table`.
    pub fn source_table(&self) -> String {
        format!(
            "{}.{}.{}",
            self.src_project, self.src_dataset, self.src_table
        )
    }
}

impl From<&Workload> for WorkloadSpec {
    fn from(w: &Workload) -> Self {
        Self {
            workload_type: w.workload_type,
            name: w.name.clone(),
            src_project: w.src_project.clone(),
            src_dataset: w.src_dataset.clone(),
            src_table: w.src_table.clone(),
            src_column_name: w.src_column_name.clone(),
            options: w.options.clone(),
            executor: w.executor,
        }
    }
}

/// Applies a JSON merge patch (RFC 7396) to a body: `PATCH` semantics. A `null`
/// removes a key (so `"options": null` restores the default options).
pub fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(inner) => {
                let slot = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(slot) = slot {
                    merge_patch(slot, inner);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

fn required_string<'a>(
    body: &'a Map<String, Value>,
    field: &str,
    errors: &mut Vec<FieldError>,
) -> Option<&'a str> {
    match body.get(field) {
        None => {
            errors.push(FieldError::body(
                &[field],
                "Field required".into(),
                "missing",
            ));
            None
        }
        Some(Value::String(s)) => Some(s),
        Some(_) => {
            errors.push(FieldError::body(
                &[field],
                "Input should be a valid string".into(),
                "string_type",
            ));
            None
        }
    }
}

/// The optional top-level `executor`: `native` when absent or null.
fn parse_executor(raw: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<Executor> {
    match raw {
        None | Some(Value::Null) => Some(Executor::Native),
        Some(Value::String(s)) => match Executor::parse(s.trim()) {
            Some(executor) => Some(executor),
            None => {
                errors.push(FieldError::body(
                    &["executor"],
                    format!("Unknown executor '{s}': expected native or spark"),
                    "enum",
                ));
                None
            }
        },
        Some(_) => {
            errors.push(FieldError::body(
                &["executor"],
                "Input should be a valid string".into(),
                "string_type",
            ));
            None
        }
    }
}

/// The option names, in the order errors are reported.
const OPTION_FIELDS: [&str; 5] = ["tokenizer", "case", "min_length", "stopwords", "n"];

fn parse_options(raw: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<CountOptions> {
    let map = match raw {
        None | Some(Value::Null) => return Some(CountOptions::default()),
        Some(Value::Object(map)) => map,
        Some(_) => {
            errors.push(FieldError::body(
                &["options"],
                "Input should be a valid dictionary or object".into(),
                "dict_type",
            ));
            return None;
        }
    };
    let before = errors.len();
    for key in map.keys() {
        if !OPTION_FIELDS.contains(&key.as_str()) {
            errors.push(FieldError::body(
                &["options", key],
                format!(
                    "Unknown option: the options are {}",
                    OPTION_FIELDS.join(", ")
                ),
                "extra_forbidden",
            ));
        }
    }
    let mut options = CountOptions::default();
    let mut bad = |field: &str, msg: String, kind: &str| {
        errors.push(FieldError::body(&["options", field], msg, kind));
    };
    match map.get("tokenizer") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => match s.parse::<TokenizerKind>() {
            Ok(kind) => options.tokenizer = kind,
            Err(_) => bad(
                "tokenizer",
                format!("Unknown tokenizer '{s}': expected whitespace, words or spark"),
                "enum",
            ),
        },
        Some(_) => bad(
            "tokenizer",
            "Input should be a valid string".into(),
            "string_type",
        ),
    }
    match map.get("case") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => match s.parse::<CaseMode>() {
            Ok(mode) => options.case = mode,
            Err(_) => bad(
                "case",
                format!("Unknown case mode '{s}': expected lower or preserve"),
                "enum",
            ),
        },
        Some(_) => bad(
            "case",
            "Input should be a valid string".into(),
            "string_type",
        ),
    }
    match map.get("min_length") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) => options.min_length = n,
            None => bad(
                "min_length",
                "Input should be a whole number, 0 or more".into(),
                "int_type",
            ),
        },
        Some(_) => bad(
            "min_length",
            "Input should be a valid integer".into(),
            "int_type",
        ),
    }
    match map.get("n") {
        None | Some(Value::Null) => {}
        Some(Value::Number(n)) => match n.as_u64().and_then(|n| usize::try_from(n).ok()) {
            Some(n) => options.n = Some(n),
            None => bad(
                "n",
                format!("Input should be a whole number from 2 to {MAX_NGRAM}"),
                "int_type",
            ),
        },
        Some(_) => bad("n", "Input should be a valid integer".into(), "int_type"),
    }
    match map.get("stopwords") {
        None | Some(Value::Null) => {}
        Some(value) => match serde_json::from_value::<Stopwords>(value.clone()) {
            Ok(stopwords) => options.stopwords = stopwords,
            Err(_) => bad(
                "stopwords",
                "Input should be \"none\", \"english\" or {\"custom\": [\"word\", ...]}".into(),
                "value_error",
            ),
        },
    }
    if errors.len() > before {
        return None;
    }
    match options.validate() {
        Ok(()) => Some(options),
        Err(e) => {
            let message = e.to_string();
            let msg = message
                .split_once(": ")
                .map_or(message.as_str(), |(_, rest)| rest);
            errors.push(FieldError::body(
                &["options", e.field()],
                capitalise(msg),
                "value_error",
            ));
            None
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The UI's workload form: every input as the text the browser sends, so that a
/// plain `<form>` post (no JavaScript) and the hydrated form call the same server
/// function.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WorkloadForm {
    pub workload_type: String,
    pub name: String,
    pub src_project: String,
    pub src_dataset: String,
    pub src_table: String,
    pub src_column_name: String,
    pub tokenizer: String,
    pub case: String,
    pub min_length: String,
    /// `none`, `english` or `custom`.
    pub stopwords: String,
    /// The custom list, one word per line (or separated by commas).
    pub custom_stopwords: String,
    /// `native` or `spark`; blank means native (the form shows no choice
    /// when the server has no Spark).
    pub executor: String,
    /// Words per n-gram; sent only for an `ngram` workload.
    pub n: String,
}

impl WorkloadForm {
    /// The form as a plain GET of itself sent it (`form[name]=...`): the
    /// stepwise source choice without JavaScript. `None` when the query holds
    /// no field of the form.
    pub fn from_query(get: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let mut form = Self::default();
        let mut found = false;
        for (key, field) in [
            ("form[workload_type]", &mut form.workload_type),
            ("form[name]", &mut form.name),
            ("form[src_project]", &mut form.src_project),
            ("form[src_dataset]", &mut form.src_dataset),
            ("form[src_table]", &mut form.src_table),
            ("form[src_column_name]", &mut form.src_column_name),
            ("form[tokenizer]", &mut form.tokenizer),
            ("form[case]", &mut form.case),
            ("form[min_length]", &mut form.min_length),
            ("form[stopwords]", &mut form.stopwords),
            ("form[custom_stopwords]", &mut form.custom_stopwords),
            ("form[executor]", &mut form.executor),
            ("form[n]", &mut form.n),
        ] {
            if let Some(value) = get(key) {
                *field = value;
                found = true;
            }
        }
        found.then_some(form)
    }

    /// A new workload's form: the default type and options, no source yet.
    pub fn new_workload() -> Self {
        Self {
            workload_type: WorkloadType::Wordcount.as_str().into(),
            ..Self::default()
        }
        .with_options(&CountOptions::default())
    }

    /// A form holding a stored workload's definition, for editing.
    pub fn from_workload(w: &Workload) -> Self {
        Self {
            workload_type: w.workload_type.as_str().into(),
            name: w.name.clone(),
            src_project: w.src_project.clone(),
            src_dataset: w.src_dataset.clone(),
            src_table: w.src_table.clone(),
            src_column_name: w.src_column_name.clone(),
            executor: w.executor.as_str().into(),
            ..Self::default()
        }
        .with_options(&w.options)
    }

    fn with_options(mut self, options: &CountOptions) -> Self {
        self.tokenizer = options.tokenizer.as_str().into();
        self.case = options.case.as_str().into();
        self.min_length = options.min_length.to_string();
        let (stopwords, custom) = match &options.stopwords {
            Stopwords::None => ("none", String::new()),
            Stopwords::English => ("english", String::new()),
            Stopwords::Custom(words) => ("custom", words.join("\n")),
        };
        self.stopwords = stopwords.into();
        self.custom_stopwords = custom;
        // Bigrams unless the workload says otherwise: what a new n-gram
        // workload most often wants.
        self.n = options.n.unwrap_or(2).to_string();
        self
    }

    /// The form as a REST request body, for [`WorkloadSpec::from_body`]. Blank
    /// option inputs mean the default; a `min_length` that is not a number is
    /// passed on as text so that validation reports it.
    pub fn to_body(&self) -> Map<String, Value> {
        let mut body = Map::new();
        let fields = [
            ("workload_type", &self.workload_type),
            ("name", &self.name),
            ("src_project", &self.src_project),
            ("src_dataset", &self.src_dataset),
            ("src_table", &self.src_table),
            ("src_column_name", &self.src_column_name),
        ];
        for (key, value) in fields {
            body.insert(key.into(), value.clone().into());
        }
        let mut options = Map::new();
        for (key, value) in [("tokenizer", &self.tokenizer), ("case", &self.case)] {
            if !value.trim().is_empty() {
                options.insert(key.into(), value.trim().into());
            }
        }
        let min_length = self.min_length.trim();
        if !min_length.is_empty() {
            let value = min_length
                .parse::<u64>()
                .map_or_else(|_| Value::from(min_length), Value::from);
            options.insert("min_length".into(), value);
        }
        match self.stopwords.trim() {
            "" => {}
            "custom" => {
                let words: Vec<Value> = self
                    .custom_stopwords
                    .split(['\n', ','])
                    .map(str::trim)
                    .filter(|w| !w.is_empty())
                    .map(Value::from)
                    .collect();
                let mut custom = Map::new();
                custom.insert("custom".into(), Value::Array(words));
                options.insert("stopwords".into(), Value::Object(custom));
            }
            other => {
                options.insert("stopwords".into(), other.into());
            }
        }
        let n = self.n.trim();
        if self.workload_type.trim() == WorkloadType::Ngram.as_str() && !n.is_empty() {
            let value = n
                .parse::<u64>()
                .map_or_else(|_| Value::from(n), Value::from);
            options.insert("n".into(), value);
        }
        body.insert("options".into(), Value::Object(options));
        if !self.executor.trim().is_empty() {
            body.insert("executor".into(), self.executor.trim().into());
        }
        body
    }
}

/// A workload form that failed, sent back to the form's page when it was posted
/// without JavaScript, so that the page shows each message next to its field and
/// keeps what was typed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostedForm {
    pub form: WorkloadForm,
    pub error: crate::error::AppError,
}

impl PostedForm {
    /// The longest encoding sent back in a URL (a long custom stopword list is not).
    const MAX_CHARS: usize = 4_000;

    /// The form as a query value, when it is short enough for a URL.
    pub fn encode(&self) -> Option<String> {
        serde_json::to_string(self)
            .ok()
            .filter(|json| json.len() <= Self::MAX_CHARS)
    }

    pub fn decode(value: &str) -> Option<Self> {
        serde_json::from_str(value).ok()
    }
}

/// How a list of workloads is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum WorkloadSort {
    /// Oldest first: the prototype's order.
    #[default]
    IdAsc,
    IdDesc,
    NameAsc,
    NameDesc,
    UpdatedDesc,
    StatusAsc,
}

impl WorkloadSort {
    pub const ALL: [WorkloadSort; 6] = [
        Self::IdAsc,
        Self::IdDesc,
        Self::NameAsc,
        Self::NameDesc,
        Self::UpdatedDesc,
        Self::StatusAsc,
    ];

    /// The value of the `sort` query parameter: a field, `-` for descending.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IdAsc => "id",
            Self::IdDesc => "-id",
            Self::NameAsc => "name",
            Self::NameDesc => "-name",
            Self::UpdatedDesc => "-updated_at",
            Self::StatusAsc => "status",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::IdAsc => "Oldest first",
            Self::IdDesc => "Newest first",
            Self::NameAsc => "Name A–Z",
            Self::NameDesc => "Name Z–A",
            Self::UpdatedDesc => "Recently updated",
            Self::StatusAsc => "Status",
        }
    }
}

/// The default and largest page of a workload list.
pub const DEFAULT_PAGE: u64 = 100;
pub const MAX_PAGE: u64 = 1_000;

/// A validated list request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkloadQuery {
    pub status: Option<WorkloadStatus>,
    /// Case-insensitive substring of the name.
    pub q: Option<String>,
    pub sort: WorkloadSort,
    pub limit: u64,
    pub offset: u64,
}

impl WorkloadQuery {
    /// Parses the query parameters (`status`, `q`, `sort`, `limit`, `offset`);
    /// errors are located in `query`, FastAPI-style. Unknown parameters are ignored.
    pub fn parse<'a>(
        params: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, Vec<FieldError>> {
        let mut query = Self {
            limit: DEFAULT_PAGE,
            ..Self::default()
        };
        let mut errors = Vec::new();
        for (key, value) in params {
            let value = value.trim();
            match key {
                "status" if value.is_empty() => {}
                "status" => match WorkloadStatus::parse(value) {
                    Some(s) => query.status = Some(s),
                    None => errors.push(FieldError::query(
                        "status",
                        format!(
                            "Input should be one of {}",
                            WorkloadStatus::ALL.map(WorkloadStatus::as_str).join(", ")
                        ),
                        "enum",
                    )),
                },
                "q" => {
                    query.q = (!value.is_empty()).then(|| value.to_lowercase());
                }
                "sort" if value.is_empty() => {}
                "sort" => match WorkloadSort::parse(value) {
                    Some(s) => query.sort = s,
                    None => errors.push(FieldError::query(
                        "sort",
                        format!(
                            "Input should be one of {}",
                            WorkloadSort::ALL.map(WorkloadSort::as_str).join(", ")
                        ),
                        "enum",
                    )),
                },
                "limit" => match value.parse::<u64>() {
                    Ok(n) if (1..=MAX_PAGE).contains(&n) => query.limit = n,
                    _ => errors.push(FieldError::query(
                        "limit",
                        format!("Input should be an integer from 1 to {MAX_PAGE}"),
                        "int_parsing",
                    )),
                },
                "offset" => match value.parse::<u64>() {
                    Ok(n) => query.offset = n,
                    Err(_) => errors.push(FieldError::query(
                        "offset",
                        "Input should be an integer, 0 or more".into(),
                        "int_parsing",
                    )),
                },
                _ => {}
            }
        }
        if errors.is_empty() {
            Ok(query)
        } else {
            Err(errors)
        }
    }
}

/// One page of a workload list and the number of workloads that match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadPage {
    pub items: Vec<Workload>,
    pub total: u64,
    pub query: WorkloadQuery,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => panic!("not an object"),
        }
    }

    fn valid() -> Value {
        json!({
            "workload_type": "wordcount",
            "name": "  Shakespeare  ",
            "src_project": "p", "src_dataset": "d", "src_table": "t", "src_column_name": "c",
        })
    }

    #[test]
    fn a_prototype_body_is_accepted_with_default_options() {
        let spec = WorkloadSpec::from_body(&body(valid())).expect("valid");
        assert_eq!(spec.name, "Shakespeare");
        assert_eq!(spec.options, CountOptions::default());
        assert_eq!(spec.source_table(), "p.d.t");
    }

    #[test]
    fn every_problem_is_reported_with_its_location() {
        let errors = WorkloadSpec::from_body(&body(json!({
            "workload_type": "sum", "name": 7, "src_project": "p", "src_table": "",
            "src_column_name": "c", "options": {"min_length": -1, "colour": "red"},
        })))
        .expect_err("invalid");
        let locs: Vec<(String, &str)> = errors
            .iter()
            .map(|e| (e.loc.join("."), e.kind.as_str()))
            .collect();
        assert_eq!(
            locs,
            vec![
                ("body.workload_type".into(), "enum"),
                ("body.name".into(), "string_type"),
                ("body.src_dataset".into(), "missing"),
                ("body.src_table".into(), "string_too_short"),
                ("body.options.colour".into(), "extra_forbidden"),
                ("body.options.min_length".into(), "int_type"),
            ]
        );
        assert!(errors[0].msg.contains("supported types are wordcount"));
    }

    #[test]
    fn ngram_workloads_need_n_and_only_they_take_it() {
        let with = |kind: &str, options: Value, executor: &str| {
            let mut b = body(valid());
            b.insert("workload_type".into(), kind.into());
            b.insert("options".into(), options);
            b.insert("executor".into(), executor.into());
            WorkloadSpec::from_body(&b)
        };
        let bigrams = with("ngram", json!({"n": 2}), "native").expect("valid");
        assert_eq!(bigrams.workload_type, WorkloadType::Ngram);
        assert_eq!(bigrams.options.n, Some(2));
        let refused = |result: Result<WorkloadSpec, Vec<FieldError>>| {
            result
                .expect_err("refused")
                .iter()
                .map(|e| (e.loc.join("."), e.msg.clone()))
                .collect::<Vec<_>>()
        };
        let missing = refused(with("ngram", json!({}), "native"));
        assert_eq!(missing[0].0, "body.options.n");
        assert!(missing[0].1.contains("needs n"), "{missing:?}");
        let extra = refused(with("wordcount", json!({"n": 2}), "native"));
        assert_eq!(extra[0].0, "body.options.n");
        assert!(extra[0].1.contains("Only ngram workloads"), "{extra:?}");
        for bad in [json!(1), json!(6), json!(-2), json!("two"), json!(2.5)] {
            let errors = refused(with("ngram", json!({"n": bad}), "native"));
            assert_eq!(errors[0].0, "body.options.n", "{bad}: {errors:?}");
        }
        let spark = refused(with("ngram", json!({"n": 3}), "spark"));
        assert_eq!(spark[0].0, "body.executor");
        assert!(spark[0].1.contains("words only"), "{spark:?}");
        // The form sends n for an n-gram workload only, and round-trips it.
        let mut form = WorkloadForm::from_workload(&Workload {
            workload_type: WorkloadType::Ngram,
            ..sample_workload(CountOptions {
                n: Some(3),
                ..CountOptions::default()
            })
        });
        assert_eq!(form.n, "3");
        let spec = WorkloadSpec::from_body(&form.to_body()).expect("valid form");
        assert_eq!(spec.options.n, Some(3));
        form.workload_type = "wordcount".into();
        assert!(
            !form.to_body()["options"]
                .as_object()
                .expect("options")
                .contains_key("n")
        );
    }

    fn sample_workload(options: CountOptions) -> Workload {
        Workload {
            id: 1,
            workload_type: WorkloadType::Wordcount,
            name: "Plays".into(),
            src_project: "p".into(),
            src_dataset: "d".into(),
            src_table: "t".into(),
            src_column_name: "c".into(),
            options,
            executor: Executor::Native,
            status: WorkloadStatus::Succeeded,
            created_at: String::new(),
            updated_at: String::new(),
            last_run: None,
        }
    }

    #[test]
    fn names_are_counted_in_characters_after_trimming() {
        let mut b = body(valid());
        b.insert("name".into(), "é".repeat(200).into());
        assert!(WorkloadSpec::from_body(&b).is_ok());
        b.insert("name".into(), "é".repeat(201).into());
        let e = WorkloadSpec::from_body(&b).expect_err("too long");
        assert_eq!(e[0].kind, "string_too_long");
        b.insert("name".into(), "   ".into());
        assert_eq!(
            WorkloadSpec::from_body(&b).expect_err("blank")[0].kind,
            "string_too_short"
        );
    }

    #[test]
    fn option_rules_come_from_the_engine() {
        let mut b = body(valid());
        b.insert(
            "options".into(),
            json!({"stopwords": {"custom": ["ok", " "]}}),
        );
        let e = WorkloadSpec::from_body(&b).expect_err("empty stopword");
        assert_eq!(e[0].loc, vec!["body", "options", "stopwords"]);
        assert_eq!(e[0].msg, "Entry 1 is empty");
        b.insert(
            "options".into(),
            json!({"tokenizer": "spark", "case": "preserve", "min_length": 2, "stopwords": "english"}),
        );
        let spec = WorkloadSpec::from_body(&b).expect("valid options");
        assert_eq!(spec.options.tokenizer, TokenizerKind::Spark);
        assert_eq!(spec.options.stopwords, Stopwords::English);
    }

    #[test]
    fn a_merge_patch_changes_only_what_it_names() {
        let spec = WorkloadSpec::from_body(&body(valid())).expect("valid");
        let mut merged = spec.to_body();
        merge_patch(
            &mut merged,
            &body(json!({"name": "New", "options": {"min_length": 3}})),
        );
        let patched = WorkloadSpec::from_body(&merged).expect("still valid");
        assert_eq!(patched.name, "New");
        assert_eq!(patched.options.min_length, 3);
        assert_eq!(patched.src_table, "t");
        merge_patch(&mut merged, &body(json!({"options": null})));
        assert_eq!(
            WorkloadSpec::from_body(&merged).expect("valid").options,
            CountOptions::default()
        );
    }

    #[test]
    fn the_form_goes_through_the_same_validation() {
        let form = WorkloadForm {
            workload_type: "wordcount".into(),
            name: "n".into(),
            src_project: "p".into(),
            src_dataset: "d".into(),
            src_table: "t".into(),
            src_column_name: "c".into(),
            min_length: "three".into(),
            stopwords: "custom".into(),
            custom_stopwords: "a\nb, c\n\n".into(),
            ..Default::default()
        };
        let e = WorkloadSpec::from_body(&form.to_body()).expect_err("bad min_length");
        assert_eq!(e[0].field(), "min_length");
        let form = WorkloadForm {
            min_length: " 2 ".into(),
            ..form
        };
        let spec = WorkloadSpec::from_body(&form.to_body()).expect("valid");
        assert_eq!(
            spec.options.stopwords,
            Stopwords::Custom(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(spec.options.min_length, 2);
    }

    #[test]
    fn list_queries_are_validated() {
        let q = WorkloadQuery::parse([("status", "running"), ("q", "Foo"), ("sort", "-id")])
            .expect("valid");
        assert_eq!(q.status, Some(WorkloadStatus::Running));
        assert_eq!(q.q.as_deref(), Some("foo"));
        assert_eq!(q.sort, WorkloadSort::IdDesc);
        assert_eq!(q.limit, DEFAULT_PAGE);
        let e = WorkloadQuery::parse([("limit", "0"), ("status", "done")]).expect_err("invalid");
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].loc, vec!["query", "limit"]);
    }

    #[test]
    fn a_stored_definition_fills_the_form_and_validates_back_to_itself() {
        let options = CountOptions {
            tokenizer: TokenizerKind::Words,
            case: CaseMode::Preserve,
            min_length: 3,
            stopwords: Stopwords::Custom(vec!["the".into(), "a".into()]),
            n: None,
        };
        let workload = Workload {
            id: 4,
            status: WorkloadStatus::Created,
            ..sample_workload(options.clone())
        };
        let spec = WorkloadSpec::from_body(&WorkloadForm::from_workload(&workload).to_body())
            .expect("valid");
        assert_eq!(spec.options, options);
        assert_eq!(spec.source_table(), "p.d.t");
        let fresh = WorkloadForm::new_workload();
        assert_eq!(fresh.workload_type, "wordcount");
        assert_eq!(fresh.min_length, "0");
    }

    fn body_with(executor: Option<&str>, tokenizer: &str) -> Map<String, Value> {
        let mut body = serde_json::json!({
            "workload_type": "wordcount", "name": "n", "src_project": "p",
            "src_dataset": "d", "src_table": "t", "src_column_name": "c",
            "options": {"tokenizer": tokenizer},
        });
        if let Some(executor) = executor {
            body["executor"] = executor.into();
        }
        body.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn the_executor_is_native_unless_set_and_round_trips() {
        let spec = WorkloadSpec::from_body(&body_with(None, "words")).expect("valid");
        assert_eq!(spec.executor, Executor::Native);
        let spec = WorkloadSpec::from_body(&body_with(Some("spark"), "spark")).expect("valid");
        assert_eq!(spec.executor, Executor::Spark);
        assert_eq!(WorkloadSpec::from_body(&spec.to_body()), Ok(spec));
        let mut form = WorkloadForm::new_workload();
        form.executor = "spark".into();
        assert_eq!(form.to_body()["executor"], "spark");
    }

    #[test]
    fn spark_refuses_what_it_cannot_count_exactly_naming_the_field() {
        let errors =
            WorkloadSpec::from_body(&body_with(Some("spark"), "words")).expect_err("refused");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field(), "tokenizer");
        assert!(
            errors[0].msg.contains("spark executor"),
            "{}",
            errors[0].msg
        );
        let errors =
            WorkloadSpec::from_body(&body_with(Some("hadoop"), "spark")).expect_err("refused");
        assert_eq!(errors[0].field(), "executor");
        let errors = WorkloadSpec::from_body(
            &body_with(None, "spark")
                .into_iter()
                .chain([("executor".to_string(), Value::from(3))])
                .collect(),
        )
        .expect_err("refused");
        assert_eq!(errors[0].field(), "executor");
    }

    #[test]
    fn a_posted_form_round_trips_unless_too_long_for_a_url() {
        let mut form = WorkloadForm::new_workload();
        form.name = "Plays".into();
        let posted = PostedForm {
            form: form.clone(),
            error: crate::error::AppError::new(422, "name: too short"),
        };
        let encoded = posted.encode().expect("short enough");
        assert_eq!(PostedForm::decode(&encoded), Some(posted));
        form.custom_stopwords = "word\n".repeat(2_000);
        let long = PostedForm {
            form,
            error: crate::error::AppError::new(422, "x"),
        };
        assert_eq!(long.encode(), None);
        assert_eq!(PostedForm::decode("not json"), None);
    }
}
