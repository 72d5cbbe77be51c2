//! Table-driven tests on the real sample lines of `testdata/logs/samples`.

#![allow(clippy::unwrap_used)]

use super::*;

macro_rules! sample {
    ($file:literal) => {
        include_str!(concat!("../../../../testdata/logs/samples/", $file))
    };
}

fn lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.trim().is_empty()).collect()
}

/// `(line, format, expected)`; expected `Ok((latency_ms, status, timestamp_ms))`.
type Case<'a> = (
    &'a str,
    Format,
    Result<(f64, Option<u16>, Option<i64>), Reject>,
);

fn check(cases: &[Case<'_>]) {
    let fields = JsonFields::default();
    for (line, format, expected) in cases {
        for format in [*format, Format::Auto] {
            let got =
                parse_line(line, format, &fields).map(|p| (p.latency_ms, p.status, p.timestamp_ms));
            match (&got, expected) {
                (Ok((ms, status, ts)), Ok((want_ms, want_status, want_ts))) => {
                    assert!(
                        (ms - want_ms).abs() < 1e-9,
                        "{format:?} {line}: {ms} != {want_ms}"
                    );
                    assert_eq!(status, want_status, "{format:?} {line}");
                    if want_ts.is_some() {
                        assert_eq!(ts, want_ts, "{format:?} {line}");
                    }
                }
                _ => assert_eq!(&got, expected, "{format:?} {line}"),
            }
        }
    }
}

/// 2021-04-23T14:59:24Z and friends, as Unix ms.
const T_NGINX: i64 = 1_619_189_964_000;
const T_INGRESS: i64 = 1_679_151_600_000;

#[test]
fn nginx_combined_and_main_with_request_time() {
    let combined = lines(sample!("nginx-combined.log"));
    let main = lines(sample!("nginx-main.log"));
    let with_time = |line: &str, suffix: &str| format!("{line} {suffix}");
    let a = with_time(combined[0], "0.123");
    let b = with_time(combined[0], "0.250 0.249");
    let c = with_time(combined[1], "0.000 -");
    let d = with_time(combined[2], "1.5");
    let e = with_time(main[0], "0.004");
    let f = with_time(main[1], "0.010 0.009");
    let g = with_time(combined[0], "-1.0");
    let h = with_time(combined[0], "99999.0");
    check(&[
        (&a, Format::Nginx, Ok((123.0, Some(200), Some(T_NGINX)))),
        (&b, Format::Nginx, Ok((250.0, Some(200), None))),
        (&c, Format::Nginx, Ok((0.0, Some(400), None))),
        (&d, Format::Nginx, Ok((1500.0, Some(400), None))),
        (&e, Format::Nginx, Ok((4.0, Some(200), None))),
        (&f, Format::Nginx, Ok((10.0, Some(200), None))),
        (&g, Format::Nginx, Err(Reject::NegativeLatency)),
        (&h, Format::Nginx, Err(Reject::AbsurdLatency)),
    ]);
    // The stock formats carry no latency: counted, never guessed.
    for line in combined.iter().chain(&main) {
        assert_eq!(
            parse_line(line, Format::Nginx, &JsonFields::default()),
            Err(Reject::NoLatency),
            "{line}"
        );
    }
}

#[test]
fn ingress_nginx_upstreaminfo() {
    let cases: Vec<Case<'_>> = lines(sample!("nginx-ingress-upstreaminfo.log"))
        .into_iter()
        .map(|l| (l, Format::Nginx, Ok((50.0, Some(200), Some(T_INGRESS)))))
        .collect();
    check(&cases);
}

#[test]
fn envoy_and_istio_defaults() {
    let envoy = lines(sample!("envoy-default.log"));
    let istio = lines(sample!("istio-envoy-default.log"));
    check(&[
        (
            envoy[0],
            Format::Envoy,
            Ok((226.0, Some(204), Some(1_460_751_420_310))),
        ),
        (
            istio[0],
            Format::Envoy,
            Ok((4.0, Some(418), Some(1_606_339_578_409))),
        ),
        (istio[1], Format::Envoy, Ok((3.0, Some(418), None))),
    ]);
    let unset = envoy[0].replace(" 226 100 ", " - - ");
    assert_eq!(
        parse_line(&unset, Format::Envoy, &JsonFields::default()),
        Err(Reject::NoLatency)
    );
    let bad_time = envoy[0].replace("2016-04-15T20:17:00.310Z", "2016-99-15T20:17:00Z");
    assert_eq!(
        parse_line(&bad_time, Format::Envoy, &JsonFields::default()),
        Err(Reject::BadTimestamp)
    );
}

#[test]
fn haproxy_httplog() {
    let line = lines(sample!("haproxy-httplog.log"))[0];
    let logasap = line.replace("10/0/30/69/109", "10/0/30/69/+109");
    let aborted = line.replace("10/0/30/69/109", "10/0/-1/-1/-1");
    check(&[
        (
            line,
            Format::Haproxy,
            Ok((109.0, Some(200), Some(1_233_922_454_655))),
        ),
        (&logasap, Format::Haproxy, Ok((109.0, Some(200), None))),
        (&aborted, Format::Haproxy, Err(Reject::NoLatency)),
    ]);
}

#[test]
fn traefik_common_and_json() {
    let common = lines(sample!("traefik-common.log"));
    let json = lines(sample!("traefik-json.log"));
    check(&[
        (
            common[0],
            Format::Traefik,
            Ok((1.0, Some(200), Some(1_257_894_000_000))),
        ),
        (common[1], Format::Traefik, Ok((0.0, Some(401), None))),
        (
            common[2],
            Format::Traefik,
            Ok((1.0, Some(123), Some(1_460_556_859_000))),
        ),
        (json[0], Format::Json, Ok((8.184_335, Some(207), None))),
    ]);
}

#[test]
fn json_lines_with_default_and_configured_fields() {
    let fields = JsonFields::default();
    let cases: Vec<Case<'_>> = vec![
        (
            r#"{"latency_ms": 12.5, "status": 503}"#,
            Format::Json,
            Ok((12.5, Some(503), None)),
        ),
        (
            r#"{"duration_ms": "7", "status": "200"}"#,
            Format::Json,
            Ok((7.0, Some(200), None)),
        ),
        (
            r#"{"request_time": 0.25}"#,
            Format::Json,
            Ok((250.0, None, None)),
        ),
        (
            r#"{"duration": 1.5, "status": 200, "time": "2024-12-29T11:42:47Z"}"#,
            Format::Json,
            Ok((1500.0, Some(200), Some(1_735_472_567_000))),
        ),
        (
            r#"{"duration": "35ms"}"#,
            Format::Json,
            Ok((35.0, None, None)),
        ),
        (
            r#"{"ts": 1735472567, "latency_ms": 1}"#,
            Format::Json,
            Ok((1.0, None, Some(1_735_472_567_000))),
        ),
        (r#"{"status": 200}"#, Format::Json, Err(Reject::NoLatency)),
        (
            r#"{"latency_ms": -3}"#,
            Format::Json,
            Err(Reject::NegativeLatency),
        ),
        (
            r#"{"latency_ms": 1e12}"#,
            Format::Json,
            Err(Reject::AbsurdLatency),
        ),
        (
            r#"{"latency_ms": "fast"}"#,
            Format::Json,
            Err(Reject::BadLatency),
        ),
        (
            r#"{"latency_ms": 3, "time": "yesterday"}"#,
            Format::Json,
            Err(Reject::BadTimestamp),
        ),
        (
            r#"{"latency_ms": 3"#,
            Format::Json,
            Err(Reject::UnknownFormat),
        ),
    ];
    check(&cases);
    // Kong's plugin JSON: nested path, ms.
    let kong: JsonFields = serde_json::from_value(serde_json::json!({
        "latency": [{"path": "latencies.request", "unit": "ms"}],
        "status": ["response.status"],
    }))
    .unwrap();
    let line = r#"{"latencies": {"request": 42, "proxy": 40}, "response": {"status": 502}}"#;
    let parsed = parse_line(line, Format::Json, &kong).unwrap();
    assert_eq!((parsed.latency_ms, parsed.status), (42.0, Some(502)));
    assert!(parse_line(line, Format::Json, &fields).is_err());
    assert!(serde_json::from_value::<JsonFields>(serde_json::json!({"status": ["a..b"]})).is_err());
}

#[test]
fn logfmt_lines() {
    check(&[
        (
            r#"ts=2024-12-29T11:42:47Z level=info msg="GET /v1" status=200 duration_ms=12"#,
            Format::Logfmt,
            Ok((12.0, Some(200), Some(1_735_472_567_000))),
        ),
        (
            "status=500 duration=1.2s",
            Format::Logfmt,
            Ok((1200.0, Some(500), None)),
        ),
        (
            "latency_ms=-1",
            Format::Logfmt,
            Err(Reject::NegativeLatency),
        ),
        (
            "level=info msg=hello",
            Format::Logfmt,
            Err(Reject::NoLatency),
        ),
        (
            r#"msg="unclosed"#,
            Format::Logfmt,
            Err(Reject::UnknownFormat),
        ),
    ]);
}

#[test]
fn lines_without_latency_are_rejected_not_guessed() {
    let fields = JsonFields::default();
    for line in lines(sample!("vllm-uvicorn-access.log"))
        .into_iter()
        .chain(lines(sample!("ray-serve-access.log")))
        .chain(["", "garbage", "\u{0}\u{1}binary"])
    {
        assert_eq!(
            parse_line(line, Format::Auto, &fields),
            Err(Reject::UnknownFormat),
            "{line:?}"
        );
    }
    // A format that does not match its source's lines.
    let envoy = lines(sample!("envoy-default.log"))[0];
    assert_eq!(
        parse_line(envoy, Format::Nginx, &fields),
        Err(Reject::UnknownFormat)
    );
}
