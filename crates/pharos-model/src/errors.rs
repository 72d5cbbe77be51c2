//! Validation problems, each tied to the JSON path of the offending value.

use std::fmt;

/// One problem found in a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// JSON path of the offending value, e.g. `spec.panels.cpu.spec.plugin.kind` or
    /// `spec.layouts[0].spec.items[2].content.$ref`. Empty for the whole body.
    pub path: String,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl ValidationError {
    /// Creates a problem at `path`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one resource; displayed as one `path: message` per line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl std::error::Error for ValidationErrors {}

impl ValidationErrors {
    /// True when no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of problems.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Iterates over the problems in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, ValidationError> {
        self.0.iter()
    }

    /// The problem recorded for exactly `path`, if any.
    pub fn at(&self, path: &str) -> Option<&ValidationError> {
        self.0.iter().find(|error| error.path == path)
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl From<Vec<ValidationError>> for ValidationErrors {
    fn from(errors: Vec<ValidationError>) -> Self {
        Self(errors)
    }
}

impl IntoIterator for ValidationErrors {
    type Item = ValidationError;
    type IntoIter = std::vec::IntoIter<ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a ValidationError;
    type IntoIter = std::slice::Iter<'a, ValidationError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_joins_path_and_message_lines() {
        let errors = ValidationErrors(vec![
            ValidationError::new("spec.panels.a.kind", "must be \"Panel\""),
            ValidationError::new("", "the body must be a JSON object"),
            ValidationError::new("spec.duration", "bad"),
        ]);
        assert_eq!(
            errors.to_string(),
            "spec.panels.a.kind: must be \"Panel\"\nthe body must be a JSON object\nspec.duration: bad"
        );
    }

    #[test]
    fn usable_as_std_error() {
        let errors = ValidationErrors(vec![ValidationError::new("kind", "is required")]);
        let boxed: Box<dyn std::error::Error> = Box::new(errors);
        assert_eq!(boxed.to_string(), "kind: is required");
    }

    #[test]
    fn at_finds_problem_by_exact_path() {
        let errors = ValidationErrors(vec![ValidationError::new("spec.a", "x")]);
        assert_eq!(errors.at("spec.a").map(|e| e.message.as_str()), Some("x"));
        assert!(errors.at("spec").is_none());
    }
}
