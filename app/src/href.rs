//! Links with query strings: the list, search and pager state the pages keep in
//! their URLs.

/// Percent-encodes a query value (UTF-8 bytes outside the unreserved set).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `path` with the query built from `params`, leaving out empty values.
pub fn with_query(path: &str, params: &[(&str, String)]) -> String {
    let query: Vec<String> = params
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// `url` (a path with an optional query) with `key` set to `value`, replacing
/// any earlier value of `key`.
pub fn with_param(url: &str, key: &str, value: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut parts: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && p.split('=').next() != Some(key))
        .map(String::from)
        .collect();
    parts.push(format!("{key}={}", encode(value)));
    format!("{path}?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded_and_replaced() {
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
        assert_eq!(
            with_query("/w", &[("q", "x y".into()), ("status", String::new())]),
            "/w?q=x%20y"
        );
        assert_eq!(with_query("/w", &[("q", String::new())]), "/w");
        assert_eq!(
            with_param(
                "/w/new?error=old&table=a.b.c",
                "error",
                "name: Field required"
            ),
            "/w/new?table=a.b.c&error=name%3A%20Field%20required"
        );
        assert_eq!(with_param("/w", "error", "x"), "/w?error=x");
    }
}
