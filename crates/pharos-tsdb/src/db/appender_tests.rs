use super::*;
use crate::db::Options;
use crate::labels::LabelError;
use crate::matcher::Matcher;

fn open() -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), Options::default()).expect("open");
    (dir, db)
}

fn stored(db: &Db, job: &str) -> Vec<(i64, f64)> {
    db.select(&[Matcher::equal("job", job)], i64::MIN, i64::MAX)
        .expect("select")
        .into_iter()
        .flat_map(|s| s.samples.into_iter().map(|x| (x.t, x.v)))
        .collect()
}

fn no_refusals(error: AppendError, labels: &Labels) {
    panic!("unexpected refusal {error} for {labels}");
}

#[test]
fn borrowed_labels_find_the_same_series_sorted_or_not() {
    let (_dir, db) = open();
    let mut pairs = Vec::new();
    let mut appender = db.appender();
    pairs.extend([("job", "api"), ("__name__", "up"), ("env", "")]);
    let accepted = appender.append_series_pairs(&mut pairs, [(1000, 1.0)], no_refusals);
    assert_eq!(accepted, Ok(1));
    assert_eq!(
        pairs,
        [("__name__", "up"), ("job", "api")],
        "sorted in place"
    );
    // Same series in the same batch, sent sorted: joins the pending entry.
    pairs.clear();
    pairs.extend([("__name__", "up"), ("job", "api")]);
    let accepted = appender.append_series_pairs(&mut pairs, [(2000, 2.0)], no_refusals);
    assert_eq!(accepted, Ok(1));
    // And by owned labels too.
    let owned = Labels::new([("__name__", "up"), ("job", "api")]).expect("labels");
    appender.append(&owned, 3000, 3.0).expect("append");
    let summary = appender.commit().expect("commit");
    assert_eq!((summary.samples, summary.new_series), (3, 1));

    // A later batch finds the head series from unsorted borrowed labels.
    let mut appender = db.appender();
    pairs.clear();
    pairs.extend([("job", "api"), ("__name__", "up")]);
    let accepted = appender.append_series_pairs(&mut pairs, [(4000, 4.0)], no_refusals);
    assert_eq!(accepted, Ok(1));
    let summary = appender.commit().expect("commit");
    assert_eq!((summary.samples, summary.new_series), (1, 0));
    assert_eq!(
        stored(&db, "api"),
        [(1000, 1.0), (2000, 2.0), (3000, 3.0), (4000, 4.0)]
    );
    assert_eq!(db.head.stats().num_series, 1);
}

#[test]
fn borrowed_and_owned_appends_decide_alike() {
    let (_dir, db) = open();
    let owned = Labels::new([("__name__", "m"), ("job", "a")]).expect("labels");
    let mut appender = db.appender();
    appender.append(&owned, 5000, 5.0).expect("append");
    appender.commit().expect("commit");

    let mut appender = db.appender();
    let mut refusals = Vec::new();
    let mut pairs = vec![("job", "a"), ("__name__", "m")];
    let accepted = appender.append_series_pairs(
        &mut pairs,
        [(5000, 5.0), (5000, 9.0), (6000, 6.0)],
        |error, labels| refusals.push(format!("{error}; {labels}")),
    );
    assert_eq!(accepted, Ok(2));
    assert_eq!(refusals.len(), 1);
    assert!(
        refusals[0].starts_with("duplicate sample for timestamp 5000"),
        "{refusals:?}"
    );
    assert!(refusals[0].ends_with(r#"m{job="a"}"#), "{refusals:?}");
    appender.commit().expect("commit");
    assert_eq!(stored(&db, "a"), [(5000, 5.0), (6000, 6.0)]);
}

#[test]
fn invalid_or_empty_borrowed_labels_are_refused_before_any_sample() {
    let (_dir, db) = open();
    let mut appender = db.appender();
    let cases: [(&[(&str, &str)], SeriesLabelsError); 4] = [
        (
            &[("__name__", "x"), ("1abc", "v")],
            LabelError::InvalidName("1abc".into()).into(),
        ),
        (
            &[("a", "1"), ("__name__", "x"), ("a", "2")],
            LabelError::DuplicateName("a".into()).into(),
        ),
        (
            &[("__name__", "bad-name")],
            LabelError::InvalidMetricName("bad-name".into()).into(),
        ),
        (&[("__name__", ""), ("job", "")], SeriesLabelsError::Empty),
    ];
    for (sent, expected) in cases {
        let mut pairs = sent.to_vec();
        let result = appender.append_series_pairs(&mut pairs, [(1000, 1.0)], no_refusals);
        assert_eq!(result, Err(expected), "{sent:?}");
    }
    assert!(appender.is_empty());
    assert_eq!(db.head.stats().too_old_total, 0);
}

#[test]
fn series_differing_in_one_value_stay_apart() {
    let (_dir, db) = open();
    let mut appender = db.appender();
    let mut pairs = Vec::new();
    for (pod, t) in [("a", 1000), ("b", 1000), ("a", 2000)] {
        pairs.clear();
        pairs.extend([("job", "p"), ("pod", pod), ("__name__", "m")]);
        let accepted = appender.append_series_pairs(&mut pairs, [(t, 1.0)], no_refusals);
        assert_eq!(accepted, Ok(1));
    }
    let summary = appender.commit().expect("commit");
    assert_eq!((summary.samples, summary.new_series), (3, 2));
    let pods: Vec<(String, usize)> = db
        .select(&[Matcher::equal("job", "p")], i64::MIN, i64::MAX)
        .expect("select")
        .into_iter()
        .map(|s| {
            let pod = s.labels.get("pod").unwrap_or_default().to_owned();
            (pod, s.samples.len())
        })
        .collect();
    assert_eq!(pods, [("a".to_owned(), 2), ("b".to_owned(), 1)]);
}
