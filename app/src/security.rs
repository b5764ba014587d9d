//! The Content-Security-Policy pages run under, and the escaping of values the
//! server writes into the document head.

/// The policy's directives besides `script-src`: only this site's styles,
/// images (and inline `data:` icons), connections and form targets; no
/// plugins, no `<base>`, no framing (the Delete buttons cannot be clickjacked).
/// A macro, so that both policies below are built from one literal.
macro_rules! other_directives {
    () => {
        "default-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    };
}

/// The policy of answers that are not pages: scripts only from this site.
pub const CSP_WITHOUT_SCRIPTS: &str = concat!(
    other_directives!(),
    "; script-src 'self' 'wasm-unsafe-eval'"
);

/// The policy of a page whose inline scripts (Leptos' hydration and resource
/// scripts) carry `nonce`: those and this site's files run, nothing else.
/// `'wasm-unsafe-eval'` lets the bundle compile its WebAssembly.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "{}; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'",
        other_directives!()
    )
}

/// Escapes text for an HTML text node: `leptos_meta` 0.8.7 writes the
/// `<title>` into the server-rendered head as it is, so a workload named
/// `</title><script>...` would otherwise end the title and run.
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_add_only_their_nonce() {
        let page = page_csp("abc");
        assert_eq!(
            page.replace(" 'nonce-abc'", ""),
            CSP_WITHOUT_SCRIPTS,
            "the same policy otherwise"
        );
        assert!(page.contains("'nonce-abc'") && !page.contains("unsafe-inline'; script"));
        assert!(!page.contains("script-src 'self' 'unsafe-inline'"));
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape_text("</title><script>alert(1)</script> & more"),
            "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"
        );
    }
}
