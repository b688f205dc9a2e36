//! Data sets in the shared format (native tools only): `items.tsv`, `sequences.tsv`,
//! `candidates/<name>.tsv`, each with one header line. Item ids are strings, so any catalog
//! in this format works, not only Games.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};
use crate::api::{Candidate, Event, EventKind};

/// A catalog and its users' interaction sequences.
pub struct Dataset {
    /// Item ids, in file order.
    pub ids: Vec<String>,
    /// Titles, parallel to `ids`.
    pub titles: Vec<String>,
    /// Item id → index into `ids`.
    pub index: HashMap<String, usize>,
    /// Users in file order: id and item indices, oldest first.
    pub users: Vec<(String, Vec<usize>)>,
    /// User id → index into `users`.
    pub user_index: HashMap<String, usize>,
}

/// Which part of a sequence a history ends before (leave-one-out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// Target = last item; history = all before it.
    Test,
    /// Target = second-last item; history = all before it.
    Validation,
}

impl Split {
    /// The split's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Split::Test => "test",
            Split::Validation => "validation",
        }
    }

    /// Parse a split name.
    pub fn parse(name: &str) -> Result<Split> {
        [Split::Test, Split::Validation]
            .into_iter()
            .find(|s| s.name() == name)
            .ok_or_else(|| Error::invalid("--split", format!("unknown split {name:?} (test or validation)")))
    }

    /// How many items at the end of a sequence are not history.
    pub fn held_out(self) -> usize {
        match self {
            Split::Test => 1,
            Split::Validation => 2,
        }
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

fn data_error(path: &Path, line: usize, problem: impl std::fmt::Display) -> Error {
    Error::new(ErrorKind::Data, format!("{}:{}: {problem}", path.display(), line + 1))
}

/// Lines after the header, with their 0-based line numbers.
fn rows(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().skip(1).filter(|(_, l)| !l.trim().is_empty())
}

impl Dataset {
    /// Load `items.tsv` and `sequences.tsv` from `dir`.
    pub fn load(dir: &Path) -> Result<Dataset> {
        let items_path = dir.join("items.tsv");
        let text = read(&items_path)?;
        let (mut ids, mut titles, mut index) = (Vec::new(), Vec::new(), HashMap::new());
        for (line, row) in rows(&text) {
            let mut fields = row.splitn(3, '\t');
            let id = fields.next().unwrap_or("").trim();
            if id.is_empty() {
                return Err(data_error(&items_path, line, "empty item id"));
            }
            if index.insert(id.to_string(), ids.len()).is_some() {
                return Err(data_error(&items_path, line, format!("duplicate item id {id:?}")));
            }
            ids.push(id.to_string());
            titles.push(fields.next().unwrap_or("").trim().to_string());
        }
        let seq_path = dir.join("sequences.tsv");
        let text = read(&seq_path)?;
        let (mut users, mut user_index) = (Vec::new(), HashMap::new());
        for (line, row) in rows(&text) {
            let (user, items) = row.split_once('\t').ok_or_else(|| data_error(&seq_path, line, "expected user<TAB>items"))?;
            let items = items
                .split_whitespace()
                .map(|id| index.get(id).copied().ok_or_else(|| data_error(&seq_path, line, format!("unknown item {id:?}"))))
                .collect::<Result<Vec<_>>>()?;
            user_index.insert(user.trim().to_string(), users.len());
            users.push((user.trim().to_string(), items));
        }
        Ok(Dataset { ids, titles, index, users, user_index })
    }

    /// `candidates/<name>.tsv`: (user index, candidate item indices), in file order.
    pub fn candidates(&self, dir: &Path, name: &str) -> Result<Vec<(usize, Vec<usize>)>> {
        let path = dir.join("candidates").join(format!("{name}.tsv"));
        let text = read(&path)?;
        // Candidate files have no header line (unlike items.tsv and sequences.tsv); a first
        // line that names no known user is taken for one and skipped.
        let first_is_header = text.lines().next().is_some_and(|l| !self.user_index.contains_key(l.split('\t').next().unwrap_or("").trim()));
        text.lines()
            .enumerate()
            .skip(usize::from(first_is_header))
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(line, row)| {
                let (user, items) = row.split_once('\t').ok_or_else(|| data_error(&path, line, "expected user<TAB>items"))?;
                let user = *self.user_index.get(user.trim()).ok_or_else(|| data_error(&path, line, format!("unknown user {user:?}")))?;
                let items = items
                    .split_whitespace()
                    .map(|id| self.index.get(id).copied().ok_or_else(|| data_error(&path, line, format!("unknown item {id:?}"))))
                    .collect::<Result<Vec<_>>>()?;
                Ok((user, items))
            })
            .collect()
    }

    /// A user's history for `split` and the target, or `None` when too short.
    pub fn history(&self, user: usize, split: Split) -> Option<(&[usize], usize)> {
        let items = &self.users.get(user)?.1;
        let cut = items.len().checked_sub(split.held_out())?;
        if cut == 0 {
            return None;
        }
        Some((&items[..cut], items[cut]))
    }

    /// Items a user may train on: the sequence without its validation and test targets.
    pub fn training_part(&self, user: usize) -> &[usize] {
        self.trainable(user, Split::Validation)
    }

    /// Items a model that is evaluated on `split` may train on: the sequence without that
    /// split's target and anything after it. `Split::Test` keeps the validation target (the
    /// final fit, once validation has chosen the hyper-parameters).
    pub fn trainable(&self, user: usize, split: Split) -> &[usize] {
        let items = &self.users[user].1;
        &items[..items.len().saturating_sub(split.held_out())]
    }

    /// Session events for item indices (every interaction counts as a purchase: the review
    /// data sets record bought items).
    pub fn events(&self, items: &[usize]) -> Vec<Event> {
        items
            .iter()
            .enumerate()
            .map(|(i, &item)| Event {
                item_id: self.ids[item].clone(),
                kind: EventKind::Purchase,
                ts: i as f64,
                title: Some(self.titles[item].clone()),
            })
            .collect()
    }

    /// Candidates for item indices, in the given order, with titles.
    pub fn candidate_list(&self, items: &[usize]) -> Vec<Candidate> {
        items
            .iter()
            .map(|&item| Candidate {
                id: self.ids[item].clone(),
                title: self.titles[item].clone(),
                category: None,
                price: None,
                server_score: None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(dir: &Path, candidates: &str) -> Dataset {
        std::fs::create_dir_all(dir.join("candidates")).unwrap();
        std::fs::write(dir.join("items.tsv"), "item_id\ttitle\na\tA\nb\tB\nc\tC\n").unwrap();
        std::fs::write(dir.join("sequences.tsv"), "user_id\tseq\nu1\ta b c\nu2\tc b a\n").unwrap();
        std::fs::write(dir.join("candidates/x.tsv"), candidates).unwrap();
        Dataset::load(dir).unwrap()
    }

    #[test]
    fn candidate_files_keep_their_first_line_and_tolerate_a_header() {
        let dir = std::env::temp_dir().join(format!("pocketrank-data-{}", std::process::id()));
        let data = tiny(&dir, "u1\tc a\nu2\tb\n");
        assert_eq!(data.candidates(&dir, "x").unwrap(), vec![(0, vec![2, 0]), (1, vec![1])]);
        let data = tiny(&dir, "user_id\tcandidates\nu2\tb\n");
        assert_eq!(data.candidates(&dir, "x").unwrap(), vec![(1, vec![1])]);
        assert_eq!(data.history(0, Split::Test), Some((&[0usize, 1][..], 2)));
        assert_eq!(data.training_part(0), &[0]);
        assert_eq!(data.trainable(0, Split::Test), &[0, 1]);
        assert_eq!(data.trainable(1, Split::Test), &[2, 1]);
    }
}
