//! The release promise: the binary alone, copied into an empty directory, serves the
//! whole hydratable UI and creates its data directory there.

mod common;

use common::{TestServer, client, tally_bin};

#[tokio::test]
async fn the_binary_copied_alone_serves_the_full_site() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("tally");
    std::fs::copy(tally_bin(), &bin).expect("copy the binary");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        1,
        "only the binary"
    );

    let server = TestServer::start_with(&bin, dir.path(), &["--addr", "127.0.0.1:0"]);
    let http = client();

    let html = http
        .get(server.url("/"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("text");
    let wasm_path = referenced(&html, ".wasm").expect("the page references a .wasm bundle");
    let js_path = referenced(&html, ".js").expect("the page references the JS loader");
    let css_path = referenced(&html, ".css").expect("the page references the stylesheet");

    let wasm = http
        .get(server.url(&wasm_path))
        .send()
        .await
        .expect("request");
    assert_eq!(wasm.status(), 200, "{wasm_path}");
    assert_eq!(wasm.headers()["content-type"], "application/wasm");
    let etag = wasm.headers()["etag"].clone();
    let bytes = wasm.bytes().await.expect("body");
    assert_eq!(&bytes[..4], b"\0asm", "a WebAssembly module");

    for path in [&js_path, &css_path, &"/favicon.svg".to_string()] {
        let res = http.get(server.url(path)).send().await.expect("request");
        assert_eq!(res.status(), 200, "{path}");
        assert!(!res.bytes().await.expect("body").is_empty(), "{path}");
    }

    let again = http
        .get(server.url(&wasm_path))
        .header("if-none-match", etag)
        .send()
        .await
        .expect("request");
    assert_eq!(
        again.status(),
        304,
        "unchanged files revalidate without a body"
    );

    assert!(
        dir.path().join("data").join("db").exists(),
        "./data was created beside the binary"
    );
    let status = server.stop();
    assert!(
        status.success(),
        "SIGTERM stops the server cleanly: {status:?}"
    );
}

/// The first `/pkg/...` URL in `html` ending in `ext`.
fn referenced(html: &str, ext: &str) -> Option<String> {
    html.match_indices("/pkg/").find_map(|(at, _)| {
        let rest = &html[at..];
        let end = rest.find(['"', '\'', ' ', '>'])?;
        let url = &rest[..end];
        url.ends_with(ext).then(|| url.to_string())
    })
}

#[test]
fn help_documents_every_setting_and_its_variable() {
    let out = std::process::Command::new(tally_bin())
        .args(["serve", "--help"])
        .output()
        .expect("run");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "--addr",
        "TALLY_ADDR",
        "--data-dir",
        "TALLY_DATA_DIR",
        "--db",
        "TALLY_DB",
        "--log-level",
        "TALLY_LOG",
    ] {
        assert!(
            help.contains(needle),
            "`tally serve --help` mentions {needle}:\n{help}"
        );
    }
}
