//! Calendar dates for secret expiry, without a date crate: the manifests write ISO 8601, and a
//! day's precision is all an expiry warning needs.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A date in the proleptic Gregorian calendar (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CivilDate {
    /// The year.
    pub year: i32,
    /// The month, 1-12.
    pub month: u32,
    /// The day of the month, 1-31.
    pub day: u32,
}

impl CivilDate {
    /// Today in UTC.
    pub fn today() -> CivilDate {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        CivilDate::from_days((secs / 86_400) as i64)
    }

    /// The date at the start of an ISO 8601 text (`2026-03-01T10:00:00Z`, `2026-03-01`).
    pub fn parse_prefix(text: &str) -> Option<CivilDate> {
        let head = text.trim().get(..10)?;
        let mut parts = head.split('-');
        let year: i32 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        let date = CivilDate { year, month, day };
        (head.len() == 10 && (1..=12).contains(&month) && day >= 1 && day <= date.month_len())
            .then_some(date)
    }

    fn is_leap(year: i32) -> bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    fn month_len(self) -> u32 {
        match self.month {
            2 if Self::is_leap(self.year) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    pub fn days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01 (civil_from_days).
    pub fn from_days(days: i64) -> CivilDate {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        CivilDate { year, month, day }
    }
}

impl fmt::Display for CivilDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_counts_days() {
        let d = CivilDate::parse_prefix("2026-03-01T10:20:30.123Z").unwrap();
        assert_eq!(d.to_string(), "2026-03-01");
        assert_eq!(CivilDate::parse_prefix("1970-01-01").unwrap().days(), 0);
        let leap = CivilDate::parse_prefix("2024-02-29").unwrap();
        assert_eq!(CivilDate::from_days(leap.days()), leap);
        assert_eq!(
            CivilDate::parse_prefix("2025-03-01").unwrap().days()
                - CivilDate::parse_prefix("2025-02-28").unwrap().days(),
            1
        );
        assert!(CivilDate::parse_prefix("2025-02-29").is_none());
        assert!(CivilDate::parse_prefix("2025-13-01").is_none());
        assert!(CivilDate::parse_prefix("soon").is_none());
        assert!(CivilDate::today().year >= 2024);
    }
}
