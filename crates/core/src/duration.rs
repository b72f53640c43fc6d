//! Go-style duration strings (`30s`, `100ms`, `1m30s`, `1.5h`), as the seed's environment
//! variables use them. Parsed to whole milliseconds, rounding sub-millisecond parts up so that
//! `500us` never becomes a zero timeout.

/// Parses a Go duration into milliseconds. Negative durations are refused: every duration in
/// this crate is a timeout or an interval.
pub fn parse_go_duration_ms(s: &str) -> Result<u64, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    if s == "0" {
        return Ok(0);
    }
    if s.starts_with('-') {
        return Err(format!("negative duration {s:?}"));
    }
    let body = s.strip_prefix('+').unwrap_or(s);
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut total_ns: f64 = 0.0;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let num = &body[start..i];
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(format!("invalid duration {s:?}"));
        }
        let value: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
        let ustart = i;
        while i < bytes.len() && !(bytes[i].is_ascii_digit() || bytes[i] == b'.') {
            i += 1;
        }
        let unit = &body[ustart..i];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err(format!("missing unit in duration {s:?} (use ms, s, m or h)")),
            other => return Err(format!("unknown unit {other:?} in duration {s:?}")),
        };
        total_ns += value * scale;
    }
    let ms = (total_ns / 1e6).ceil();
    if !ms.is_finite() || ms > u64::MAX as f64 / 2.0 {
        return Err(format!("duration {s:?} is out of range"));
    }
    Ok(ms as u64)
}

#[cfg(test)]
mod tests {
    use super::parse_go_duration_ms as p;

    #[test]
    fn parses_the_forms_go_accepts() {
        assert_eq!(p("30s"), Ok(30_000));
        assert_eq!(p("100ms"), Ok(100));
        assert_eq!(p("1m30s"), Ok(90_000));
        assert_eq!(p("1.5h"), Ok(5_400_000));
        assert_eq!(p("2h45m"), Ok(9_900_000));
        assert_eq!(p("0"), Ok(0));
        assert_eq!(p("1500us"), Ok(2));
        assert_eq!(p("1µs"), Ok(1));
    }

    #[test]
    fn refuses_what_go_refuses_and_negatives() {
        for bad in ["", "30", "1x", "s", "-1s", "1..5s", "ms10", "1s junk"] {
            assert!(p(bad).is_err(), "{bad:?} should be refused");
        }
    }
}
