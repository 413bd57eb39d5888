//! The shape of `src/` that review asks for, checked on every run: no import cycle between
//! top-level modules (the pipeline reads one way: config → model → build → target, with the
//! error module importing no stage), and no function longer than 150 lines.
//!
//! Reads the sources with syn (a `crate::<module>` path anywhere, `use crate::{…}` trees
//! included, is an edge from the file's top-level module to that module).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::spanned::Spanned;
use syn::visit::Visit;

const MAX_FUNCTION_LINES: usize = 150;

fn sources() -> Vec<(String, PathBuf)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&src).unwrap();
            let first = rel.components().next()?.as_os_str().to_string_lossy();
            let module = first.trim_end_matches(".rs").to_string();
            (module != "main" && module != "lib").then_some((module, p))
        })
        .collect()
}

/// The top-level modules a file names through `crate::`.
#[derive(Default)]
struct Uses(BTreeSet<String>);

impl<'a> Visit<'a> for Uses {
    fn visit_path(&mut self, p: &'a syn::Path) {
        let mut s = p.segments.iter();
        if let (Some(a), Some(b)) = (s.next(), s.next()) {
            if a.ident == "crate" {
                self.0.insert(b.ident.to_string());
            }
        }
        syn::visit::visit_path(self, p);
    }

    fn visit_item_use(&mut self, u: &'a syn::ItemUse) {
        fn tree(t: &syn::UseTree, under_crate: bool, out: &mut BTreeSet<String>) {
            match t {
                syn::UseTree::Path(p) if p.ident == "crate" => tree(&p.tree, true, out),
                syn::UseTree::Path(p) if under_crate => {
                    out.insert(p.ident.to_string());
                }
                syn::UseTree::Name(n) if under_crate => {
                    out.insert(n.ident.to_string());
                }
                syn::UseTree::Rename(r) if under_crate => {
                    out.insert(r.ident.to_string());
                }
                syn::UseTree::Group(g) => g.items.iter().for_each(|i| tree(i, under_crate, out)),
                _ => {}
            }
        }
        tree(&u.tree, false, &mut self.0);
    }
}

/// Every function with its length in lines (free functions, methods, trait defaults, nested).
#[derive(Default)]
struct Functions(Vec<(String, usize, usize)>);

impl Functions {
    fn add(&mut self, name: &syn::Ident, span: proc_macro2::Span) {
        let (start, end) = (span.start().line, span.end().line);
        self.0.push((name.to_string(), start, end + 1 - start));
    }
}

impl<'a> Visit<'a> for Functions {
    fn visit_item_fn(&mut self, f: &'a syn::ItemFn) {
        self.add(&f.sig.ident, f.span());
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'a syn::ImplItemFn) {
        self.add(&f.sig.ident, f.span());
        syn::visit::visit_impl_item_fn(self, f);
    }
    fn visit_trait_item_fn(&mut self, f: &'a syn::TraitItemFn) {
        if f.default.is_some() {
            self.add(&f.sig.ident, f.span());
        }
        syn::visit::visit_trait_item_fn(self, f);
    }
}

fn parse(path: &Path) -> syn::File {
    let text = std::fs::read_to_string(path).unwrap();
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a str) {
        let i = t.index.len();
        t.index.insert(v, i);
        t.low.insert(v, i);
        t.stack.push(v);
        t.on.insert(v);
        for w in t.edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                t.low.entry(v).and_modify(|l| *l = (*l).min(lw));
            } else if t.on.contains(w) {
                let iw = t.index[w];
                t.low.entry(v).and_modify(|l| *l = (*l).min(iw));
            }
        }
        if t.low[v] == t.index[v] {
            let mut comp = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                comp.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                t.out.push(comp);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v.as_str()) {
            visit(&mut t, v);
        }
    }
    t.out
}

fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let files = sources();
    let modules: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, path) in &files {
        let mut uses = Uses::default();
        uses.visit_file(&parse(path));
        let e = edges.entry(module.clone()).or_default();
        e.extend(
            uses.0
                .into_iter()
                .filter(|u| u != module && modules.contains(u)),
        );
    }
    edges
}

#[test]
fn no_import_cycle_between_top_level_modules() {
    let edges = module_graph();
    assert!(edges.len() > 10, "{edges:?}");
    let found = cycles(&edges);
    assert!(
        found.is_empty(),
        "top-level modules that import each other: {found:?}\n{edges:#?}"
    );
    assert!(
        edges["error"].is_empty(),
        "error.rs imports no stage: {:?}",
        edges["error"]
    );
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.insert("a".into(), ["b".to_string()].into());
    edges.insert("b".into(), ["c".to_string()].into());
    edges.insert("c".into(), ["a".to_string()].into());
    edges.insert("d".into(), ["a".to_string()].into());
    assert_eq!(cycles(&edges), vec![vec!["a", "b", "c"]]);
}

#[test]
fn no_function_in_src_is_longer_than_150_lines() {
    let mut long = Vec::new();
    let mut count = 0;
    for (_, path) in sources() {
        let mut f = Functions::default();
        f.visit_file(&parse(&path));
        count += f.0.len();
        for (name, line, lines) in f.0 {
            if lines > MAX_FUNCTION_LINES {
                long.push(format!("{}:{line} {name}: {lines} lines", path.display()));
            }
        }
    }
    assert!(count > 500, "only {count} functions found");
    assert!(
        long.is_empty(),
        "functions over {MAX_FUNCTION_LINES} lines:\n{}",
        long.join("\n")
    );
}
