//! Property test: loading arbitrary and mutated config text never panics; it returns a value or
//! an error that names the file. Bounded: a fixed number of cases (CI runs it in a few seconds).

use std::collections::BTreeMap;
use std::path::Path;

use ggp::config::hocon::{load, Layer};
use proptest::prelude::*;

/// Pieces of HOCON that ggp projects use, to build structured random documents.
fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "conf",
        "{",
        "}",
        "[",
        "]",
        "=",
        ":",
        "+=",
        ",",
        "\n",
        " ",
        "\"a b\"",
        "\"\"\"x\"\"\"",
        "${conf.a}",
        "${?X}",
        "${ACCOUNT_ID}",
        "a.b",
        "1",
        "-2.5",
        "true",
        "null",
        "# c\n",
        "// c\n",
        "include \"x.conf\"",
        "include required(\"y.conf\")",
        "\"arn:\"${A}\":x\"",
        "functions",
        "[\"F\"]",
        "\\",
        "\"unterminated",
        "${",
        "}}",
        "$",
        "\u{00e9}",
        "\t",
    ])
}

fn example(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

fn check(text: &str) {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("fuzz.conf");
    std::fs::write(&f, text).unwrap();
    std::fs::write(d.path().join("x.conf"), "x = ${conf}").unwrap();
    let env: BTreeMap<String, String> = [("A".to_string(), "1".to_string())].into();
    if let Err(e) = load(&[Layer::File(f.clone())], &env) {
        let msg = e.to_string();
        assert!(
            msg.contains("fuzz.conf") || msg.contains("x.conf") || msg.contains("y.conf"),
            "error does not name a file: {msg}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, max_shrink_iters: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_token_documents_never_panic(tokens in prop::collection::vec(token(), 0..60)) {
        check(&tokens.concat());
    }

    #[test]
    fn mutated_example_files_never_panic(
        which in 0usize..3,
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, token()), 1..6),
    ) {
        let mut text: Vec<char> = example(["deployments/deployment.defaults.conf", "functions/HelloPython/function.conf", "deployments/all.conf"][which]).chars().collect();
        for (idx, op, tok) in edits {
            if text.is_empty() { break; }
            let i = idx.index(text.len());
            match op {
                0 => { text.remove(i); }
                1 => { for (k, c) in tok.chars().enumerate() { text.insert(i + k, c); } }
                2 => { let end = (i + 8).min(text.len()); text.drain(i..end); }
                _ => { let j = text.len() - 1 - i; text.swap(i, j); }
            }
        }
        check(&text.into_iter().collect::<String>());
    }
}
