//! The Perses naming rule shared by resource names, project names and panel keys.

/// Longest accepted name, in characters.
pub const MAX_NAME_LENGTH: usize = 75;

/// The pattern Perses documents for names (quoted in error messages).
pub const NAME_PATTERN: &str = "^[a-zA-Z0-9_.-]+$";

/// Checks `name` against the Perses rules: not empty, at most 75 characters,
/// only `[a-zA-Z0-9_.-]`, no `..`, and no `.` at either end.
///
/// The error is a sentence meant for the API caller.
pub fn validate_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("name cannot be empty".to_string());
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(format!(
            "cannot contain more than {MAX_NAME_LENGTH} characters"
        ));
    }
    if !name.chars().all(is_name_char) {
        return Err(format!(
            "{name:?} is not a correct name. It should match the regexp: {NAME_PATTERN}"
        ));
    }
    // Dots are allowed, but `..` and edge dots would let a name escape a storage path.
    if name.contains("..") {
        return Err(format!(
            "{name:?} is not a correct name: it cannot contain \"..\""
        ));
    }
    if name.starts_with('.') || name.ends_with('.') {
        return Err(format!(
            "{name:?} is not a correct name: it cannot start or end with \".\""
        ));
    }
    Ok(())
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_typical_names() {
        for name in ["demo", "IncredibleProject", "node-exporter_v1.2", "a", "0"] {
            assert_eq!(validate_name(name), Ok(()), "{name}");
        }
        assert_eq!(validate_name(&"a".repeat(75)), Ok(()));
    }

    #[test]
    fn rejects_empty_name() {
        assert_eq!(validate_name(""), Err("name cannot be empty".to_string()));
    }

    #[test]
    fn rejects_names_longer_than_75_characters() {
        assert_eq!(
            validate_name(&"a".repeat(76)),
            Err("cannot contain more than 75 characters".to_string())
        );
    }

    #[test]
    fn rejects_characters_outside_the_pattern_with_perses_message() {
        assert_eq!(
            validate_name("f o o"),
            Err(
                "\"f o o\" is not a correct name. It should match the regexp: ^[a-zA-Z0-9_.-]+$"
                    .to_string()
            )
        );
        assert!(validate_name("a/b").is_err());
        assert!(validate_name("é").is_err());
    }

    #[test]
    fn rejects_double_dots() {
        let message = validate_name("a..b").unwrap_err();
        assert!(message.contains("cannot contain \"..\""), "{message}");
    }

    #[test]
    fn rejects_leading_or_trailing_dot() {
        for name in [".hidden", "trailing."] {
            let message = validate_name(name).unwrap_err();
            assert!(message.contains("cannot start or end with"), "{message}");
        }
    }
}
