//! Output budgeting: a tool result is cut to a size a model can read (about four characters
//! a token) and says what was cut. Long strings are shortened; then, while the result is too
//! big, the largest array is halved — a list of `[time, value]` points keeps evenly spaced
//! points (first and last included), any other list keeps its first half, which is its top
//! half because tools sort what they return (top-k). Every cut is listed in `_cut` with how
//! many items were kept of how many, so the model can say the answer is partial.

use serde_json::{Map, Value};

/// How much of a result a model gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The most characters of JSON (≈ 4 per token).
    pub max_chars: usize,
    /// The most characters of any one string.
    pub max_string: usize,
}

impl Default for Budget {
    /// About 2,000 tokens.
    fn default() -> Self {
        Self::tokens(2_000)
    }
}

impl Budget {
    /// A budget of about `tokens` tokens.
    pub fn tokens(tokens: usize) -> Self {
        let max_chars = tokens.saturating_mul(4).max(256);
        Self {
            max_chars,
            max_string: (max_chars / 4).clamp(64, 2_000),
        }
    }
}

/// A result after budgeting.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The value, with `_cut` notes when anything was cut.
    pub value: Value,
    /// Whether anything was cut.
    pub truncated: bool,
}

/// At most this many halvings: each removes at least one element, and the size check is
/// a full serialisation, so the loop stays cheap and bounded even for hostile shapes.
const MAX_CUTS: usize = 200;

/// Cuts `value` to `budget`.
pub fn fit(mut value: Value, budget: &Budget) -> Fitted {
    let mut notes = Vec::new();
    shorten_strings(&mut value, budget.max_string, "", &mut notes);
    for _ in 0..MAX_CUTS {
        if size(&value) <= budget.max_chars {
            break;
        }
        let Some(path) = largest_array(&value, String::new()).map(|(path, _)| path) else {
            break;
        };
        let Some(array) = pointer_mut(&mut value, &path) else {
            break;
        };
        let before = array.len();
        if is_points(array) {
            thin_points(array);
        } else {
            array.truncate(before.div_ceil(2));
        }
        let after = array.len();
        let label = if path.is_empty() {
            "the result".to_owned()
        } else {
            path.clone()
        };
        record(&mut notes, &label, after, before);
    }
    if size(&value) > budget.max_chars {
        // Nothing left to halve (one huge object): say so rather than send it.
        let text = value.to_string();
        let kept: String = text.chars().take(budget.max_chars / 2).collect();
        notes.push(format!(
            "the result was {} characters; only its first {} are shown",
            text.len(),
            kept.len()
        ));
        value = Value::String(kept);
    }
    let truncated = !notes.is_empty();
    if truncated {
        let notes = Value::Array(notes.into_iter().map(Value::String).collect());
        value = match value {
            Value::Object(mut map) => {
                map.insert("_cut".to_owned(), notes);
                Value::Object(map)
            }
            other => {
                let mut map = Map::new();
                map.insert("result".to_owned(), other);
                map.insert("_cut".to_owned(), notes);
                Value::Object(map)
            }
        };
    }
    Fitted { value, truncated }
}

fn size(value: &Value) -> usize {
    value.to_string().len()
}

/// Merges repeated cuts of one path into one note ("kept 25 of 200").
fn record(notes: &mut Vec<String>, label: &str, kept: usize, before: usize) {
    let prefix = format!("{label}: kept ");
    if let Some(note) = notes.iter_mut().find(|n| n.starts_with(&prefix)) {
        // "…: kept K of N …": keep the original N.
        let original = note
            .rsplit_once(" of ")
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(before);
        *note = format!("{prefix}{kept} of {original} (the rest not shown)");
    } else {
        notes.push(format!("{prefix}{kept} of {before} (the rest not shown)"));
    }
}

fn shorten_strings(value: &mut Value, max: usize, path: &str, notes: &mut Vec<String>) {
    match value {
        Value::String(text) if text.chars().count() > max => {
            let total = text.chars().count();
            *text = text.chars().take(max).collect::<String>() + "…";
            let label = if path.is_empty() { "the text" } else { path };
            notes.push(format!("{label}: kept {max} of {total} characters"));
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                shorten_strings(item, max, &format!("{path}/{i}"), notes);
            }
        }
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                shorten_strings(item, max, &format!("{path}/{}", escape(key)), notes);
            }
        }
        _ => {}
    }
}

/// JSON pointer escaping of one key.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The JSON pointer and serialised size of the largest array that can still shrink.
fn largest_array(value: &Value, path: String) -> Option<(String, usize)> {
    let mut best: Option<(String, usize)> = None;
    let mut consider = |candidate: Option<(String, usize)>| {
        if let Some((p, s)) = candidate
            && best.as_ref().is_none_or(|(_, b)| s > *b)
        {
            best = Some((p, s));
        }
    };
    match value {
        Value::Array(items) => {
            if items.len() > 1 {
                consider(Some((path.clone(), size(value))));
            }
            for (i, item) in items.iter().enumerate() {
                consider(largest_array(item, format!("{path}/{i}")));
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                consider(largest_array(item, format!("{path}/{}", escape(key))));
            }
        }
        _ => {}
    }
    best
}

fn pointer_mut<'v>(value: &'v mut Value, path: &str) -> Option<&'v mut Vec<Value>> {
    value.pointer_mut(path).and_then(Value::as_array_mut)
}

/// `[[t, v], …]` or `[{"t":…, "v":…}, …]` with numbers: a series' points.
fn is_points(items: &[Value]) -> bool {
    items.iter().take(4).all(|item| match item {
        Value::Array(pair) => pair.len() == 2,
        _ => false,
    })
}

/// Keeps every other point, the first and the last included.
fn thin_points(items: &mut Vec<Value>) {
    let last = items.pop();
    let mut index = 0;
    items.retain(|_| {
        index += 1;
        index % 2 == 1
    });
    if let Some(last) = last {
        items.push(last);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn small_results_pass_untouched() {
        let value = json!({"series": [{"labels": {"a": "b"}, "last": 1.0}]});
        let fitted = fit(value.clone(), &Budget::default());
        assert_eq!(fitted.value, value);
        assert!(!fitted.truncated);
    }

    #[test]
    fn many_series_keep_the_top_and_say_how_many_were_left_out() {
        let series: Vec<Value> = (0..500)
            .map(|i| json!({"labels": {"pod": format!("pod-{i:03}")}, "max": 500 - i}))
            .collect();
        let fitted = fit(json!({"series": series}), &Budget::tokens(500));
        assert!(fitted.truncated);
        assert!(fitted.value.to_string().len() <= 2_000 + 200);
        let kept = fitted.value["series"].as_array().unwrap();
        assert_eq!(
            kept[0]["labels"]["pod"], "pod-000",
            "the top of the list stays"
        );
        let note = fitted.value["_cut"][0].as_str().unwrap();
        assert!(
            note.starts_with(&format!("/series: kept {} of 500", kept.len())),
            "{note}"
        );
    }

    #[test]
    fn points_are_thinned_evenly_with_both_ends_kept() {
        let points: Vec<Value> = (0..1_000).map(|i| json!([i, f64::from(i)])).collect();
        let fitted = fit(
            json!({"series": [{"labels": {}, "points": points}]}),
            &Budget::tokens(300),
        );
        let kept = fitted.value["series"][0]["points"].as_array().unwrap();
        assert!(kept.len() < 1_000);
        assert_eq!(kept[0], json!([0, 0.0]));
        assert_eq!(kept.last().unwrap(), &json!([999, 999.0]));
        // Evenly spaced: the gaps between kept times are equal (but the last).
        let gap = kept[1][0].as_i64().unwrap() - kept[0][0].as_i64().unwrap();
        assert!(gap > 1);
        assert!(
            kept.windows(2)
                .rev()
                .skip(1)
                .all(|w| w[1][0].as_i64().unwrap() - w[0][0].as_i64().unwrap() == gap)
        );
    }

    #[test]
    fn long_strings_and_unshrinkable_objects_are_cut_with_a_note() {
        let fitted = fit(json!({"text": "x".repeat(50_000)}), &Budget::tokens(100));
        assert!(fitted.truncated);
        assert!(fitted.value.to_string().len() < 2_000);

        let mut wide = Map::new();
        for i in 0..2_000 {
            wide.insert(format!("key{i}"), json!(i));
        }
        let fitted = fit(Value::Object(wide), &Budget::tokens(100));
        assert!(fitted.truncated);
        assert!(fitted.value["_cut"].to_string().contains("first"));
    }
}
