//! The shape of `app/src`, checked from the sources themselves: every
//! `crate::…` and `super::…` path is read with `syn` and resolved to the
//! top-level module it names. The test fails on an arrow the layer table
//! below does not allow, on any circle between top-level modules, and on a
//! source file that has grown past what one reader takes in at a sitting.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// Top-level modules in bands, lowest first. A module may import from any
/// lower band; within a band only the pairs in SIDEWAYS. `root` is `lib.rs`
/// itself (the `App` and its routes), on top of all.
const BANDS: &[&[&str]] = &[
    // Shared by the server and the browser; no domain knowledge.
    &["error"],
    &["validate", "components"],
    // The server's bottom layer: imports no feature.
    &["core"],
    // Mail rendering and sending; then accounts, which send mail (reset
    // links). Every feature uses both.
    &["mail"],
    &["auth"],
    // Features.
    &["billing", "support", "customers"],
    // Dashboards read every feature's figures; search finds every feature's things.
    &["dashboards", "search"],
    // On top: the Staff Console's home and the page frame read every feature.
    &["staff", "layout"],
    &["root"],
];

/// Arrows inside one band that are allowed on purpose. The one arrow between
/// features: customers → billing (an approved order issues its first invoice).
const SIDEWAYS: &[(&str, &str)] = &[("customers", "billing")];

/// Files larger than this are split by use case (`ssr/<use case>.rs`,
/// `pages/<page>.rs`).
const MAX_LINES: usize = 700;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read app/src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path a file defines: `customers/ssr.rs` → `[customers, ssr]`,
/// `customers/mod.rs` → `[customers]`, `lib.rs` → `[]`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Collects the top-level module every `crate::`/`super::` path lands in.
struct Arrows<'a> {
    /// The module path of the code being visited (grows inside inline `mod`s).
    here: Vec<String>,
    top_modules: &'a BTreeSet<String>,
    found: BTreeSet<String>,
}

impl Arrows<'_> {
    fn resolve(&mut self, segments: &[String]) {
        let mut base: Vec<String>;
        let mut rest = segments;
        match rest.first().map(String::as_str) {
            Some("crate") => {
                base = Vec::new();
                rest = &rest[1..];
            }
            Some("super") => {
                base = self.here.clone();
                while rest.first().map(String::as_str) == Some("super") {
                    base.pop();
                    rest = &rest[1..];
                }
            }
            _ => return,
        }
        base.extend(rest.iter().cloned());
        let target = match base.first() {
            Some(first) if self.top_modules.contains(first) => first.clone(),
            // An item of lib.rs itself (`crate::use_viewer`).
            _ => "root".to_owned(),
        };
        self.found.insert(target);
    }

    fn use_tree(&mut self, prefix: &mut Vec<String>, tree: &syn::UseTree) {
        match tree {
            syn::UseTree::Path(p) => {
                prefix.push(p.ident.to_string());
                self.use_tree(prefix, &p.tree);
                prefix.pop();
            }
            syn::UseTree::Name(n) => {
                prefix.push(n.ident.to_string());
                self.resolve(prefix);
                prefix.pop();
            }
            syn::UseTree::Rename(r) => {
                prefix.push(r.ident.to_string());
                self.resolve(prefix);
                prefix.pop();
            }
            syn::UseTree::Glob(_) => self.resolve(prefix),
            syn::UseTree::Group(g) => {
                for t in &g.items {
                    self.use_tree(prefix, t);
                }
            }
        }
    }
}

impl<'ast> Visit<'ast> for Arrows<'_> {
    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        self.here.push(m.ident.to_string());
        syn::visit::visit_item_mod(self, m);
        self.here.pop();
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        self.use_tree(&mut Vec::new(), &u.tree);
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        let segments: Vec<String> = p.segments.iter().map(|s| s.ident.to_string()).collect();
        self.resolve(&segments);
        syn::visit::visit_path(self, p);
    }

    // Paths inside `view!`, `#[server]` bodies and other macros are tokens,
    // not parsed paths: read `crate :: x` and `super :: x` sequences from them.
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        self.visit_path(&m.path);
        let mut run: Vec<String> = Vec::new();
        let mut last_was_sep = false;
        for token in flatten(m.tokens.clone()) {
            match token {
                proc_macro2::TokenTree::Ident(i) => {
                    let s = i.to_string();
                    if last_was_sep || (run.is_empty() && (s == "crate" || s == "super")) {
                        run.push(s);
                    } else {
                        if run.len() > 1 {
                            self.resolve(&run);
                        }
                        run.clear();
                        if s == "crate" || s == "super" {
                            run.push(s);
                        }
                    }
                    last_was_sep = false;
                }
                proc_macro2::TokenTree::Punct(p) if p.as_char() == ':' && !run.is_empty() => {
                    last_was_sep = p.spacing() == proc_macro2::Spacing::Alone;
                }
                _ => {
                    if run.len() > 1 {
                        self.resolve(&run);
                    }
                    run.clear();
                    last_was_sep = false;
                }
            }
        }
        if run.len() > 1 {
            self.resolve(&run);
        }
    }
}

fn flatten(tokens: proc_macro2::TokenStream) -> Vec<proc_macro2::TokenTree> {
    let mut out = Vec::new();
    for t in tokens {
        match t {
            proc_macro2::TokenTree::Group(g) => {
                out.push(proc_macro2::TokenTree::Punct(proc_macro2::Punct::new(
                    ';',
                    proc_macro2::Spacing::Alone,
                )));
                out.extend(flatten(g.stream()));
                out.push(proc_macro2::TokenTree::Punct(proc_macro2::Punct::new(
                    ';',
                    proc_macro2::Spacing::Alone,
                )));
            }
            other => out.push(other),
        }
    }
    out
}

struct Source {
    rel: String,
    lines: usize,
    top: String,
    imports: BTreeSet<String>,
}

fn read_sources() -> Vec<Source> {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let top_modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| module_path(f.strip_prefix(&src).unwrap()).first().cloned())
        .collect();
    files
        .iter()
        .map(|f| {
            let rel_path = f.strip_prefix(&src).unwrap();
            let text = std::fs::read_to_string(f).expect("read source");
            let ast = syn::parse_file(&text)
                .unwrap_or_else(|e| panic!("{} does not parse: {e}", rel_path.display()));
            let here = module_path(rel_path);
            let top = here.first().cloned().unwrap_or_else(|| "root".into());
            let mut arrows = Arrows {
                here,
                top_modules: &top_modules,
                found: BTreeSet::new(),
            };
            arrows.visit_file(&ast);
            arrows.found.remove(&top);
            Source {
                rel: rel_path.to_string_lossy().into_owned(),
                lines: text.lines().count(),
                top,
                imports: arrows.found,
            }
        })
        .collect()
}

fn band(module: &str) -> usize {
    BANDS
        .iter()
        .position(|b| b.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` has no band in BANDS: give it one"))
}

fn allowed(from: &str, to: &str) -> bool {
    band(to) < band(from) || SIDEWAYS.contains(&(from, to))
}

#[test]
fn every_import_points_down() {
    let sources = read_sources();
    let mut wrong = Vec::new();
    for s in &sources {
        for to in &s.imports {
            if !allowed(&s.top, to) {
                wrong.push(format!("{} ({}) imports {to}", s.rel, s.top));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports that point up or sideways:\n  {}",
        wrong.join("\n  ")
    );
}

#[test]
fn no_circle_between_modules() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in read_sources() {
        graph.entry(s.top).or_default().extend(s.imports);
    }
    // Depth-first search; a back edge is a circle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|n| n == node) {
            let mut circle = stack[i..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in graph.keys() {
        if let Some(circle) = visit(node, &graph, &mut Vec::new(), &mut done) {
            panic!("import circle: {}", circle.join(" → "));
        }
    }
}

#[test]
fn files_stay_readable_in_one_sitting() {
    let sources = read_sources();
    let mut wrong = Vec::new();
    for s in &sources {
        let limit = MAX_LINES;
        if s.lines > limit {
            wrong.push(format!("{}: {} lines (limit {limit})", s.rel, s.lines));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// The checker itself: a known upward arrow and a known circle are caught.
#[test]
fn the_checker_sees_arrows_in_code_and_in_macros() {
    let top: BTreeSet<String> = ["core", "support", "billing"]
        .into_iter()
        .map(String::from)
        .collect();
    let file: syn::File = syn::parse_str(
        r#"
        use crate::core::authz;
        mod ssr { use super::super::billing::Thing; }
        fn f() { let _ = crate::error::AppError::Internal; view! { <p>{crate::support::x()}</p> } }
        "#,
    )
    .unwrap();
    let mut arrows = Arrows {
        here: vec!["core".into()],
        top_modules: &top,
        found: BTreeSet::new(),
    };
    arrows.visit_file(&file);
    let found: Vec<&str> = arrows.found.iter().map(String::as_str).collect();
    assert_eq!(found, ["billing", "core", "root", "support"]);
    assert!(!allowed("core", "support"));
    assert!(allowed("support", "core"));
    assert!(allowed("customers", "billing"));
    assert!(!allowed("billing", "customers"));
}

/// A plain form post comes back to the page its form names (the server
/// never goes back by `Referer`): every `ActionForm` holds a `ReturnHere`.
#[test]
fn every_action_form_names_its_page() {
    let src = src_dir();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut missing = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read source");
        let mut rest = text.as_str();
        while let Some(i) = rest.find("<ActionForm ") {
            let after = &rest[i..];
            let close = after.find('>').expect("ActionForm tag closes");
            if !after[close + 1..].trim_start().starts_with("<ReturnHere/>") {
                let line = text.len() - after.len();
                let line = text[..line].lines().count() + 1;
                missing.push(format!(
                    "{}:{line}",
                    f.strip_prefix(&src).unwrap().display()
                ));
            }
            rest = &after[close..];
        }
    }
    assert!(
        missing.is_empty(),
        "ActionForms without <ReturnHere/> (a refusal with JavaScript off would be lost):\n  {}",
        missing.join("\n  ")
    );
}
