//! [`AppError`]: what a server function returns when it fails, typed so that the
//! UI can place the message next to the field it is about.

use serde::{Deserialize, Serialize};

/// A failed server-function call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    /// The HTTP status the REST API answers for the same failure.
    pub status: u16,
    /// The form field the message is about, when it is about one.
    pub field: Option<String>,
    pub message: String,
}

impl AppError {
    pub fn new(status: u16, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            status,
            field: field_of(&message),
            message,
        }
    }

    /// The message when it is about `field`.
    pub fn for_field(&self, field: &str) -> Option<String> {
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
        Self {
            status: 500,
            field: None,
            message: value.to_string(),
        }
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
