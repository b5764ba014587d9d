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

/// `raw` when it is a path on this site (`/x?y`), never anything a browser
/// would take to another origin: not `//host/x` nor `/\\host/x` (both leave the
/// site), nor a value with a scheme or a control character. Redirect targets
/// taken from a request (a `Referer`, a `next` parameter) go through this.
pub fn same_origin_path(raw: &str) -> Option<&str> {
    let mut bytes = raw.bytes();
    let starts_with_slash = bytes.next() == Some(b'/');
    let second = bytes.next();
    let leaves_site = matches!(second, Some(b'/' | b'\\'));
    let clean = raw.bytes().all(|b| b > 0x20 && b != 0x7f);
    (starts_with_slash && !leaves_site && clean).then_some(raw)
}

/// The path and query of a URL that a browser sent (`http://host/x?y` → `/x?y`,
/// a bare path as it is), when it is one of this site's; see [`same_origin_path`].
pub fn path_of_url(url: &str) -> Option<&str> {
    let path = match url.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && !scheme.contains('/') => {
            rest.find('/').map_or("/", |i| &rest[i..])
        }
        _ => url,
    };
    same_origin_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_stay_on_this_site() {
        assert_eq!(same_origin_path("/workloads?x=1"), Some("/workloads?x=1"));
        assert_eq!(same_origin_path("/"), Some("/"));
        for bad in [
            "//evil.example/x",
            "/\\evil.example/x",
            "https://evil.example/",
            "evil",
            "",
            "/a\nb",
            "/a b",
        ] {
            assert_eq!(same_origin_path(bad), None, "{bad:?}");
        }
        assert_eq!(
            path_of_url("http://127.0.0.1:3000/workloads/new?table=a"),
            Some("/workloads/new?table=a")
        );
        assert_eq!(path_of_url("http://127.0.0.1:3000"), Some("/"));
        assert_eq!(path_of_url("//other-host/x"), None);
        assert_eq!(path_of_url("http://h//other-host/x"), None);
    }

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
