//! The one clock everything reads: seconds since the epoch, and the current year (two-digit
//! years in NEWNEWS/NEWGROUPS are read relative to it).

/// Seconds since 1970-01-01 UTC.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// The current year, UTC.
pub fn current_year() -> i32 {
    use chrono::Datelike;
    chrono::Utc::now().year()
}
