//! Warnings and infos attached to a query result (Prometheus "annotations").

use std::collections::BTreeMap;

/// Whether an annotation is a warning or an info.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AnnotationKind {
    /// Something probably went wrong; the result may be misleading.
    Warning,
    /// A hint; the result is fine but the query may not do what the user expects.
    Info,
}

/// One annotation, already rendered the way the Prometheus API returns it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Annotation {
    /// Warning or info.
    pub kind: AnnotationKind,
    /// The full text, e.g. `PromQL warning: ... (1:5)`.
    pub message: String,
}

/// The set of annotations collected while evaluating one query (deduplicated by text).
#[derive(Debug, Clone, Default)]
pub(crate) struct Annotations {
    items: BTreeMap<String, AnnotationKind>,
}

impl Annotations {
    pub(crate) fn warn(&mut self, text: impl Into<String>) {
        self.items.insert(
            format!("PromQL warning: {}", text.into()),
            AnnotationKind::Warning,
        );
    }

    pub(crate) fn info(&mut self, text: impl Into<String>) {
        self.items.insert(
            format!("PromQL info: {}", text.into()),
            AnnotationKind::Info,
        );
    }

    pub(crate) fn into_vec(self) -> Vec<Annotation> {
        self.items
            .into_iter()
            .map(|(message, kind)| Annotation { kind, message })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annotations_are_prefixed_and_deduplicated() {
        let mut a = Annotations::default();
        a.warn("x (1:1)");
        a.warn("x (1:1)");
        a.info("y");
        let v = a.into_vec();
        assert_eq!(v.len(), 2);
        assert!(
            v.iter().any(
                |x| x.message == "PromQL warning: x (1:1)" && x.kind == AnnotationKind::Warning
            )
        );
        assert!(
            v.iter()
                .any(|x| x.message == "PromQL info: y" && x.kind == AnnotationKind::Info)
        );
    }
}
