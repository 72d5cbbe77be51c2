//! Checking a LogQL query before it is sent: a stream selector `{name="value", ...}` optionally
//! followed by line filters (`|= "text"`, `!= "text"`, `|~ "regex"`, `!~ "regex"`). Anything
//! else is refused here with what to write instead: metric queries answer numbers, not lines,
//! and parser or formatting stages (`| json`, `| line_format`) change the line the access-log
//! parsers expect.

/// Why a query is not a stream selector with line filters.
pub fn validate_selector(query: &str) -> Result<(), String> {
    let mut rest = query.trim_start();
    if rest.is_empty() {
        return Err("the selector is empty; write one like {job=\"nginx\"}".to_owned());
    }
    if !rest.starts_with('{') {
        return Err(format!(
            "{query:?} is not a stream selector: it must start with {{ (metric queries such as rate() or count_over_time() answer numbers, not log lines)"
        ));
    }
    rest = &rest[1..];
    let mut usable = false;
    let mut after_comma = false;
    loop {
        rest = rest.trim_start();
        if !after_comma && let Some(after) = rest.strip_prefix('}') {
            rest = after;
            break;
        }
        let name_len = rest
            .char_indices()
            .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
            .map_or(rest.len(), |(i, _)| i);
        if name_len == 0 {
            return Err(format!(
                "{query:?}: expected a label name inside the selector"
            ));
        }
        rest = rest[name_len..].trim_start();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))
            .ok_or_else(|| format!("{query:?}: expected =, !=, =~ or !~ after a label name"))?;
        rest = rest[op.len()..].trim_start();
        let (value, after) = string(rest).ok_or_else(|| {
            format!("{query:?}: a label value must be a quoted string (\"...\" or `...`)")
        })?;
        rest = after.trim_start();
        usable |= (op == "=" && !value.is_empty())
            || (op == "=~" && !matches!(value.as_str(), "" | ".*"));
        after_comma = rest.starts_with(',');
        if let Some(after) = rest.strip_prefix(',') {
            rest = after;
        } else if !rest.starts_with('}') {
            return Err(format!("{query:?}: expected , or }} after a label matcher"));
        }
    }
    if !usable {
        return Err(format!(
            "{query:?}: the selector needs at least one matcher that cannot match an empty value, like {{job=\"nginx\"}} (Loki refuses the others)"
        ));
    }
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(());
        }
        let Some(op) = ["|=", "!=", "|~", "!~"]
            .into_iter()
            .find(|op| rest.starts_with(op))
        else {
            return Err(format!(
                "{query:?}: only line filters (|= \"text\", != \"text\", |~ \"regex\", !~ \"regex\") may follow the selector; parsers and formatting stages (| json, | line_format, ...) change the lines the access-log parsers read"
            ));
        };
        rest = rest[op.len()..].trim_start();
        let (_, after) = string(rest)
            .ok_or_else(|| format!("{query:?}: a line filter needs a quoted string after {op}"))?;
        rest = after;
    }
}

/// A quoted string at the start of `text` (`"..."` with backslash escapes, or `` `...` ``
/// raw): its value and what follows.
fn string(text: &str) -> Option<(String, &str)> {
    let mut chars = text.char_indices();
    let (_, quote) = chars.next()?;
    if quote != '"' && quote != '`' {
        return None;
    }
    let mut value = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Some((value, &text[i + c.len_utf8()..])),
            '\\' if quote == '"' => value.push(chars.next()?.1),
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::validate_selector;

    #[test]
    fn selectors_with_line_filters_pass() {
        for query in [
            r#"{job="nginx"}"#,
            r#"  { job = "nginx" , namespace!="kube-system", app=~"api|web" } "#,
            r#"{job="nginx"} |= "GET" != "/healthz" |~ `5\d\d` !~ "bot""#,
            r#"{container="ingress", app=~"a.+"}"#,
            r#"{job="a\"b"}"#,
        ] {
            assert_eq!(validate_selector(query), Ok(()), "{query}");
        }
    }

    #[test]
    fn metric_queries_parsers_and_broken_selectors_are_refused_with_the_reason() {
        for (query, says) in [
            ("", "empty"),
            (r#"rate({job="nginx"}[5m])"#, "metric queries"),
            (r#"sum(count_over_time({job="x"}[1m]))"#, "metric queries"),
            (r#"{job="nginx"} | json"#, "only line filters"),
            (
                r#"{job="nginx"} | line_format "{{.x}}""#,
                "only line filters",
            ),
            (r#"{job="nginx"} |= GET"#, "quoted string"),
            (r#"{job=nginx}"#, "quoted string"),
            (r#"{job="nginx""#, "expected , or }"),
            (r#"{job=="nginx"}"#, "quoted string"),
            (r#"{job="nginx",}"#, "label name"),
            (r#"{}"#, "at least one matcher"),
            (r#"{job=""}"#, "at least one matcher"),
            (r#"{job=~".*"}"#, "at least one matcher"),
            (r#"{job!="a"}"#, "at least one matcher"),
            (r#"{9job="a"}"#, "label name"),
            (r#"{job="unterminated}"#, "quoted string"),
        ] {
            let error = validate_selector(query).expect_err(query);
            assert!(error.contains(says), "{query}: {error}");
        }
    }
}
