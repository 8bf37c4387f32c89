//! What is wrong with a configuration file, all of it at once, each problem at its exact
//! line and column (from the TOML parser's spans), with the key and the fix.

use std::ops::Range;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Where the reference for every key is: `man listnews.toml` (from `listnews man`).
pub const REFERENCE: &str = "see listnews.toml(5)";

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    /// The key it is about, as a path (`server.listen`, `group[2].name`); empty for the file.
    pub key: String,
    /// What is wrong, then `; fix: …`.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {error}", path.display())]
    Read { path: PathBuf, error: std::io::Error },
    #[error("{}", show(path, problems))]
    Invalid { path: PathBuf, problems: Vec<Problem> },
}

fn show(path: &std::path::Path, problems: &[Problem]) -> String {
    let lines: Vec<String> = problems
        .iter()
        .map(|p| {
            let key = if p.key.is_empty() { String::new() } else { format!("{}: ", p.key) };
            format!("{}:{}:{}: {key}{}", path.display(), p.line, p.column, p.message)
        })
        .collect();
    lines.join("\n")
}

impl ConfigError {
    /// The problems found (none for a file that could not be read).
    pub fn problems(&self) -> &[Problem] {
        match self {
            ConfigError::Read { .. } => &[],
            ConfigError::Invalid { problems, .. } => problems,
        }
    }
}

/// One step of a key path.
#[derive(Debug, Clone, Copy)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Finds keys in the file's text.
pub struct Locator<'t> {
    text: &'t str,
    doc: Option<Spanned<DeTable<'t>>>,
}

impl<'t> Locator<'t> {
    pub fn new(text: &'t str) -> Locator<'t> {
        Locator { text, doc: DeTable::parse(text).ok() }
    }

    /// (line, column), both from 1, of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, column)
    }

    /// The span of the key at `path` (of its value for an array element), or of the nearest
    /// enclosing thing that exists.
    fn span(&self, path: &[Seg]) -> Range<usize> {
        let Some(doc) = &self.doc else { return 0..0 };
        let mut best = 0..0;
        let mut table: Option<&DeTable> = Some(doc.get_ref());
        let mut value: Option<&Spanned<DeValue>> = None;
        for seg in path {
            match *seg {
                Seg::Key(k) => {
                    let Some(t) = table else { break };
                    let Some((key, v)) = t.get_key_value(k) else { break };
                    best = key.span();
                    value = Some(v);
                }
                Seg::Index(i) => {
                    let Some(item) = value.and_then(|v| v.get_ref().as_array()).and_then(|a| a.get(i)) else { break };
                    best = item.span();
                    value = Some(item);
                }
            }
            table = value.and_then(|v| v.get_ref().as_table());
        }
        best
    }

    /// A problem at the key `path`.
    pub fn problem(&self, path: &[Seg], message: impl Into<String>) -> Problem {
        let (line, column) = self.position(self.span(path).start);
        Problem { line, column, key: show_path(path), message: message.into() }
    }

    /// The deepest key whose key or value holds `offset`: its path and the span from the key
    /// to the end of the value.
    fn key_at(&self, offset: usize) -> Option<(String, Range<usize>)> {
        fn walk(table: &DeTable, offset: usize, prefix: &str, found: &mut Option<(String, Range<usize>)>) {
            for (key, value) in table.iter() {
                let (k, v) = (key.span(), value.span());
                let whole = k.start.min(v.start)..k.end.max(v.end);
                let name =
                    if prefix.is_empty() { key.get_ref().to_string() } else { format!("{prefix}.{}", key.get_ref()) };
                match value.get_ref() {
                    DeValue::Table(t) => walk(t, offset, &name, found),
                    DeValue::Array(a) if a.iter().any(|i| i.get_ref().is_table()) => {
                        for (n, item) in a.iter().enumerate() {
                            if let DeValue::Table(t) = item.get_ref() {
                                walk(t, offset, &format!("{name}[{n}]"), found);
                            }
                        }
                    }
                    _ => {}
                }
                if found.is_none() && whole.contains(&offset) {
                    *found = Some((name, whole));
                }
            }
        }
        let mut found = None;
        walk(self.doc.as_ref()?.get_ref(), offset, "", &mut found);
        found
    }
}

fn show_path(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// What a serde message about a value means to fix.
fn fix_for(message: &str) -> String {
    if message.starts_with("unknown field") {
        return String::new();
    }
    if message.starts_with("missing field") {
        return format!("fix: add it; {REFERENCE}");
    }
    if message.contains("invalid socket address") {
        return "fix: write an IP address and port, such as \"127.0.0.1:119\" or \"[::]:119\" (host names are not looked up)".into();
    }
    if message.contains("invalid type: string") && (message.contains("expected u") || message.contains("expected i")) {
        return "fix: write the number without quotes".into();
    }
    if message.contains("invalid type: string") && message.contains("expected f") {
        return "fix: write the number without quotes (e.g. 10 or 0.5)".into();
    }
    if message.contains("expected a boolean") {
        return "fix: write true or false, without quotes".into();
    }
    if message.contains("expected a sequence") {
        return "fix: write a list in brackets, e.g. [\"…\"]".into();
    }
    format!("fix: {REFERENCE}")
}

/// Deserializes `text`, reporting every key serde refuses: each refused key is reported and
/// blanked out (line numbers kept), and the rest is read again, up to a bound.
pub fn deserialize_all<T: DeserializeOwned>(text: &str) -> (Option<T>, Vec<Problem>) {
    let locator = Locator::new(text);
    let (mut problems, sections) = single_bracket_tables(&locator, text);
    let mut work = text.to_string();
    for span in sections {
        blank(&mut work, span);
    }
    if let Err(e) = DeTable::parse(&work) {
        // Not TOML at all: the parser's own message, at its place.
        let (line, column) = locator.position(e.span().map_or(0, |s| s.start));
        problems.push(Problem { line, column, key: String::new(), message: e.message().trim().to_string() });
        return (None, problems);
    }
    // Keys reported: serde's complaint about them is not repeated.
    let mut blanked: Vec<String> = problems.iter().map(|p| p.key.clone()).collect();
    for _ in 0..32 {
        match toml::from_str::<T>(&work) {
            Ok(value) => return (Some(value), problems),
            Err(e) => {
                let message = e.message().trim().to_string();
                let start = e.span().map_or(0, |s| s.start);
                let found = Locator::new(&work).key_at(start);
                // A required key that was refused above is missing now: said already.
                if message.starts_with("missing field")
                    && blanked.iter().any(|k| message.contains(&format!("`{}`", leaf(k))))
                {
                    return (None, problems);
                }
                let (line, column) = locator.position(start);
                let key = found.as_ref().map(|(k, _)| k.clone()).unwrap_or_default();
                if !blanked.contains(&key) {
                    let message = match unknown_field(&message) {
                        Some(said) => said,
                        None => format!("{message}; {}", fix_for(&message)),
                    };
                    problems.push(Problem { line, column, key: key.clone(), message });
                }
                let Some((_, span)) = found.filter(|_| !message.starts_with("missing field")) else {
                    return (None, problems);
                };
                blanked.push(key);
                blank(&mut work, span);
            }
        }
    }
    (None, problems)
}

/// Spaces over `span`, so every other offset, line and column stays where it was.
fn blank(work: &mut String, span: Range<usize>) {
    let spaces: String = work[span.clone()].chars().map(|c| if c == '\n' { '\n' } else { ' ' }).collect();
    work.replace_range(span, &spaces);
}

/// serde's "unknown field `x`, expected one of `a`, `b`" as what to write instead.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, rest) = rest.split_once('`')?;
    let known: Vec<&str> = rest.split('`').skip(1).step_by(2).collect();
    let closest = known.iter().map(|k| (distance(field, k), *k)).min().filter(|(d, _)| *d <= 3);
    Some(match closest {
        Some((_, k)) => format!("unknown key `{field}`; fix: did you mean `{k}`?"),
        None if known.is_empty() => format!("unknown key `{field}`; fix: remove it; {REFERENCE}"),
        None => format!("unknown key `{field}`; fix: remove it or use one of {}; {REFERENCE}", known.join(", ")),
    })
}

/// Edit distance (Levenshtein), for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let here = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(here + 1);
            prev = here;
        }
    }
    row[b.len()]
}

fn leaf(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

/// `[group]` where `[[group]]` is meant (serde would say "duplicate key" or "invalid type"):
/// the problems, and each such section's span (its header up to the next header).
fn single_bracket_tables(locator: &Locator, text: &str) -> (Vec<Problem>, Vec<Range<usize>>) {
    let mut problems = Vec::new();
    let mut sections = Vec::new();
    let mut open: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            if let Some(start) = open.take() {
                sections.push(start..offset);
            }
            for name in ["group", "user", "mirror"] {
                if trimmed == format!("[{name}]") {
                    let (line, column) = locator.position(offset + line.find('[').unwrap_or(0));
                    problems.push(Problem {
                        line,
                        column,
                        key: name.to_string(),
                        message: format!("[{name}] opens a single table; fix: write [[{name}]], once per {name}"),
                    });
                    open = Some(offset);
                }
            }
        }
        offset += line.len();
    }
    if let Some(start) = open {
        sections.push(start..offset);
    }
    (problems, sections)
}
