//! Number formatting as Go prints it (`%v`, `%.4g`, the `printf` verbs) and Prometheus'
//! humanize functions, so rendered annotations read as they would from Prometheus.

use crate::template::Val;

/// Go's `%v` of a float64: shortest digits, exponent form below 1e-4 and from 1e6 on.
pub(crate) fn go_float(v: f64) -> String {
    if let Some(special) = special(v) {
        return special;
    }
    let (mantissa, exp) = split_exp(&format!("{v:e}"));
    if !(-4..6).contains(&exp) {
        format!("{mantissa}e{}", exp_text(exp))
    } else {
        format!("{v}")
    }
}

/// Go's `%.{precision}g`.
pub(crate) fn go_g(v: f64, precision: usize) -> String {
    if let Some(special) = special(v) {
        return special;
    }
    if v == 0.0 {
        return "0".to_owned();
    }
    let precision = precision.max(1);
    let (mantissa, exp) = split_exp(&format!("{:.*e}", precision - 1, v));
    let mantissa = trim_zeros(&mantissa);
    if exp < -4 || exp >= precision as i32 {
        return format!("{mantissa}e{}", exp_text(exp));
    }
    let rounded: f64 = format!("{mantissa}e{exp}").parse().unwrap_or(v);
    let decimals = (precision as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{rounded:.decimals$}"))
}

fn special(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("NaN".to_owned())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned())
    } else {
        None
    }
}

fn split_exp(text: &str) -> (String, i32) {
    match text.split_once('e') {
        Some((mantissa, exp)) => (mantissa.to_owned(), exp.parse().unwrap_or(0)),
        None => (text.to_owned(), 0),
    }
}

fn exp_text(exp: i32) -> String {
    format!("{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
}

fn trim_zeros(text: &str) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text.to_owned()
    }
}

/// Prometheus `humanize`: SI prefixes (k, M, ... and m, u, ...) with four significant digits.
pub(crate) fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return go_g(v, 4);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
    } else {
        for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
            if v.abs() >= 1.0 {
                break;
            }
            prefix = p;
            v *= 1000.0;
        }
    }
    format!("{}{prefix}", go_g(v, 4))
}

/// Prometheus `humanizePercentage`: a ratio as a percentage, four significant digits.
pub(crate) fn humanize_percentage(v: f64) -> String {
    format!("{}%", go_g(v * 100.0, 4))
}

/// Prometheus `humanizeDuration`: seconds as `1d 2h 3m 4s`, or with a sub-second prefix.
pub(crate) fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return go_g(v, 4);
    }
    if v == 0.0 {
        return format!("{}s", go_g(v, 4));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let whole = v as i64;
        let (seconds, minutes) = (whole % 60, (whole / 60) % 60);
        let (hours, days) = ((whole / 3600) % 24, whole / 86_400);
        return if days != 0 {
            format!("{sign}{days}d {hours}h {minutes}m {seconds}s")
        } else if hours != 0 {
            format!("{sign}{hours}h {minutes}m {seconds}s")
        } else if minutes != 0 {
            format!("{sign}{minutes}m {seconds}s")
        } else {
            format!("{sign}{}s", go_g(v, 4))
        };
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", go_g(v, 4))
}

/// A compiled `printf` format.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Printf {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Text(String),
    Verb {
        verb: char,
        width: Option<usize>,
        precision: Option<usize>,
    },
}

impl Printf {
    pub(crate) fn compile(format: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                text.push(c);
                continue;
            }
            if chars.peek() == Some(&'%') {
                chars.next();
                text.push('%');
                continue;
            }
            let number = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                let mut digits = String::new();
                while let Some(d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    chars.next();
                }
                digits.parse::<usize>().ok()
            };
            let width = number(&mut chars);
            let precision = if chars.peek() == Some(&'.') {
                chars.next();
                Some(number(&mut chars).unwrap_or(0))
            } else {
                None
            };
            match chars.next() {
                Some(verb @ ('s' | 'v' | 'd' | 'f' | 'e' | 'g')) => {
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Verb {
                        verb,
                        width: width.map(|w| w.min(64)),
                        precision: precision.map(|p| p.min(30)),
                    });
                }
                other => {
                    return Err(format!(
                        "printf verb %{} is not supported (use %s %v %d %f %e %g %%)",
                        other.map(String::from).unwrap_or_default()
                    ));
                }
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Self { parts })
    }

    pub(crate) fn arguments(&self) -> usize {
        self.parts
            .iter()
            .filter(|p| matches!(p, Part::Verb { .. }))
            .count()
    }

    pub(crate) fn apply(&self, args: &[Val]) -> String {
        let mut out = String::new();
        let mut args = args.iter();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Verb {
                    verb,
                    width,
                    precision,
                } => {
                    let Some(arg) = args.next() else {
                        out.push_str(&format!("%!{verb}(MISSING)"));
                        continue;
                    };
                    let text = verb_text(*verb, *precision, arg);
                    let pad = width.unwrap_or(0).saturating_sub(text.chars().count());
                    out.push_str(&" ".repeat(pad));
                    out.push_str(&text);
                }
            }
        }
        out
    }
}

fn verb_text(verb: char, precision: Option<usize>, arg: &Val) -> String {
    let number = || arg.number();
    match verb {
        's' | 'v' => arg.render(),
        'd' => match number() {
            Ok(x) if x.is_finite() => format!("{}", x.round() as i64),
            Ok(x) => go_float(x),
            Err(_) => format!("%!d(string={})", arg.render()),
        },
        'f' => match number() {
            Ok(x) if x.is_finite() => format!("{:.*}", precision.unwrap_or(6), x),
            Ok(x) => go_float(x),
            Err(_) => format!("%!f(string={})", arg.render()),
        },
        'e' => match number() {
            Ok(x) if x.is_finite() => {
                let (mantissa, exp) = split_exp(&format!("{:.*e}", precision.unwrap_or(6), x));
                format!("{mantissa}e{}", exp_text(exp))
            }
            Ok(x) => go_float(x),
            Err(_) => format!("%!e(string={})", arg.render()),
        },
        _ => match number() {
            Ok(x) => match precision {
                Some(p) => go_g(x, p),
                None => go_float(x),
            },
            Err(_) => format!("%!g(string={})", arg.render()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_number_forms() {
        assert_eq!(go_float(0.5), "0.5");
        assert_eq!(go_float(1e6), "1e+06");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_g(1234.5, 4), "1234");
        assert_eq!(go_g(12345.0, 4), "1.234e+04");
        assert_eq!(go_g(1.5, 4), "1.5");
        assert_eq!(go_g(0.000012345, 4), "1.234e-05");
    }

    #[test]
    fn humanize_functions() {
        assert_eq!(humanize(1234567.0), "1.235M");
        assert_eq!(humanize(0.0012), "1.2m");
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize_percentage(0.1234), "12.34%");
        assert_eq!(humanize_duration(90061.0), "1d 1h 1m 1s");
        assert_eq!(humanize_duration(65.0), "1m 5s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(0.25), "250ms");
        assert_eq!(humanize_duration(0.0), "0s");
    }

    #[test]
    fn printf_verbs() {
        let f = Printf::compile("%.2f%% of %s (%5d)").unwrap();
        assert_eq!(f.arguments(), 3);
        let out = f.apply(&[Val::Num(12.345), Val::Str("api".into()), Val::Num(42.0)]);
        assert_eq!(out, "12.35% of api (   42)");
        assert!(Printf::compile("%q").is_err());
        assert_eq!(
            Printf::compile("%e").unwrap().apply(&[Val::Num(1234.5)]),
            "1.234500e+03"
        );
    }
}
