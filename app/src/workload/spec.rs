//! [`WorkloadSpec`]: a workload's definition, validated from a request body.

use serde_json::{Map, Value};
use tally_engine::{CaseMode, CountOptions, MAX_NGRAM, Stopwords, TokenizerKind};

use super::{Executor, RowFilter, Workload, WorkloadType};
use crate::error::FieldError;

/// The longest workload name, in characters after trimming.
pub const NAME_MAX_CHARS: usize = 200;

/// The longest source name accepted before the catalog is asked (longer ones
/// cannot exist: see [`crate::names`]).
const SOURCE_MAX_CHARS: usize = 1_000;

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
    pub filter: RowFilter,
    /// A column of the table whose values split the counts into groups
    /// (any type, as text; null is a group of its own).
    pub group_by: Option<String>,
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
        let filter = RowFilter::from_json(body.get("filter"), &mut errors);
        if let (Some(filter), Some(Executor::Spark)) = (&filter, executor)
            && !filter.is_empty()
        {
            errors.push(FieldError::body(
                &["filter"],
                "The spark executor counts every row: use native to filter rows".into(),
                "value_error",
            ));
        }
        let group_by = parse_group_by(body.get("group_by"), &mut errors);
        if let (Some(Some(_)), Some(Executor::Spark)) = (&group_by, executor) {
            errors.push(FieldError::body(
                &["group_by"],
                "The spark executor counts every row together: use native to count per group"
                    .into(),
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
        match (workload_type, name, options, executor, filter, group_by) {
            (
                Some(workload_type),
                Some(name),
                Some(options),
                Some(executor),
                Some(filter),
                Some(group_by),
            ) if errors.is_empty() => Ok(Self {
                workload_type,
                name,
                src_project: sources[0].take().unwrap_or_default(),
                src_dataset: sources[1].take().unwrap_or_default(),
                src_table: sources[2].take().unwrap_or_default(),
                src_column_name: sources[3].take().unwrap_or_default(),
                options,
                executor,
                filter,
                group_by,
            }),
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
        if !self.filter.is_empty() {
            body.insert("filter".into(), self.filter.to_json());
        }
        if let Some(column) = &self.group_by {
            body.insert("group_by".into(), column.clone().into());
        }
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
            filter: w.filter.clone(),
            group_by: w.group_by.clone(),
        }
    }
}

/// `group_by`: absent or null for none, else a column name (trimmed, not
/// blank); whether the table has it is the catalog's to say.
fn parse_group_by(value: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<Option<String>> {
    let raw = match value {
        None | Some(Value::Null) => return Some(None),
        Some(Value::String(raw)) => raw.trim(),
        Some(_) => {
            errors.push(FieldError::body(
                &["group_by"],
                "Input should be a column name (a string) or null".into(),
                "string_type",
            ));
            return None;
        }
    };
    let message = if raw.is_empty() {
        "String should have at least 1 character: name a column, or send null for no groups"
            .to_string()
    } else if raw.chars().count() > SOURCE_MAX_CHARS {
        format!("String should have at most {SOURCE_MAX_CHARS} characters")
    } else {
        return Some(Some(raw.to_string()));
    };
    errors.push(FieldError::body(&["group_by"], message, "value_error"));
    None
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::WorkloadForm;
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
    fn a_grouping_is_a_column_name_that_round_trips_and_spark_refuses_it() {
        let mut grouped = body_with(None, "words");
        grouped.insert("group_by".into(), " corpus ".into());
        let spec = WorkloadSpec::from_body(&grouped).expect("valid");
        assert_eq!(spec.group_by.as_deref(), Some("corpus"));
        assert_eq!(WorkloadSpec::from_body(&spec.to_body()), Ok(spec.clone()));
        let form = WorkloadForm::from_workload(&Workload {
            id: 1,
            workload_type: spec.workload_type,
            name: spec.name.clone(),
            src_project: spec.src_project.clone(),
            src_dataset: spec.src_dataset.clone(),
            src_table: spec.src_table.clone(),
            src_column_name: spec.src_column_name.clone(),
            options: spec.options.clone(),
            executor: spec.executor,
            filter: spec.filter.clone(),
            group_by: spec.group_by.clone(),
            status: crate::workload::WorkloadStatus::Created,
            created_at: String::new(),
            updated_at: String::new(),
            last_run: None,
        });
        assert_eq!(form.group_by, "corpus");
        assert_eq!(form.to_body()["group_by"], "corpus");
        // null is none; a blank form field sends none.
        grouped.insert("group_by".into(), Value::Null);
        assert_eq!(
            WorkloadSpec::from_body(&grouped).expect("valid").group_by,
            None
        );
        assert!(
            !WorkloadForm::new_workload()
                .to_body()
                .contains_key("group_by")
        );
        let mut spark = body_with(Some("spark"), "spark");
        spark.insert("group_by".into(), "corpus".into());
        let errors = WorkloadSpec::from_body(&spark).expect_err("refused");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].field(), "group_by");
        assert!(errors[0].msg.contains("use native"), "{}", errors[0].msg);
    }
}
