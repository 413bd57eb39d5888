//! MQTT topic filters: does what one function publishes reach what another subscribes to?
//!
//! GGP wired function → function subscriptions when an output topic "matched" an input topic
//! (`topicCandidate`). Both sides may hold wildcards (`+` one level, `#` the rest), so the question
//! is whether the two filters intersect, and the subscription subject is that intersection.

/// The filter matching exactly the topics both `a` and `b` match, if any.
pub fn intersect(a: &str, b: &str) -> Option<String> {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.split('/').collect(), b.split('/').collect());
    let mut out: Vec<&str> = Vec::new();
    let mut i = 0;
    loop {
        match (la.get(i), lb.get(i)) {
            (Some(&"#"), _) => {
                out.extend(&lb[i..]);
                break;
            }
            (_, Some(&"#")) => {
                out.extend(&la[i..]);
                break;
            }
            (None, None) => break,
            (None, Some(_)) | (Some(_), None) => return None,
            (Some(&x), Some(&y)) => {
                if x == "+" {
                    out.push(y);
                } else if y == "+" || x == y {
                    out.push(x);
                } else {
                    return None;
                }
            }
        }
        i += 1;
    }
    // `a/#` also matches `a` itself; an empty tail after `#` handling is fine.
    Some(out.join("/"))
}

#[cfg(test)]
mod tests {
    use super::intersect;

    #[test]
    fn wildcards_intersect() {
        let cases = [
            ("a/b", "a/b", Some("a/b")),
            ("a/b", "a/c", None),
            ("a/+", "a/b", Some("a/b")),
            ("a/+/c", "a/b/+", Some("a/b/c")),
            ("a/#", "a/b/c", Some("a/b/c")),
            ("a/b/c", "#", Some("a/b/c")),
            ("a/+", "a/b/c", None),
            ("+/x/#", "y/+/z", Some("y/x/z")),
            ("sensors/+/temp", "sensors/#", Some("sensors/+/temp")),
            ("a", "a/b", None),
        ];
        for (a, b, want) in cases {
            assert_eq!(intersect(a, b).as_deref(), want, "{a} ∩ {b}");
            assert_eq!(intersect(b, a).as_deref(), want, "{b} ∩ {a} (symmetric)");
        }
    }
}
