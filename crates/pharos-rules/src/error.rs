//! Errors of loading rule files.

/// A rule file that cannot be used, with where the problem is so it can be fixed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The file cannot be read (missing, unreadable, a bad glob).
    #[error("rule file {file}: {message}")]
    Read {
        /// The path or pattern.
        file: String,
        /// What went wrong.
        message: String,
    },
    /// The YAML does not have the rule file shape.
    #[error(
        "rule file {file}: {message} (expected `groups: [{{name, interval?, limit?, rules: [...]}}]`)"
    )]
    Syntax {
        /// The path.
        file: String,
        /// The YAML parser's message.
        message: String,
    },
    /// A group is wrong.
    #[error("rule file {file}, group {group:?}: {message}")]
    Group {
        /// The path.
        file: String,
        /// Group name.
        group: String,
        /// What to fix.
        message: String,
    },
    /// A rule is wrong.
    #[error("rule file {file}, group {group:?}, rule {rule:?} (#{index}): {message}")]
    Rule {
        /// The path.
        file: String,
        /// Group name.
        group: String,
        /// The rule's `record` or `alert` name (empty when it has none).
        rule: String,
        /// Position of the rule in the group, from 1.
        index: usize,
        /// What to fix.
        message: String,
    },
}

/// A template that cannot be compiled (a construct outside the supported subset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template {text:?}: {message}")]
pub struct TemplateError {
    /// The template text.
    pub text: String,
    /// What is not supported or wrong.
    pub message: String,
}
