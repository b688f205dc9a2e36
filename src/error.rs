//! One error type for the whole library: an opaque [`Error`] with a [`ErrorKind`] and a
//! message that says what was wrong and, where it helps, what to do.

use std::fmt;

/// What went wrong, coarsely; the message says exactly what.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A caller-supplied value is missing or malformed; the message names the field.
    InvalidInput,
    /// A model bundle is truncated, tampered with, of another format version, or incomplete.
    Bundle,
    /// The model could not run (a backend or shape failure).
    Model,
    /// Reading or writing a file failed (native tools only).
    Io,
    /// A data set file does not follow the expected format (native tools only).
    Data,
}

/// The library's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

/// The library's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error of `kind` with a complete, human-readable message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into() }
    }

    /// A bad input value: `field` is a path such as `candidates[3].id`.
    pub fn invalid(field: impl fmt::Display, problem: impl fmt::Display) -> Self {
        Error::new(ErrorKind::InvalidInput, format!("{field}: {problem}"))
    }

    /// A bundle that cannot be used.
    pub fn bundle(problem: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Bundle, format!("model bundle rejected: {problem}"))
    }

    /// A failure while running the model.
    pub fn model(problem: impl fmt::Display) -> Self {
        Error::new(ErrorKind::Model, format!("model failed: {problem}"))
    }

    /// A failed file operation on `path` (native tools only).
    pub fn io(path: &std::path::Path, error: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("{}: {error}", path.display()))
    }

    /// What kind of error this is.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The kind's stable code, for callers that branch on it (JS gets it as `error.code`).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }
}

impl ErrorKind {
    /// A stable code for each kind: it never changes once released, whatever the message says.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid-input",
            ErrorKind::Bundle => "bundle",
            ErrorKind::Model => "model",
            ErrorKind::Io => "io",
            ErrorKind::Data => "data",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_names_the_field_first() {
        let e = Error::invalid("candidates[3].id", "empty");
        assert_eq!(e.to_string(), "candidates[3].id: empty");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.code(), "invalid-input");
        assert_eq!(Error::bundle("x").code(), "bundle");
    }
}
