//! The Content-Security-Policy pages run under, and the escaping of values the
//! server writes into the document head.

/// The policy's directives besides styles and scripts: only this site's images
/// (and inline `data:` icons), connections and form targets; no plugins, no
/// `<base>`, no framing (the Delete buttons cannot be clickjacked). Macros, so
/// that every policy below is built from the same literals (a directive given
/// twice would count only once, so each policy names styles and scripts once).
macro_rules! base_directives {
    () => {
        "default-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    };
}

/// This site's stylesheets, and `style` attributes (progress bar widths).
macro_rules! app_styles {
    () => {
        "; style-src 'self'; style-src-attr 'unsafe-inline'"
    };
}

/// The policy of answers that are not pages: scripts only from this site.
pub const CSP_WITHOUT_SCRIPTS: &str = concat!(
    base_directives!(),
    app_styles!(),
    "; script-src 'self' 'wasm-unsafe-eval'"
);

/// The policy of Swagger UI's pages (`/docs`): it injects `<style>` elements,
/// so inline styles are admitted there; scripts still only from this site.
pub const CSP_WITH_INLINE_STYLES: &str = concat!(
    base_directives!(),
    "; style-src 'self' 'unsafe-inline'; script-src 'self'"
);

/// The policy of a page whose inline scripts (Leptos' hydration and resource
/// scripts) carry `nonce`: those and this site's files run, nothing else.
/// `'wasm-unsafe-eval'` lets the bundle compile its WebAssembly.
pub fn page_csp(nonce: &str) -> String {
    format!(
        "{}{}; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'",
        base_directives!(),
        app_styles!()
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
        let script_src = page
            .split("; ")
            .find(|d| d.starts_with("script-src"))
            .expect("a script-src");
        assert_eq!(
            script_src,
            "script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'"
        );
        assert!(!page.contains("script-src 'self' 'unsafe-inline'"));
        for policy in [page.as_str(), CSP_WITHOUT_SCRIPTS, CSP_WITH_INLINE_STYLES] {
            for directive in ["style-src ", "script-src ", "default-src "] {
                assert_eq!(
                    policy.matches(directive).count(),
                    1,
                    "{directive} once in {policy}"
                );
            }
        }
    }

    #[test]
    fn markup_is_escaped() {
        assert_eq!(
            escape_text("</title><script>alert(1)</script> & more"),
            "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"
        );
    }
}
