//! [`AppError`]: what a server function returns when it fails, typed so that the
//! UI can place the message next to the field it is about.

use serde::{Deserialize, Serialize};

/// One problem with one input, located FastAPI-style: `loc` is the path to the
/// value (`["body", "options", "min_length"]`), `type` a machine-readable kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    #[cfg_attr(feature = "ssr", schema(example = json!(["body", "src_column_name"])))]
    pub loc: Vec<String>,
    #[cfg_attr(feature = "ssr", schema(example = "Field required"))]
    pub msg: String,
    #[serde(rename = "type")]
    #[cfg_attr(feature = "ssr", schema(example = "missing"))]
    pub kind: String,
}

impl FieldError {
    /// A problem with a field of the request body.
    pub fn body(path: &[&str], msg: String, kind: &str) -> Self {
        Self {
            loc: std::iter::once("body")
                .chain(path.iter().copied())
                .map(String::from)
                .collect(),
            msg,
            kind: kind.into(),
        }
    }

    /// A problem with a query parameter.
    pub fn query(name: &str, msg: String, kind: &str) -> Self {
        Self {
            loc: vec!["query".into(), name.into()],
            msg,
            kind: kind.into(),
        }
    }

    /// A problem with a path parameter.
    pub fn path(name: &str, msg: String, kind: &str) -> Self {
        Self {
            loc: vec!["path".into(), name.into()],
            msg,
            kind: kind.into(),
        }
    }

    /// The input the problem is about: the last part of its location, which is
    /// also the name of the form field that shows it.
    pub fn field(&self) -> &str {
        // A row filter is one input on the form, whichever column and
        // operator a problem is about.
        if self.loc.get(1).is_some_and(|part| part == "filter") {
            return "filter";
        }
        self.loc.last().map_or("", String::as_str)
    }
}

/// A failed server-function call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    /// The HTTP status the REST API answers for the same failure.
    pub status: u16,
    /// The form field the message is about, when it is about one.
    pub field: Option<String>,
    pub message: String,
    /// Every problem of an invalid form, each with its field.
    #[serde(default)]
    pub errors: Vec<FieldError>,
}

impl AppError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            field: field_of(&message),
            message,
            errors: Vec::new(),
        }
    }

    /// A 422 for a form with these problems.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let message = match errors.as_slice() {
            [one] => format!("{}: {}", one.field(), one.msg),
            many => format!("{} fields need attention", many.len()),
        };
        Self {
            status: 422,
            field: None,
            message,
            errors,
        }
    }

    /// The message about `field`, when there is one.
    pub fn for_field(&self, field: &str) -> Option<String> {
        if let Some(e) = self.errors.iter().find(|e| e.field() == field) {
            return Some(e.msg.clone());
        }
        (self.field.as_deref() == Some(field)).then(|| self.message.clone())
    }
}

/// Messages about one input start with its name and a colon (`delimiter: ...`).
fn field_of(message: &str) -> Option<String> {
    let (head, _) = message.split_once(": ")?;
    (!head.is_empty() && head.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        .then(|| head.to_string())
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        Self::new(500, value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_their_field() {
        let e = AppError::new(422, "delimiter: must be a single ASCII character");
        assert_eq!(
            e.for_field("delimiter").as_deref(),
            Some("delimiter: must be a single ASCII character")
        );
        assert_eq!(
            AppError::new(404, "Table 't' does not exist in dataset 'p.d'").field,
            None
        );
        assert_eq!(AppError::new(422, "line 3: expected 2 fields").field, None);
    }
}
