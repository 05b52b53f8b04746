//! The SLA clock. Server-only, pure (no database), property-tested.
//!
//! A target ("first response within 4 hours") counts **working time** on a
//! calendar: around the clock (24x7), or the level's business hours — working
//! weekdays, opening and closing time in an IANA time zone, and holidays. The
//! clock runs in segments: it pauses while a ticket waits on the customer and
//! resumes when they answer. Business hours are wall-clock hours in the
//! calendar's time zone, so a working day keeps its length across daylight
//! saving changes; a 24x7 target is plain elapsed time.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc,
};
use chrono_tz::Tz;

/// How far ahead a due date is searched; beyond it a target is "not reachable".
const HORIZON_DAYS: i64 = 3 * 366;

#[derive(Debug, Clone, PartialEq)]
pub enum Calendar {
    AroundTheClock,
    BusinessHours(BusinessHours),
}

#[derive(Debug, Clone, PartialEq)]
pub struct BusinessHours {
    pub tz: Tz,
    /// Monday = index 0.
    pub days: [bool; 7],
    pub open: NaiveTime,
    pub close: NaiveTime,
    pub holidays: BTreeSet<NaiveDate>,
}

impl BusinessHours {
    /// Reads the level's stored calendar (`1-5` or `1-4,6`, `09:00`, `18:00`,
    /// `2026-12-25, 2027-01-06`).
    pub fn parse(
        timezone: &str,
        business_days: &str,
        open: &str,
        close: &str,
        holidays: &str,
    ) -> Result<BusinessHours, String> {
        let tz: Tz = timezone
            .parse()
            .map_err(|_| format!("“{timezone}” is not an IANA time zone."))?;
        let mut days = [false; 7];
        for part in business_days
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let (a, b): (usize, usize) = (
                a.trim()
                    .parse()
                    .map_err(|_| format!("bad weekday range “{part}”"))?,
                b.trim()
                    .parse()
                    .map_err(|_| format!("bad weekday range “{part}”"))?,
            );
            if !(1..=7).contains(&a) || !(1..=7).contains(&b) || a > b {
                return Err(format!("bad weekday range “{part}”"));
            }
            for d in days.iter_mut().take(b).skip(a - 1) {
                *d = true;
            }
        }
        let time = |s: &str| {
            NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| format!("bad time “{s}”"))
        };
        let (open, close) = (time(open)?, time(close)?);
        if open >= close || !days.iter().any(|d| *d) {
            return Err(
                "business hours need at least one day and an opening before the closing".into(),
            );
        }
        let holidays = holidays
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| {
                NaiveDate::parse_from_str(h, "%Y-%m-%d").map_err(|_| format!("bad holiday “{h}”"))
            })
            .collect::<Result<_, _>>()?;
        Ok(BusinessHours {
            tz,
            days,
            open,
            close,
            holidays,
        })
    }

    fn works_on(&self, day: NaiveDate) -> bool {
        self.days[day.weekday().num_days_from_monday() as usize] && !self.holidays.contains(&day)
    }

    /// A local wall-clock time as an instant. In a gap (clocks jump forward)
    /// it is the first instant after the gap; when ambiguous (clocks fall
    /// back), the earlier one.
    fn instant(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
            LocalResult::None => {
                // Walk forward minute by minute to the end of the gap (at most a few hours).
                let mut l = local;
                for _ in 0..(24 * 60) {
                    l += Duration::minutes(1);
                    if let Some(t) = self.tz.from_local_datetime(&l).earliest() {
                        return t.with_timezone(&Utc);
                    }
                }
                Utc.from_utc_datetime(&local)
            }
        }
    }

    /// The working interval of local `day`, as instants, if it is a working day.
    fn window(&self, day: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        self.works_on(day).then(|| {
            (
                self.instant(day.and_time(self.open)),
                self.instant(day.and_time(self.close)),
            )
        })
    }

    fn local_day(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }
}

impl Calendar {
    /// Working time between `from` and `to` (zero when `to` is not after `from`).
    pub fn working_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        match self {
            Calendar::AroundTheClock => to - from,
            Calendar::BusinessHours(b) => {
                let mut total = Duration::zero();
                // A day's window can start on the previous UTC day: begin one local day early.
                let mut day = b.local_day(from) - Duration::days(1);
                let last = b.local_day(to) + Duration::days(1);
                while day <= last {
                    if let Some((open, close)) = b.window(day) {
                        let (s, e) = (open.max(from), close.min(to));
                        if e > s {
                            total += e - s;
                        }
                    }
                    day += Duration::days(1);
                }
                total
            }
        }
    }

    /// The instant at which `budget` of working time has passed after `from`;
    /// `None` if that is beyond the search horizon.
    pub fn add_working(&self, from: DateTime<Utc>, budget: Duration) -> Option<DateTime<Utc>> {
        if budget <= Duration::zero() {
            return Some(from);
        }
        match self {
            Calendar::AroundTheClock => from.checked_add_signed(budget),
            Calendar::BusinessHours(b) => {
                let mut left = budget;
                let mut day = b.local_day(from) - Duration::days(1);
                for _ in 0..HORIZON_DAYS {
                    if let Some((open, close)) = b.window(day) {
                        let s = open.max(from);
                        if close > s {
                            let avail = close - s;
                            if avail >= left {
                                return Some(s + left);
                            }
                            left -= avail;
                        }
                    }
                    day += Duration::days(1);
                }
                None
            }
        }
    }
}

/// One stretch of time the clock ran: from `start` until `end` (still running when `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub start: DateTime<Utc>,
    pub end: Option<DateTime<Utc>>,
}

/// Working time the clock has counted by `now`, over its runs.
pub fn elapsed(cal: &Calendar, runs: &[Run], now: DateTime<Utc>) -> Duration {
    runs.iter()
        .map(|r| cal.working_between(r.start, r.end.unwrap_or(now).min(now)))
        .fold(Duration::zero(), |a, b| a + b)
}

/// When a target of `target` working time falls (or fell) due, given the
/// runs so far: the instant its budget is used up. `None` while the clock is
/// paused with budget left, or beyond the horizon. A breached target's due
/// date is the moment it was breached, in the past.
pub fn due(
    cal: &Calendar,
    runs: &[Run],
    target: Duration,
    _now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let mut used = Duration::zero();
    for r in runs {
        match r.end {
            Some(end) => {
                let w = cal.working_between(r.start, end);
                if used + w >= target {
                    return cal.add_working(r.start, target - used);
                }
                used += w;
            }
            None => return cal.add_working(r.start, target - used),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn madrid() -> Calendar {
        Calendar::BusinessHours(
            BusinessHours::parse(
                "Europe/Madrid",
                "1-5",
                "09:00",
                "18:00",
                "2027-01-06, 2026-12-25",
            )
            .unwrap(),
        )
    }

    fn at(tz: Tz, s: &str) -> DateTime<Utc> {
        tz.from_local_datetime(&NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap())
            .earliest()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn business_hours_by_example() {
        let m = chrono_tz::Europe::Madrid;
        let cal = madrid();
        // Friday 17:00 + 2 working hours = Monday 10:00.
        assert_eq!(
            cal.add_working(at(m, "2027-01-08 17:00"), Duration::hours(2)),
            Some(at(m, "2027-01-11 10:00"))
        );
        // Across the spring-forward weekend (2027-03-28): still Monday 10:00 local.
        assert_eq!(
            cal.add_working(at(m, "2027-03-26 17:00"), Duration::hours(2)),
            Some(at(m, "2027-03-29 10:00"))
        );
        // A ticket opened at night starts counting at 09:00.
        assert_eq!(
            cal.add_working(at(m, "2027-01-12 23:30"), Duration::minutes(30)),
            Some(at(m, "2027-01-13 09:30"))
        );
        // Holidays do not count: 2027-01-06 (Wednesday) is one.
        assert_eq!(
            cal.working_between(at(m, "2027-01-06 00:00"), at(m, "2027-01-07 00:00")),
            Duration::zero()
        );
        assert_eq!(
            cal.add_working(at(m, "2027-01-05 17:00"), Duration::hours(2)),
            Some(at(m, "2027-01-07 10:00"))
        );
        // Christmas Friday, then the weekend: Monday.
        assert_eq!(
            cal.add_working(at(m, "2026-12-24 18:00"), Duration::minutes(1)),
            Some(at(m, "2026-12-28 09:01"))
        );
        // A whole week is 45 working hours.
        assert_eq!(
            cal.working_between(at(m, "2027-02-01 00:00"), at(m, "2027-02-08 00:00")),
            Duration::hours(45)
        );
    }

    #[test]
    fn a_local_day_around_the_dst_change_keeps_or_loses_an_hour() {
        // 00:00–23:59 every day in New York: the spring-forward day has one hour less.
        let ny = chrono_tz::America::New_York;
        let cal = Calendar::BusinessHours(
            BusinessHours::parse("America/New_York", "1-7", "00:00", "23:59", "").unwrap(),
        );
        let day = |d: &str| {
            cal.working_between(at(ny, &format!("{d} 00:00")), at(ny, &format!("{d} 23:59")))
        };
        assert_eq!(day("2027-03-13"), Duration::minutes(23 * 60 + 59));
        assert_eq!(day("2027-03-14"), Duration::minutes(22 * 60 + 59));
        assert_eq!(day("2027-11-07"), Duration::minutes(24 * 60 + 59));
        // Opening inside the gap (02:30 does not exist that day) opens when the clocks resume.
        let early = Calendar::BusinessHours(
            BusinessHours::parse("America/New_York", "1-7", "02:30", "04:00", "").unwrap(),
        );
        assert_eq!(
            early.working_between(at(ny, "2027-03-14 00:00"), at(ny, "2027-03-14 23:00")),
            Duration::hours(1)
        );
    }

    #[test]
    fn pauses_stop_the_clock() {
        let t0 = Utc.with_ymd_and_hms(2027, 5, 3, 8, 0, 0).unwrap();
        let h = Duration::hours;
        let cal = Calendar::AroundTheClock;
        let runs = [
            Run {
                start: t0,
                end: Some(t0 + h(1)),
            },
            Run {
                start: t0 + h(5),
                end: None,
            },
        ];
        assert_eq!(elapsed(&cal, &runs, t0 + h(6)), h(2));
        // 4 h target: 2 h used, 2 h left from now.
        assert_eq!(due(&cal, &runs, h(4), t0 + h(6)), Some(t0 + h(8)));
        // Paused: no due date.
        assert_eq!(due(&cal, &runs[..1], h(4), t0 + h(6)), None);
        // Breached: the due date is the past moment the budget ran out.
        assert_eq!(
            due(&cal, &runs, Duration::minutes(90), t0 + h(6)),
            Some(t0 + h(5) + Duration::minutes(30))
        );
        assert_eq!(
            due(&cal, &runs, Duration::minutes(30), t0 + h(6)),
            Some(t0 + Duration::minutes(30))
        );
    }

    #[test]
    fn calendars_are_validated() {
        assert!(BusinessHours::parse("Mars/Olympus", "1-5", "09:00", "18:00", "").is_err());
        assert!(BusinessHours::parse("UTC", "5-1", "09:00", "18:00", "").is_err());
        assert!(BusinessHours::parse("UTC", "1-5", "18:00", "09:00", "").is_err());
        assert!(BusinessHours::parse("UTC", "1-5", "09:00", "18:00", "Christmas").is_err());
        assert!(BusinessHours::parse("UTC", "1-4,6", "09:00", "18:00", "").is_ok());
    }

    const ZONES: &[&str] = &[
        "UTC",
        "Europe/Madrid",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
    ];

    fn calendar() -> impl Strategy<Value = Calendar> {
        (
            proptest::sample::select(ZONES),
            proptest::collection::vec(any::<bool>(), 7),
            0u32..(23 * 60),
            60u32..(12 * 60),
            proptest::collection::vec(0i64..800, 0..20),
            any::<bool>(),
        )
            .prop_filter_map(
                "at least one working day",
                |(tz, days, open, len, hol, always)| {
                    if always {
                        return Some(Calendar::AroundTheClock);
                    }
                    if !days.iter().any(|d| *d) {
                        return None;
                    }
                    let open_t = NaiveTime::from_hms_opt(open / 60, open % 60, 0)?;
                    let close_m = (open + len).min(23 * 60 + 59);
                    let close_t = NaiveTime::from_hms_opt(close_m / 60, close_m % 60, 0)?;
                    let base = NaiveDate::from_ymd_opt(2026, 6, 1)?;
                    let mut d = [false; 7];
                    d.copy_from_slice(&days);
                    Some(Calendar::BusinessHours(BusinessHours {
                        tz: tz.parse().ok()?,
                        days: d,
                        open: open_t,
                        close: close_t,
                        holidays: hol.into_iter().map(|h| base + Duration::days(h)).collect(),
                    }))
                },
            )
    }

    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        // Two years from mid-2026, minute resolution: crosses several DST changes.
        (0i64..(2 * 365 * 24 * 60))
            .prop_map(|m| Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap() + Duration::minutes(m))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn adding_then_measuring_gives_the_budget_back(cal in calendar(), from in instant(), minutes in 0i64..(40 * 60)) {
            let budget = Duration::minutes(minutes);
            let due = cal.add_working(from, budget).expect("reachable");
            prop_assert!(due >= from);
            prop_assert_eq!(cal.working_between(from, due), budget);
            // And not a minute earlier: the due instant is the first one with the budget spent.
            if minutes > 0 {
                prop_assert!(cal.working_between(from, due - Duration::minutes(1)) < budget);
            }
        }

        #[test]
        fn working_time_adds_up_over_consecutive_spans(cal in calendar(), a in instant(), x in 0i64..20_000, y in 0i64..20_000) {
            let b = a + Duration::minutes(x);
            let c = b + Duration::minutes(y);
            prop_assert_eq!(cal.working_between(a, c), cal.working_between(a, b) + cal.working_between(b, c));
            prop_assert!(cal.working_between(a, c) <= c - a);
        }

        #[test]
        fn due_dates_fall_inside_business_hours_on_working_days(cal in calendar(), from in instant(), minutes in 1i64..(40 * 60)) {
            let due = cal.add_working(from, Duration::minutes(minutes)).unwrap();
            if let Calendar::BusinessHours(b) = &cal {
                let local = due.with_timezone(&b.tz);
                let day = local.date_naive();
                prop_assert!(b.works_on(day), "due on a day off: {local}");
                prop_assert!(!b.holidays.contains(&day));
                // Within the window (inclusive of the closing minute, and of an opening moved by a DST gap).
                let (open, close) = b.window(day).unwrap();
                prop_assert!(due > open && due <= close, "{local} outside {open}..{close}");
            }
        }

        #[test]
        fn a_pause_delays_the_due_date_by_the_working_time_it_covered(cal in calendar(), start in instant(), run in 0i64..600, pause in 0i64..5000, target in 601i64..3000) {
            let p0 = start + Duration::minutes(run);
            let p1 = p0 + Duration::minutes(pause);
            let target = Duration::minutes(target);
            let runs = [Run { start, end: Some(p0) }, Run { start: p1, end: None }];
            let with_pause = due(&cal, &runs, target, p1).unwrap();
            let without = due(&cal, &[Run { start, end: None }], target, start).unwrap();
            // The run before the pause used less than the target, so the due
            // date moves by exactly the working time the pause covered.
            prop_assert_eq!(cal.working_between(without, with_pause), cal.working_between(p0, p1));
            prop_assert!(with_pause >= without);
            prop_assert_eq!(elapsed(&cal, &runs, with_pause), target);
        }
    }
}
