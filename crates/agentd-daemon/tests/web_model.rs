//! The web UI's pure model (`web/model.js`) under node's own test runner
//! (`tests/web/model.test.js`): node is on every machine the tests run on
//! (the pinned Claude Code CLI is an npm package).

#[test]
fn the_web_model_passes_its_node_tests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("node")
        // model.js is an ES module with a .js name and no package.json.
        .args(["--experimental-default-type=module", "--test"])
        .arg(dir.join("tests/web/model.test.js"))
        .output()
        .expect("node is needed to test the web UI's model (it comes with npm)");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
