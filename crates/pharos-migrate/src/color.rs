//! Grafana colours (named palette, hex, `rgb()`/`rgba()`) → the `#rrggbb` colours Perses takes.

/// Grafana's named visualisation palette (hue × shade).
const NAMED: &[(&str, &str)] = &[
    ("super-light-red", "#ffa6b0"),
    ("light-red", "#ff7383"),
    ("red", "#f2495c"),
    ("semi-dark-red", "#e02f44"),
    ("dark-red", "#c4162a"),
    ("super-light-orange", "#ffcb7d"),
    ("light-orange", "#ffb357"),
    ("orange", "#ff9830"),
    ("semi-dark-orange", "#ff780a"),
    ("dark-orange", "#fa6400"),
    ("super-light-yellow", "#fff899"),
    ("light-yellow", "#ffee52"),
    ("yellow", "#fade2a"),
    ("semi-dark-yellow", "#f2cc0c"),
    ("dark-yellow", "#e0b400"),
    ("super-light-green", "#c8f2c2"),
    ("light-green", "#96d98d"),
    ("green", "#73bf69"),
    ("semi-dark-green", "#56a64b"),
    ("dark-green", "#37872d"),
    ("super-light-blue", "#c0d8ff"),
    ("light-blue", "#8ab8ff"),
    ("blue", "#5794f2"),
    ("semi-dark-blue", "#3274d9"),
    ("dark-blue", "#1f60c4"),
    ("super-light-purple", "#deb6f2"),
    ("light-purple", "#ca95e5"),
    ("purple", "#b877d9"),
    ("semi-dark-purple", "#a352cc"),
    ("dark-purple", "#8f3bb8"),
    ("white", "#ffffff"),
    ("black", "#000000"),
];

/// The Perses colour for a Grafana colour, or `None` when it has no fixed value
/// (`transparent`, `text`, unknown names).
pub(crate) fn to_hex(color: &str) -> Option<String> {
    let color = color.trim();
    if let Some(hex) = color.strip_prefix('#') {
        let valid = matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit());
        if valid {
            // Kept as written: Perses copies hex colours unchanged.
            return Some(color.to_string());
        }
        if hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return hex.get(..6).map(|rgb| format!("#{rgb}"));
        }
        return None;
    }
    let lower = color.to_ascii_lowercase();
    if let Some((_, hex)) = NAMED.iter().find(|(name, _)| *name == lower) {
        return Some((*hex).to_string());
    }
    let inner = lower
        .strip_prefix("rgba(")
        .or_else(|| lower.strip_prefix("rgb("))?
        .strip_suffix(')')?;
    let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
    if parts.len() < 3 {
        return None;
    }
    let mut hex = String::from("#");
    for part in parts.iter().take(3) {
        let channel: f64 = part.parse().ok()?;
        let channel = channel.clamp(0.0, 255.0).round() as u8;
        hex.push_str(&format!("{channel:02x}"));
    }
    Some(hex)
}

#[cfg(test)]
mod tests {
    use super::to_hex;

    #[test]
    fn converts_names_hex_and_rgb() {
        assert_eq!(to_hex("green").as_deref(), Some("#73bf69"));
        assert_eq!(to_hex("semi-dark-yellow").as_deref(), Some("#f2cc0c"));
        assert_eq!(to_hex("#F2495C").as_deref(), Some("#F2495C"));
        assert_eq!(to_hex("rgba(245, 54, 54, 0.9)").as_deref(), Some("#f53636"));
        assert_eq!(to_hex("transparent"), None);
        assert_eq!(to_hex("#zzz"), None);
    }
}
