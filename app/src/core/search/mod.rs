//! The search index: a tantivy index below the data directory, derived from
//! the database (rebuilt from it when missing) and kept current by the
//! search feature. It knows no feature: entries arrive as [`Entry`] (a kind,
//! an id, who may find it, its texts) and a search names which kinds, which
//! organization and person it is confined to, and whether the restricted
//! text (internal notes) is searched at all. The caller checks every hit
//! against the database before showing it; the index only makes it fast.
//!
//! One process writes the index; another process sharing the same data
//! directory opens it to read, and sees the writer's commits.

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, BoostQuery, ConstScoreQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST, INDEXED, STORED,
    STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::error::AppError;

mod collectors;
use collectors::{kind_code, KindCounts, OfKinds};

/// Bumped when the schema or the tokenizer changes: the index is then
/// rebuilt in a directory of its own (`search/v<N>`).
const VERSION: u32 = 2;
const TOKENIZER: &str = "portico";
/// Words a search reads (the rest of a pasted paragraph is ignored).
pub const MAX_WORDS: usize = 12;
/// Memory the writer may fill before it writes a segment.
const WRITER_BYTES: usize = 50_000_000;

/// One thing to find.
#[derive(Debug, Clone, Default)]
pub struct Entry {
    pub kind: &'static str,
    pub id: i32,
    /// The organization it belongs to.
    pub org: Option<i32>,
    /// The people (contacts) it is found by when a search is confined to a person.
    pub people: Vec<i32>,
    pub status: String,
    /// Weighs most: a subject, a name, a number.
    pub title: String,
    pub body: String,
    /// Searched only when a search asks for it (internal notes).
    pub restricted: String,
}

/// A part of a text with the searched words in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snippet {
    pub text: String,
    /// Byte ranges of the searched words in `text`.
    pub marks: Vec<Range<usize>>,
    /// Whether the text goes on before it, and after it.
    pub cut_before: bool,
    pub cut_after: bool,
}

/// Which text of an entry a snippet is cut from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Text {
    Title,
    Body,
    Restricted,
}

/// A search, already confined to what the asker may find.
#[derive(Debug, Clone)]
pub struct Find<'a> {
    pub words: &'a [String],
    /// The kinds searched (at least one).
    pub kinds: &'a [&'static str],
    /// Also the restricted text.
    pub restricted: bool,
    /// Only entries of this organization.
    pub org: Option<i32>,
    /// Only entries naming this person.
    pub person: Option<i32>,
    pub status: Option<&'a str>,
    pub offset: usize,
    pub limit: usize,
}

/// What a search found: the page asked for, best first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub hits: Vec<(String, i32)>,
    pub total: usize,
    /// Matches per kind, for the kinds asked to be counted.
    pub by_kind: Vec<(&'static str, usize)>,
}

#[derive(Clone, Copy)]
struct Fields {
    key: Field,
    kind: Field,
    kind_code: Field,
    id: Field,
    org: Field,
    people: Field,
    status: Field,
    title: Field,
    body: Field,
    restricted: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        key: b.add_text_field("key", STRING),
        kind: b.add_text_field("kind", STRING | STORED),
        kind_code: b.add_u64_field("kind_code", FAST),
        id: b.add_u64_field("id", STORED),
        org: b.add_u64_field("org", INDEXED),
        people: b.add_u64_field("people", INDEXED),
        status: b.add_text_field("status", STRING),
        title: b.add_text_field("title", text.clone()),
        body: b.add_text_field("body", text.clone()),
        restricted: b.add_text_field("restricted", text),
    };
    (b.build(), fields)
}

/// Words split and folded as the index folds them: "Łódź" finds "lodz".
fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The distinct words of `text` as the index holds them, at most [`MAX_WORDS`].
pub fn words(text: &str) -> Vec<String> {
    let mut a = analyzer();
    let mut stream = a.token_stream(text);
    let mut out: Vec<String> = Vec::new();
    while stream.advance() {
        let w = stream.token().text.clone();
        if !out.contains(&w) {
            out.push(w);
            if out.len() == MAX_WORDS {
                break;
            }
        }
    }
    out
}

/// Whether a commit payload (a JSON object) says `"complete": true`.
fn says_complete(payload: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(payload)
        .is_ok_and(|v| v.get("complete") == Some(&serde_json::Value::Bool(true)))
}

fn key(kind: &str, id: i32) -> String {
    format!("{kind}:{id}")
}

fn failed(what: &str, e: impl std::fmt::Display) -> AppError {
    tracing::error!(error = %e, "search index: {what}");
    AppError::Internal
}

/// The process's search index, opened once when the server starts serving
/// (commands that only touch the database never open it).
#[derive(Default)]
pub struct Search {
    opened: OnceLock<Arc<Opened>>,
}

impl Search {
    /// Opens (or creates) the index below `data_dir`; the first call decides.
    pub fn open(&self, data_dir: &Path) -> Result<Arc<Opened>, AppError> {
        if let Some(o) = self.opened.get() {
            return Ok(o.clone());
        }
        let o = Arc::new(Opened::open(data_dir)?);
        Ok(self.opened.get_or_init(|| o).clone())
    }

    /// The open index, when the server has opened one.
    pub fn get(&self) -> Option<Arc<Opened>> {
        self.opened.get().cloned()
    }
}

pub struct Opened {
    index: Index,
    reader: IndexReader,
    /// `None` while another process writes this index.
    writer: Mutex<Option<IndexWriter>>,
    /// `search/writer.lock`, held (locked) by the process that writes.
    lock: std::fs::File,
    fields: Fields,
    /// Whether a full build has been committed (then every entry is in);
    /// kept by the writer, read from the index's meta by the others.
    complete: AtomicBool,
}

/// Takes the writer's lock on `file`; `false` when another process holds it.
fn take_lock(file: &std::fs::File) -> bool {
    match file.try_lock() {
        Ok(()) => true,
        Err(std::fs::TryLockError::WouldBlock) => false,
        Err(std::fs::TryLockError::Error(e)) => {
            tracing::warn!(error = %e, "search index: its lock cannot be taken; reading only");
            false
        }
    }
}

impl Opened {
    fn open(data_dir: &Path) -> Result<Opened, AppError> {
        let root = data_dir.join("search");
        let dir = root.join(format!("v{VERSION}"));
        std::fs::create_dir_all(&dir).map_err(|e| failed("creating its directory", e))?;
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(root.join("writer.lock"))
            .map_err(|e| failed("opening its lock", e))?;
        // Only the writer clears anything: a process that reads never
        // removes what the writer is using.
        let writes = take_lock(&lock);
        if writes {
            // Indexes of other versions are rebuilt here; theirs is not read again.
            if let Ok(entries) = std::fs::read_dir(&root) {
                for e in entries.flatten() {
                    if e.path() != dir && e.path().is_dir() {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
        }
        let (schema, fields) = schema();
        let open = |dir: &Path| -> tantivy::Result<Index> {
            Index::open_or_create(MmapDirectory::open(dir)?, schema.clone())
        };
        let index = match open(&dir) {
            Ok(i) => i,
            Err(e) if writes => {
                // Derived data: a damaged or foreign index is built again.
                tracing::warn!(error = %e, "search index unreadable; building it again");
                std::fs::remove_dir_all(&dir).map_err(|e| failed("clearing it", e))?;
                std::fs::create_dir_all(&dir).map_err(|e| failed("creating it", e))?;
                open(&dir).map_err(|e| failed("creating it", e))?
            }
            Err(e) => return Err(failed("opening it to read", e)),
        };
        index.tokenizers().register(TOKENIZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .map_err(|e| failed("opening its reader", e))?;
        let opened = Opened {
            index,
            reader,
            writer: Mutex::new(None),
            lock,
            fields,
            complete: AtomicBool::new(false),
        };
        if writes {
            opened.start_writing()?;
        } else {
            tracing::info!("search index written by another process; reading it here");
        }
        opened.is_complete();
        Ok(opened)
    }

    fn start_writing(&self) -> Result<(), AppError> {
        let w = self
            .index
            .writer_with_num_threads(1, WRITER_BYTES)
            .map_err(|e| failed("opening its writer", e))?;
        *self.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(w);
        Ok(())
    }

    /// Waits until the segments the writer is merging are merged (after a
    /// build: searches then read a few large segments, not many small ones).
    /// Blocking.
    pub fn settle(&self) -> Result<(), AppError> {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = guard.take() else {
            return Ok(());
        };
        w.wait_merging_threads().map_err(|e| failed("merging", e))?;
        drop(guard);
        self.start_writing()?;
        self.reader
            .reload()
            .map_err(|e| failed("reloading its reader", e))
    }

    /// Whether this process keeps the index (the others only read it).
    pub fn writes(&self) -> bool {
        self.writer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some()
    }

    /// Takes over writing when the process that wrote has gone; whether
    /// this process writes now.
    pub fn try_to_write(&self) -> bool {
        if self.writes() {
            return true;
        }
        if !take_lock(&self.lock) {
            return false;
        }
        match self.start_writing() {
            Ok(()) => {
                tracing::info!("search index: the process that wrote it has gone; writing it here");
                true
            }
            Err(_) => {
                let _ = self.lock.unlock();
                false
            }
        }
    }

    /// What the last commit recorded about itself (the caller's own words).
    pub fn payload(&self) -> Option<String> {
        self.index.load_metas().ok().and_then(|m| m.payload)
    }

    /// Whether a full build has been committed, by this process or another.
    pub fn is_complete(&self) -> bool {
        let writes = self.writes();
        if writes && self.complete.load(Ordering::Relaxed) {
            return true;
        }
        let done = self.payload().is_some_and(|p| says_complete(&p));
        if done && writes {
            self.complete.store(true, Ordering::Relaxed);
        }
        done
    }

    /// Replaces the entries named in `remove` and those in `add` (an entry
    /// is removed before it is added again), then commits with `payload`.
    /// Blocking: call from a blocking task. A commit whose payload has
    /// `"complete": true` marks the index complete.
    pub fn write(
        &self,
        remove: &[(&str, i32)],
        add: Vec<Entry>,
        payload: &str,
    ) -> Result<(), AppError> {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = guard.as_mut() else {
            return Ok(());
        };
        let f = self.fields;
        for (kind, id) in remove {
            w.delete_term(Term::from_field_text(f.key, &key(kind, *id)));
        }
        for e in add {
            w.delete_term(Term::from_field_text(f.key, &key(e.kind, e.id)));
            let mut d = TantivyDocument::default();
            d.add_text(f.key, key(e.kind, e.id));
            d.add_text(f.kind, e.kind);
            d.add_u64(f.kind_code, kind_code(e.kind));
            d.add_u64(f.id, e.id as u64);
            if let Some(org) = e.org {
                d.add_u64(f.org, org as u64);
            }
            for p in e.people {
                d.add_u64(f.people, p as u64);
            }
            d.add_text(f.status, &e.status);
            d.add_text(f.title, &e.title);
            d.add_text(f.body, &e.body);
            d.add_text(f.restricted, &e.restricted);
            w.add_document(d)
                .map_err(|e| failed("adding an entry", e))?;
        }
        let mut commit = w.prepare_commit().map_err(|e| failed("committing", e))?;
        commit.set_payload(payload);
        commit.commit().map_err(|e| failed("committing", e))?;
        drop(guard);
        if says_complete(payload) {
            self.complete.store(true, Ordering::Relaxed);
        }
        // This process's next search sees it at once (others within a moment).
        self.reader
            .reload()
            .map_err(|e| failed("reloading its reader", e))
    }

    /// Removes every entry (before a full build), committing with `payload`.
    pub fn clear(&self, payload: &str) -> Result<(), AppError> {
        let mut guard = self.writer.lock().unwrap_or_else(|p| p.into_inner());
        let Some(w) = guard.as_mut() else {
            return Ok(());
        };
        w.delete_all_documents()
            .map_err(|e| failed("clearing", e))?;
        let mut commit = w.prepare_commit().map_err(|e| failed("committing", e))?;
        commit.set_payload(payload);
        commit.commit().map_err(|e| failed("committing", e))?;
        self.complete.store(false, Ordering::Relaxed);
        Ok(())
    }

    fn field(&self, t: Text) -> Field {
        match t {
            Text::Title => self.fields.title,
            Text::Body => self.fields.body,
            Text::Restricted => self.fields.restricted,
        }
    }

    /// Every word in one of the texts searched (the title weighs most).
    fn words_query(&self, words: &[String], restricted: bool) -> Box<dyn Query> {
        let mut texts = vec![(Text::Title, 3.0), (Text::Body, 1.0)];
        if restricted {
            texts.push((Text::Restricted, 1.0));
        }
        let each: Vec<(Occur, Box<dyn Query>)> = words
            .iter()
            .map(|w| {
                let any: Vec<(Occur, Box<dyn Query>)> = texts
                    .iter()
                    .map(|(t, boost)| {
                        let q = TermQuery::new(
                            Term::from_field_text(self.field(*t), w),
                            IndexRecordOption::WithFreqs,
                        );
                        (
                            Occur::Should,
                            Box::new(BoostQuery::new(Box::new(q), *boost)) as Box<dyn Query>,
                        )
                    })
                    .collect();
                (
                    Occur::Must,
                    Box::new(BooleanQuery::new(any)) as Box<dyn Query>,
                )
            })
            .collect();
        Box::new(BooleanQuery::new(each))
    }

    /// `find`'s confinement, scoring nothing.
    fn confinement(&self, find: &Find<'_>, kinds: &[&str]) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.fields;
        let term = |t: Term| -> Box<dyn Query> {
            Box::new(ConstScoreQuery::new(
                Box::new(TermQuery::new(t, IndexRecordOption::Basic)),
                0.0,
            ))
        };
        let mut out: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let any_kind: Vec<(Occur, Box<dyn Query>)> = kinds
            .iter()
            .map(|k| (Occur::Should, term(Term::from_field_text(f.kind, k))))
            .collect();
        out.push((Occur::Must, Box::new(BooleanQuery::new(any_kind))));
        if let Some(org) = find.org {
            out.push((Occur::Must, term(Term::from_field_u64(f.org, org as u64))));
        }
        if let Some(p) = find.person {
            out.push((Occur::Must, term(Term::from_field_u64(f.people, p as u64))));
        }
        if let Some(s) = find.status {
            out.push((Occur::Must, term(Term::from_field_text(f.status, s))));
        }
        out
    }

    fn query(&self, find: &Find<'_>, kinds: &[&str]) -> BooleanQuery {
        let mut parts = vec![(Occur::Must, self.words_query(find.words, find.restricted))];
        parts.extend(self.confinement(find, kinds));
        BooleanQuery::new(parts)
    }

    /// The page `find` asks for.
    pub fn find(&self, find: &Find<'_>) -> Result<Found, AppError> {
        self.find_counting(find, &[])
    }

    /// The page `find` asks for, and how many of each of `count` (kinds)
    /// the same words find (counted in one pass, when there are several);
    /// nothing when it has no words or kinds.
    pub fn find_counting(
        &self,
        find: &Find<'_>,
        count: &[&'static str],
    ) -> Result<Found, AppError> {
        if find.words.is_empty() || find.kinds.is_empty() || find.limit == 0 {
            return Ok(Found {
                by_kind: count.iter().map(|k| (*k, 0)).collect(),
                ..Found::default()
            });
        }
        let searcher = self.reader.searcher();
        let top = TopDocs::with_limit(find.limit)
            .and_offset(find.offset)
            .order_by_score();
        let (top, total, by_kind) = if count.len() > 1 {
            // One pass over every counted kind: the page from the chosen ones.
            let chosen = OfKinds {
                inner: top,
                codes: find.kinds.iter().map(|k| kind_code(k)).collect(),
            };
            let counts = KindCounts {
                codes: count.iter().map(|k| kind_code(k)).collect(),
            };
            let (top, counts) = searcher
                .search(&self.query(find, count), &(chosen, counts))
                .map_err(|e| failed("searching", e))?;
            let by_kind: Vec<(&'static str, usize)> = count.iter().copied().zip(counts).collect();
            let total = by_kind
                .iter()
                .filter(|(k, _)| find.kinds.contains(k))
                .map(|(_, n)| n)
                .sum();
            (top, total, by_kind)
        } else {
            let (top, total) = searcher
                .search(&self.query(find, find.kinds), &(top, Count))
                .map_err(|e| failed("searching", e))?;
            (top, total, Vec::new())
        };
        let mut hits = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let d: TantivyDocument = searcher.doc(addr).map_err(|e| failed("reading a hit", e))?;
            let kind = d.get_first(self.fields.kind).and_then(|v| v.as_str());
            let id = d.get_first(self.fields.id).and_then(|v| v.as_u64());
            if let (Some(kind), Some(id)) = (kind, id) {
                hits.push((kind.to_owned(), id as i32));
            }
        }
        Ok(Found {
            hits,
            total,
            by_kind,
        })
    }

    /// The best part of `text` for `words`, with the ranges of the words in
    /// it; `None` when none of them occurs.
    pub fn snippet(
        &self,
        words: &[String],
        text: Text,
        body: &str,
        max_chars: usize,
    ) -> Option<Snippet> {
        let field = self.field(text);
        let terms: Vec<(Occur, Box<dyn Query>)> = words
            .iter()
            .map(|w| {
                (
                    Occur::Should,
                    Box::new(TermQuery::new(
                        Term::from_field_text(field, w),
                        IndexRecordOption::Basic,
                    )) as Box<dyn Query>,
                )
            })
            .collect();
        let q = BooleanQuery::new(terms);
        let mut gen = SnippetGenerator::create(&self.reader.searcher(), &q, field).ok()?;
        gen.set_max_num_chars(max_chars);
        let s = gen.snippet(body);
        if s.highlighted().is_empty() {
            return None;
        }
        let range = s.fragment_range();
        Some(Snippet {
            text: s.fragment().to_owned(),
            marks: s.highlighted().to_vec(),
            cut_before: range.start > 0,
            cut_after: range.end < body.trim_end().len(),
        })
    }
}

#[cfg(test)]
mod tests;
