//! [`RowFilter`]: which rows of the source table a workload counts.
//!
//! A filter is an object keyed by column. A column maps to a value (equality)
//! or to an object of operators, every one of which a row must meet:
//!
//! ```json
//! {"corpus": "hamlet", "year": {"gte": 1600, "lt": 1610}, "genre": {"in": ["comedy", "history"]}}
//! ```
//!
//! A row is counted when it meets every condition, and a null meets none (as
//! in SQL). The same filter may be written as text, one condition a line
//! (`corpus = hamlet`, `year >= 1600`, `genre in comedy, history`): the UI's
//! form sends that, and the REST API takes it too.
//!
//! This module checks the filter's shape, which needs no table. Whether its
//! columns exist and its values fit their types is the server's check against
//! the table's schema (`server/src/tables/filter.rs`), at create and again
//! when a run starts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::FieldError;

/// The most columns one filter may test.
pub const MAX_FILTER_COLUMNS: usize = 32;
/// The most values of one `in` list.
pub const MAX_IN_VALUES: usize = 100;
/// The longest text value, and the longest column name, in characters.
pub const MAX_FILTER_CHARS: usize = 1_000;

/// How a condition compares a column with its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FilterOp {
    Eq,
    In,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl FilterOp {
    pub const ALL: [FilterOp; 6] = [Self::Eq, Self::In, Self::Gt, Self::Gte, Self::Lt, Self::Lte];

    /// The operator's name in the JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "eq",
            Self::In => "in",
            Self::Gt => "gt",
            Self::Gte => "gte",
            Self::Lt => "lt",
            Self::Lte => "lte",
        }
    }

    /// The operator in the text form.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::In => "in",
            Self::Gt => ">",
            Self::Gte => ">=",
            Self::Lt => "<",
            Self::Lte => "<=",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == s)
    }

    /// A bound of a range (only ordered columns have those).
    pub fn is_range(self) -> bool {
        matches!(self, Self::Gt | Self::Gte | Self::Lt | Self::Lte)
    }

    fn names() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

/// A value as a client wrote it: one of JSON's scalars. Its meaning depends on
/// the column's type (a timestamp is written as text, a number may be too).
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Text(String),
    Number(serde_json::Number),
    Boolean(bool),
}

impl Literal {
    fn to_json(&self) -> Value {
        match self {
            Self::Text(s) => Value::String(s.clone()),
            Self::Number(n) => Value::Number(n.clone()),
            Self::Boolean(b) => Value::Bool(*b),
        }
    }

    /// The value as the text form writes it: quoted when it would not read
    /// back as itself (empty, spaces at an end, a comma, a quote).
    fn to_text(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Boolean(b) => b.to_string(),
            Self::Text(s) => {
                let plain = !s.is_empty()
                    && s.trim() == s
                    && !s.contains([',', '"', '\n'])
                    && !s.starts_with('\'');
                if plain {
                    s.clone()
                } else {
                    serde_json::to_string(s).unwrap_or_default()
                }
            }
        }
    }
}

/// One condition: `column op value` (`in` has a list of values).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub column: String,
    pub op: FilterOp,
    /// One value, or the list of an `in`.
    pub values: Vec<Literal>,
}

/// A validated filter: its conditions in a stable order (by column, then
/// operator), at most one of each operator per column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RowFilter {
    conditions: Vec<Condition>,
}

impl RowFilter {
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// The columns the filter reads, each once.
    pub fn columns(&self) -> Vec<&str> {
        let mut columns: Vec<&str> = self.conditions.iter().map(|c| c.column.as_str()).collect();
        columns.dedup();
        columns
    }

    /// Validates the optional top-level `filter` of a request body: absent or
    /// null is no filter; an object is the JSON form; a string is the text
    /// form. Problems are located under `filter` (`["filter", column, op]`).
    pub fn from_json(raw: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<Self> {
        let before = errors.len();
        let filter = match raw {
            None | Some(Value::Null) => return Some(Self::default()),
            Some(Value::Object(map)) => Self::from_object(map, errors),
            Some(Value::String(text)) => Self::from_text(text, errors),
            Some(_) => {
                errors.push(FieldError::body(
                    &["filter"],
                    "Input should be an object of column conditions, such as {\"corpus\": \"hamlet\"}"
                        .into(),
                    "dict_type",
                ));
                return None;
            }
        };
        (errors.len() == before).then_some(filter)
    }

    fn from_object(map: &Map<String, Value>, errors: &mut Vec<FieldError>) -> Self {
        let mut conditions = Vec::new();
        for (column, test) in map {
            let ops = match test {
                Value::Null => continue,
                Value::Object(ops) => ops
                    .iter()
                    .filter(|(_, value)| !value.is_null())
                    .map(|(op, value)| (op.as_str(), value))
                    .collect::<Vec<_>>(),
                Value::Array(_) => {
                    errors.push(FieldError::body(
                        &["filter", column],
                        format!("A list of values is written {{\"in\": [...]}}: column '{column}'"),
                        "value_error",
                    ));
                    continue;
                }
                scalar => vec![("eq", scalar)],
            };
            for (op_name, value) in ops {
                let Some(op) = FilterOp::parse(op_name) else {
                    errors.push(FieldError::body(
                        &["filter", column, op_name],
                        format!(
                            "Unknown operator '{op_name}' for column '{column}': the operators are {}",
                            FilterOp::names()
                        ),
                        "extra_forbidden",
                    ));
                    continue;
                };
                let values = match (op, value) {
                    (FilterOp::In, Value::Array(items)) => items.iter().collect(),
                    (FilterOp::In, _) => {
                        errors.push(FieldError::body(
                            &["filter", column, "in"],
                            format!("'in' takes a list of values: column '{column}'"),
                            "list_type",
                        ));
                        continue;
                    }
                    (_, value) => vec![value],
                };
                let literals: Option<Vec<Literal>> = values
                    .into_iter()
                    .map(|value| literal(value, column, op, errors))
                    .collect();
                if let Some(values) = literals {
                    conditions.push(Condition {
                        column: column.clone(),
                        op,
                        values,
                    });
                }
            }
        }
        Self::checked(conditions, errors)
    }

    /// The text form: one condition a line, `column op value`; blank lines
    /// are skipped. A column may be quoted (`"first name" = Ann`), and so may
    /// a value, as a JSON string.
    fn from_text(text: &str, errors: &mut Vec<FieldError>) -> Self {
        let mut conditions = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            match parse_line(line) {
                Ok(condition) => conditions.push(condition),
                Err(why) => errors.push(FieldError::body(
                    &["filter"],
                    format!("Line {} ('{}'): {why}", index + 1, shorten(line)),
                    "value_error",
                )),
            }
        }
        for condition in &conditions {
            for value in &condition.values {
                if let Literal::Text(s) = value {
                    check_text(s, &condition.column, condition.op, errors);
                }
            }
        }
        Self::checked(conditions, errors)
    }

    /// Rules that hold whichever form the filter came in.
    fn checked(mut conditions: Vec<Condition>, errors: &mut Vec<FieldError>) -> Self {
        conditions.sort_by(|a, b| (&a.column, a.op).cmp(&(&b.column, b.op)));
        for pair in conditions.windows(2) {
            if pair[0].column == pair[1].column && pair[0].op == pair[1].op {
                errors.push(FieldError::body(
                    &["filter", &pair[1].column, pair[1].op.as_str()],
                    format!(
                        "Column '{}' has two '{}' conditions: give one",
                        pair[1].column,
                        pair[1].op.symbol()
                    ),
                    "value_error",
                ));
            }
        }
        let mut by_column: BTreeMap<&str, Vec<FilterOp>> = BTreeMap::new();
        for c in &conditions {
            by_column.entry(&c.column).or_default().push(c.op);
            if c.column.trim().is_empty() {
                errors.push(FieldError::body(
                    &["filter"],
                    "A column name must not be empty".into(),
                    "string_too_short",
                ));
            } else if c.column.chars().count() > MAX_FILTER_CHARS {
                errors.push(FieldError::body(
                    &["filter"],
                    format!("A column name has at most {MAX_FILTER_CHARS} characters"),
                    "string_too_long",
                ));
            }
            if c.op == FilterOp::In && !(1..=MAX_IN_VALUES).contains(&c.values.len()) {
                errors.push(FieldError::body(
                    &["filter", &c.column, "in"],
                    format!(
                        "'in' takes 1 to {MAX_IN_VALUES} values, not {}: column '{}'",
                        c.values.len(),
                        c.column
                    ),
                    "value_error",
                ));
            }
        }
        if by_column.len() > MAX_FILTER_COLUMNS {
            errors.push(FieldError::body(
                &["filter"],
                format!(
                    "A filter tests at most {MAX_FILTER_COLUMNS} columns, not {}",
                    by_column.len()
                ),
                "value_error",
            ));
        }
        for (column, ops) in by_column {
            for (a, b) in [(FilterOp::Gt, FilterOp::Gte), (FilterOp::Lt, FilterOp::Lte)] {
                if ops.contains(&a) && ops.contains(&b) {
                    errors.push(FieldError::body(
                        &["filter", column, b.as_str()],
                        format!(
                            "Column '{column}' has both '{}' and '{}': give one",
                            a.symbol(),
                            b.symbol()
                        ),
                        "value_error",
                    ));
                }
            }
        }
        Self { conditions }
    }

    /// The same conditions with other values, one list per condition in
    /// order (the server's check puts each value in its column's type).
    /// `None` if the lists do not match the conditions one to one.
    pub fn with_values(&self, values: Vec<Vec<Literal>>) -> Option<Self> {
        if values.len() != self.conditions.len()
            || values
                .iter()
                .zip(&self.conditions)
                .any(|(new, c)| new.len() != c.values.len())
        {
            return None;
        }
        let conditions = self
            .conditions
            .iter()
            .zip(values)
            .map(|(c, values)| Condition {
                column: c.column.clone(),
                op: c.op,
                values,
            })
            .collect();
        Some(Self { conditions })
    }

    /// The JSON form, one object of operators per column.
    pub fn to_json(&self) -> Value {
        let mut columns = Map::new();
        for c in &self.conditions {
            let value = match c.op {
                FilterOp::In => Value::Array(c.values.iter().map(Literal::to_json).collect()),
                _ => c.values.first().map_or(Value::Null, Literal::to_json),
            };
            if let Value::Object(ops) = columns
                .entry(c.column.clone())
                .or_insert_with(|| Value::Object(Map::new()))
            {
                ops.insert(c.op.as_str().into(), value);
            }
        }
        Value::Object(columns)
    }

    /// The text form, one condition a line; reads back as the same filter.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        for c in &self.conditions {
            let column = if is_plain_column(&c.column) {
                c.column.clone()
            } else {
                serde_json::to_string(&c.column).unwrap_or_default()
            };
            let values: Vec<String> = c.values.iter().map(Literal::to_text).collect();
            let _ = writeln!(text, "{column} {} {}", c.op.symbol(), values.join(", "));
        }
        text
    }
}

impl Serialize for RowFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for RowFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let mut errors = Vec::new();
        Self::from_json(Some(&value), &mut errors).ok_or_else(|| {
            let why: Vec<String> = errors.into_iter().map(|e| e.msg).collect();
            serde::de::Error::custom(format!("not a row filter: {}", why.join("; ")))
        })
    }
}

/// A JSON scalar as a literal; anything else is reported.
fn literal(
    value: &Value,
    column: &str,
    op: FilterOp,
    errors: &mut Vec<FieldError>,
) -> Option<Literal> {
    match value {
        Value::String(s) => check_text(s, column, op, errors).then(|| Literal::Text(s.clone())),
        Value::Number(n) => Some(Literal::Number(n.clone())),
        Value::Bool(b) => Some(Literal::Boolean(*b)),
        _ => {
            errors.push(FieldError::body(
                &["filter", column, op.as_str()],
                format!("Column '{column}': a value should be a string, number or boolean"),
                "value_error",
            ));
            None
        }
    }
}

fn check_text(s: &str, column: &str, op: FilterOp, errors: &mut Vec<FieldError>) -> bool {
    let ok = s.chars().count() <= MAX_FILTER_CHARS;
    if !ok {
        errors.push(FieldError::body(
            &["filter", column, op.as_str()],
            format!("Column '{column}': a value has at most {MAX_FILTER_CHARS} characters"),
            "string_too_long",
        ));
    }
    ok
}

/// A column name the text form can write without quotes.
fn is_plain_column(column: &str) -> bool {
    !column.is_empty()
        && column
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The symbols of the text form, longest first so that `>=` is not read as `>`.
const SYMBOLS: [(&str, FilterOp); 5] = [
    (">=", FilterOp::Gte),
    ("<=", FilterOp::Lte),
    (">", FilterOp::Gt),
    ("<", FilterOp::Lt),
    ("=", FilterOp::Eq),
];

fn parse_line(line: &str) -> Result<Condition, String> {
    let (column, rest) = if let Some(quoted) = line.strip_prefix('"') {
        let (column, used) = json_string(quoted)?;
        (column, quoted[used..].trim_start())
    } else {
        let end = line
            .find(|c: char| c.is_whitespace() || "<>=".contains(c))
            .unwrap_or(line.len());
        (line[..end].to_string(), line[end..].trim_start())
    };
    if column.is_empty() {
        return Err("a condition starts with a column name".into());
    }
    let (op, value) = if let Some(list) = rest.strip_prefix("in ") {
        (FilterOp::In, list)
    } else if let Some((symbol, op)) = SYMBOLS.iter().find(|(s, _)| rest.starts_with(s)) {
        (*op, &rest[symbol.len()..])
    } else {
        return Err(
            "no operator: write column = value, column in a, b, or column >= value (> < <= too)"
                .into(),
        );
    };
    let value = value.trim();
    let values = if op == FilterOp::In {
        split_list(value)?
    } else {
        vec![text_value(value)?]
    };
    Ok(Condition { column, op, values })
}

/// `a, "b, c", d` as three values.
fn split_list(mut rest: &str) -> Result<Vec<Literal>, String> {
    let mut values = Vec::new();
    loop {
        rest = rest.trim_start();
        let (value, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let (s, used) = json_string(quoted)?;
            (s, quoted[used..].trim_start())
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            (rest[..end].trim().to_string(), &rest[end..])
        };
        if value.is_empty() {
            return Err("a value of the list is empty (quote it: \"\")".into());
        }
        values.push(Literal::Text(value));
        match after.strip_prefix(',') {
            Some(next) => rest = next,
            None if after.is_empty() => return Ok(values),
            None => return Err("values of a list are separated by commas".into()),
        }
    }
}

fn text_value(value: &str) -> Result<Literal, String> {
    if let Some(quoted) = value.strip_prefix('"') {
        let (s, used) = json_string(quoted)?;
        if !quoted[used..].trim().is_empty() {
            return Err("text after the quoted value".into());
        }
        return Ok(Literal::Text(s));
    }
    if value.is_empty() {
        return Err("no value (an empty one is written \"\")".into());
    }
    Ok(Literal::Text(value.to_string()))
}

/// Reads a JSON string whose opening quote is already consumed: the string
/// and the bytes of `after_quote` it used, closing quote included.
fn json_string(after_quote: &str) -> Result<(String, usize), String> {
    let mut escaped = false;
    for (i, c) in after_quote.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => {
                let literal = &after_quote[..i];
                let s = serde_json::from_str::<String>(&format!("\"{literal}\""))
                    .map_err(|_| "a quoted text is not valid (\\\" and \\\\ escape)".to_string())?;
                return Ok((s, i + 1));
            }
            _ => escaped = false,
        }
    }
    Err("a quote is not closed".into())
}

fn shorten(line: &str) -> String {
    const SHOWN: usize = 60;
    if line.chars().count() <= SHOWN {
        line.to_string()
    } else {
        line.chars().take(SHOWN).chain("…".chars()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<RowFilter, Vec<FieldError>> {
        let mut errors = Vec::new();
        RowFilter::from_json(Some(&value), &mut errors).ok_or(errors)
    }

    fn locs(errors: &[FieldError]) -> Vec<String> {
        errors.iter().map(|e| e.loc.join(".")).collect()
    }

    #[test]
    fn the_json_form_reads_into_ordered_conditions_and_back() {
        let filter = parse(json!({
            "year": {"lt": 1610, "gte": 1600},
            "corpus": "hamlet",
            "genre": {"in": ["comedy", "history"]},
            "dropped": null,
        }))
        .expect("valid");
        let seen: Vec<(&str, FilterOp)> = filter
            .conditions()
            .iter()
            .map(|c| (c.column.as_str(), c.op))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("corpus", FilterOp::Eq),
                ("genre", FilterOp::In),
                ("year", FilterOp::Gte),
                ("year", FilterOp::Lt),
            ]
        );
        assert_eq!(filter.columns(), vec!["corpus", "genre", "year"]);
        let json = filter.to_json();
        assert_eq!(json["corpus"], json!({"eq": "hamlet"}));
        assert_eq!(parse(json).expect("its own output"), filter);
        assert!(parse(Value::Null).expect("none").is_empty());
    }

    #[test]
    fn the_text_form_reads_as_the_json_form_and_round_trips() {
        let text = "corpus = hamlet\n\n  year>=1600\nyear < 1610\ngenre in comedy, \"a, b\"\n\"first name\" = \" Ann\"\n";
        let filter = parse(Value::String(text.into())).expect("valid");
        let expected = parse(json!({
            "corpus": "hamlet",
            "year": {"gte": "1600", "lt": "1610"},
            "genre": {"in": ["comedy", "a, b"]},
            "first name": " Ann",
        }))
        .expect("valid");
        assert_eq!(filter, expected);
        let again = parse(Value::String(filter.to_text())).expect("its own text");
        assert_eq!(again, filter);
        assert!(filter.to_text().contains("\"first name\" = \" Ann\""));
    }

    #[test]
    fn every_problem_is_located_under_filter() {
        let errors = parse(json!({
            "year": {"between": [1, 2], "gt": 1, "gte": 2},
            "corpus": ["a"],
            "genre": {"in": "comedy"},
            "act": {"eq": {"nested": 1}},
        }))
        .expect_err("invalid");
        let mut got = locs(&errors);
        got.sort();
        assert_eq!(
            got,
            vec![
                "body.filter.act.eq",
                "body.filter.corpus",
                "body.filter.genre.in",
                "body.filter.year.between",
                "body.filter.year.gte",
            ]
        );
        assert!(errors.iter().all(|e| e.field() == "filter"), "{errors:?}");
        let too_many: Vec<Value> = (0..=MAX_IN_VALUES).map(|i| json!(i)).collect();
        let errors = parse(json!({"n": {"in": too_many}})).expect_err("long list");
        assert!(errors[0].msg.contains("1 to 100"), "{errors:?}");
        let errors = parse(json!({"n": {"in": []}})).expect_err("empty list");
        assert_eq!(locs(&errors), vec!["body.filter.n.in"]);
        let wide: Map<String, Value> = (0..=MAX_FILTER_COLUMNS)
            .map(|i| (format!("c{i}"), json!(1)))
            .collect();
        assert!(parse(Value::Object(wide)).is_err());
        assert_eq!(
            locs(&parse(json!(["corpus"])).expect_err("not an object")),
            vec!["body.filter"]
        );
    }

    #[test]
    fn text_lines_that_do_not_read_say_which_line_and_why() {
        for (text, why) in [
            ("corpus hamlet", "no operator"),
            ("= hamlet", "starts with a column"),
            ("corpus =", "no value"),
            ("genre in a,,b", "empty"),
            ("corpus = \"open", "not closed"),
            ("year >= 1\nyear >= 2", "two '>='"),
            ("year > 1\nyear >= 2", "both"),
        ] {
            let errors = parse(Value::String(text.into())).expect_err(text);
            assert!(
                errors.iter().any(|e| e.msg.contains(why)),
                "{text}: {errors:?}"
            );
            assert!(errors.iter().all(|e| e.field() == "filter"), "{errors:?}");
        }
        let errors = parse(Value::String("a = 1\nb ~ 2".into())).expect_err("line 2");
        assert!(errors[0].msg.starts_with("Line 2 ('b ~ 2')"), "{errors:?}");
    }

    #[test]
    fn hostile_text_round_trips_exactly() {
        let value = "<script>alert(1)</script>, \"quoted\"\\";
        let filter =
            parse(json!({"col\"umn": value, "tab\there": {"in": ["x", " y "]}})).expect("valid");
        let again = parse(Value::String(filter.to_text())).expect("its own text");
        assert_eq!(again, filter);
    }
}
