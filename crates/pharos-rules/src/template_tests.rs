use std::collections::BTreeMap;

use super::*;

fn render(text: &str, value: f64) -> String {
    let labels = BTreeMap::from([("job".to_owned(), "api".to_owned())]);
    let external = BTreeMap::from([("cluster".to_owned(), "eu-1".to_owned())]);
    let context = Context {
        labels: &labels,
        external_labels: &external,
        value,
    };
    Template::compile(text).unwrap().render(&context)
}

#[test]
fn the_supported_subset_renders() {
    assert_eq!(
        render("{{ $labels.job }} / {{ .Labels.job }}", 1.0),
        "api / api"
    );
    assert_eq!(render("{{ $value }} {{ .Value }}", 0.5), "0.5 0.5");
    assert_eq!(render("{{ $value | humanize }}", 1234567.0), "1.235M");
    assert_eq!(render("{{ humanize $value }}", 0.001), "1m");
    assert_eq!(render("{{ $value | humanizePercentage }}", 0.25), "25%");
    assert_eq!(
        render("{{ $value | humanizeDuration }}", 3725.0),
        "1h 2m 5s"
    );
    assert_eq!(render("{{ printf \"%.2f\" $value }}", 1.0 / 3.0), "0.33");
    assert_eq!(render("{{ $value | printf \"%.1f%%\" }}", 12.34), "12.3%");
    assert_eq!(render("{{ $externalLabels.cluster }}", 0.0), "eu-1");
    assert_eq!(render("{{ $labels.missing }}", 0.0), "");
    assert_eq!(render("a {{- $labels.job -}} b", 0.0), "aapib");
    assert_eq!(render("no actions", 0.0), "no actions");
    // Outside actions `}}` is text, as in Go.
    assert_eq!(render("a }} b", 0.0), "a }} b");
}

#[test]
fn unknown_constructs_fail_at_compile_time() {
    for text in [
        "{{ range $labels }}",
        "{{ $labels }}",
        "{{ .Foo }}",
        "{{ if $value }}x{{ end }}",
        "{{ $value | toUpper }}",
        "{{ printf \"%q\" $value }}",
        "{{ printf \"%s %s\" $value }}",
        "{{ printf $value }}",
        "{{ }}",
        "{{ $value | }}",
        "{{ \"open }}",
        "{{ $labels.job",
    ] {
        assert!(Template::compile(text).is_err(), "{text} should be refused");
    }
}

#[test]
fn wrong_values_render_an_error_instead_of_panicking() {
    let labels = BTreeMap::from([("job".to_owned(), "api".to_owned())]);
    let none = BTreeMap::new();
    let context = Context {
        labels: &labels,
        external_labels: &none,
        value: f64::NAN,
    };
    let text = Template::compile("{{ $labels.job | humanize }}")
        .unwrap()
        .render(&context);
    assert!(text.contains("error expanding template"), "{text}");
    let nan = Template::compile("{{ $value | humanizeDuration }}")
        .unwrap()
        .render(&context);
    assert_eq!(nan, "NaN");
}
