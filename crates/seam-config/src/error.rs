//! Configuration errors that say where: file, line, column and key.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line and column, when the error has a place in the text.
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Dotted key path, e.g. `connectors.centra.token`.
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn unlocated(file: &Path, key: &str, message: impl Into<String>) -> Self {
        ConfigError {
            file: file.to_path_buf(),
            line: None,
            column: None,
            key: key.to_string(),
            message: message.into(),
        }
    }

    /// An error at byte offset `at` of `text`.
    pub fn at(file: &Path, text: &str, at: usize, key: &str, message: impl Into<String>) -> Self {
        let (line, column) = line_and_column(text, at);
        ConfigError {
            file: file.to_path_buf(),
            line: Some(line),
            column: Some(column),
            key: key.to_string(),
            message: message.into(),
        }
    }
}

fn line_and_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |newline| before.len() - newline - 1)
        + 1;
    (line, column)
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": {}", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every error found in one file, in the order they appear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}
