//! The times people type after `--since` and `--until`: one parser for every
//! command.
//!
//! Accepted: `YYYY-MM-DD` (midnight, local time), an RFC 3339 time
//! (`2026-11-29T10:00:00Z`), `today`, `yesterday`, and an age: a number and
//! a unit, `30m`, `12h`, `7d`, `2w` (that long before now).

use jiff::{Span, Timestamp, Zoned, civil::Date, tz::TimeZone};

/// What the error says is accepted.
pub const ACCEPTED: &str = "use YYYY-MM-DD, an RFC 3339 time (2026-11-29T10:00:00Z), today, yesterday, or an age such as 30m, 12h, 7d, 2w";

/// `s` as a moment, with `now` for relative forms and local dates.
///
/// # Errors
/// A message naming the input and the accepted forms.
pub fn parse(s: &str, now: &Zoned) -> Result<Timestamp, String> {
    let t = s.trim();
    let bad = || format!("cannot read the time {t:?}: {ACCEPTED}");
    let midnight = |d: Date| -> Result<Timestamp, String> {
        d.to_zoned(now.time_zone().clone())
            .map(|z| z.timestamp())
            .map_err(|_| bad())
    };
    match t.to_ascii_lowercase().as_str() {
        "today" => return midnight(now.date()),
        "yesterday" => return midnight(now.date().yesterday().map_err(|_| bad())?),
        _ => {}
    }
    if let Ok(ts) = t.parse::<Timestamp>() {
        return Ok(ts);
    }
    if let Ok(d) = t.parse::<Date>() {
        return midnight(d);
    }
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (n, unit) = t.split_at(split);
    let n: i64 = n.parse().map_err(|_| bad())?;
    let span = match unit {
        "m" | "min" => Span::new().minutes(n),
        "h" => Span::new().hours(n),
        "d" => Span::new().days(n),
        "w" => Span::new().weeks(n),
        _ => return Err(bad()),
    };
    now.checked_sub(span)
        .map(|z| z.timestamp())
        .map_err(|_| bad())
}

/// `s` as a calendar day in `tz` (for reports cut by day).
///
/// # Errors
/// As [`parse`].
pub fn day(s: &str, now: &Zoned, tz: &TimeZone) -> Result<Date, String> {
    parse(s, now).map(|t| t.to_zoned(tz.clone()).date())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Zoned {
        "2026-11-29T10:30:00+01:00[Europe/Paris]".parse().unwrap()
    }

    #[test]
    fn every_accepted_form() {
        let n = now();
        let at = |s: &str| parse(s, &n).unwrap().to_string();
        assert_eq!(at("2026-11-20"), "2026-11-19T23:00:00Z");
        assert_eq!(at("2026-11-20T08:00:00Z"), "2026-11-20T08:00:00Z");
        assert_eq!(at("today"), "2026-11-28T23:00:00Z");
        assert_eq!(at("Yesterday"), "2026-11-27T23:00:00Z");
        assert_eq!(at("7d"), "2026-11-22T09:30:00Z");
        assert_eq!(at("12h"), "2026-11-28T21:30:00Z");
        assert_eq!(at("30m"), "2026-11-29T09:00:00Z");
        assert_eq!(at("2w"), "2026-11-15T09:30:00Z");
        let utc = TimeZone::UTC;
        assert_eq!(day("today", &n, &utc).unwrap().to_string(), "2026-11-28");
    }

    #[test]
    fn errors_name_the_input_and_the_accepted_forms() {
        for bad in ["last tuesday", "7", "7y", "", "2026-13-01", "-3d"] {
            let e = parse(bad, &now()).unwrap_err();
            assert!(e.contains("YYYY-MM-DD") && e.contains("7d"), "{bad}: {e}");
        }
    }
}
