//! Numbers and sizes as people read them.

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes in decimal units: `2813946` → `2.8 MB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < UNITS.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// Seconds as people read them: `0.42` → `420 ms`, `75.0` → `1 min 15 s`.
pub fn duration(secs: f64) -> String {
    if !secs.is_finite() || secs < 0.0 {
        return "–".into();
    }
    if secs < 1.0 {
        return format!("{:.0} ms", secs * 1000.0);
    }
    if secs < 60.0 {
        return format!("{secs:.1} s");
    }
    let whole = secs.round() as u64;
    let (h, m, s) = (whole / 3600, whole / 60 % 60, whole % 60);
    if h > 0 {
        format!("{h} h {m} min")
    } else {
        format!("{m} min {s} s")
    }
}

/// A rate in thousands or millions: `1234567.0` → `1.2 M`.
pub fn rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.1} M", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k", per_sec / 1e3)
    } else {
        format!("{per_sec:.0}")
    }
}

/// The date and time of an RFC 3339 timestamp, to the second, without the zone
/// noise: `2026-11-24T10:15:30.123Z` → `2026-11-24 10:15:30 UTC`.
pub fn timestamp(rfc3339: &str) -> String {
    match rfc3339.get(..19) {
        Some(head) if rfc3339.ends_with('Z') => format!("{} UTC", head.replace('T', " ")),
        _ => rfc3339.to_string(),
    }
}

/// [`timestamp`] to the millisecond, for log lines:
/// `2026-11-24T10:15:30.123Z` → `2026-11-24 10:15:30.123 UTC`.
pub fn timestamp_millis(rfc3339: &str) -> String {
    match rfc3339.get(..23) {
        Some(head) if rfc3339.ends_with('Z') && head.as_bytes().get(19) == Some(&b'.') => {
            format!("{} UTC", head.replace('T', " "))
        }
        _ => timestamp(rfc3339),
    }
}

/// A value as `show` writes it, or a dash when there is none yet.
pub fn or_dash<T>(value: Option<T>, show: impl FnOnce(T) -> String) -> String {
    value.map_or_else(|| "–".into(), show)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_times_keep_their_milliseconds() {
        assert_eq!(
            timestamp_millis("2026-11-24T10:15:30.123Z"),
            "2026-11-24 10:15:30.123 UTC"
        );
        assert_eq!(
            timestamp_millis("2026-11-24T10:15:30Z"),
            "2026-11-24 10:15:30 UTC"
        );
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(2_813_946), "2.8 MB");
        assert_eq!(bytes(5_000_000_000), "5.0 GB");
        assert_eq!(duration(0.42), "420 ms");
        assert_eq!(or_dash(Some(1234), thousands), "1,234");
        assert_eq!(or_dash(None::<u64>, thousands), "–");
        assert_eq!(duration(75.0), "1 min 15 s");
        assert_eq!(duration(7300.0), "2 h 1 min");
        assert_eq!(rate(1_234_567.0), "1.2 M");
        assert_eq!(
            timestamp("2026-11-24T10:15:30.123Z"),
            "2026-11-24 10:15:30 UTC"
        );
    }
}
