//! The `limit` and `offset` query parameters that every list and page takes,
//! read alike: one wording of each error, located at its parameter.

use crate::error::FieldError;

/// A page size from 1 to `max`.
pub fn limit(value: &str, max: u64) -> Result<u64, FieldError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(FieldError::query(
            "limit",
            format!("Input should be an integer from 1 to {max}"),
            "int_parsing",
        )),
    }
}

/// How many items to skip: 0 or more.
pub fn offset(value: &str) -> Result<u64, FieldError> {
    value.trim().parse::<u64>().map_err(|_| {
        FieldError::query(
            "offset",
            "Input should be an integer, 0 or more".into(),
            "int_parsing",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_offsets_are_whole_numbers_in_range() {
        assert_eq!(limit(" 5 ", 10), Ok(5));
        for bad in ["0", "11", "-1", "x", ""] {
            assert_eq!(
                limit(bad, 10).map_err(|e| e.loc),
                Err(vec!["query".into(), "limit".into()])
            );
        }
        assert_eq!(offset("0"), Ok(0));
        assert!(offset("-3").is_err());
    }
}
