//! The time a service reads: the system clock in production, a clock a test sets and advances otherwise,
//! so rules about deadlines and quarters can be exercised end to end without waiting.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

/// A source of the current instant, at the precision both storage backends keep (microseconds).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    kind: Kind,
}

#[derive(Debug, Clone, Default)]
enum Kind {
    /// The system clock.
    #[default]
    System,
    /// Stands still at the instant it holds until set or advanced.
    Manual(Arc<Mutex<DateTime<Utc>>>),
    /// The system clock moved by an offset: it runs from where it was set, unless it is held.
    Shifted(Arc<Mutex<Shift>>),
}

#[derive(Debug, Clone, Copy)]
struct Shift {
    offset: TimeDelta,
    /// While held, the instant it stands at.
    held: Option<DateTime<Utc>>,
}

impl Shift {
    fn now(&self) -> DateTime<Utc> {
        self.held.unwrap_or_else(|| (Utc::now() + self.offset).trunc_subsecs(6))
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { kind: Kind::System }
    }

    /// A clock that reads `start` until it is set or advanced; clones share it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self { kind: Kind::Manual(Arc::new(Mutex::new(start.trunc_subsecs(6)))) }
    }

    /// A clock that reads `start` now and then runs at the system clock's pace; setting or advancing it
    /// moves it; clones share it. The demonstration programme replays past years on one.
    pub fn shifted(start: DateTime<Utc>) -> Self {
        let shift = Shift { offset: start.trunc_subsecs(6) - Utc::now(), held: None };
        Self { kind: Kind::Shifted(Arc::new(Mutex::new(shift))) }
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.kind {
            Kind::System => Utc::now().trunc_subsecs(6),
            Kind::Manual(at) => *at.lock().unwrap_or_else(PoisonError::into_inner),
            Kind::Shifted(shift) => shift.lock().unwrap_or_else(PoisonError::into_inner).now(),
        }
    }

    /// Sets a manual or shifted clock to `at`; the system clock cannot be set and ignores it.
    pub fn set(&self, at: DateTime<Utc>) {
        match &self.kind {
            Kind::System => {}
            Kind::Manual(manual) => *manual.lock().unwrap_or_else(PoisonError::into_inner) = at.trunc_subsecs(6),
            Kind::Shifted(shift) => {
                let mut shift = shift.lock().unwrap_or_else(PoisonError::into_inner);
                match shift.held {
                    Some(_) => shift.held = Some(at.trunc_subsecs(6)),
                    None => shift.offset = at.trunc_subsecs(6) - Utc::now(),
                }
            }
        }
    }

    /// Moves a manual or shifted clock forward by `by`; the system clock ignores it.
    pub fn advance(&self, by: TimeDelta) {
        match &self.kind {
            Kind::System => {}
            Kind::Manual(manual) => {
                let mut at = manual.lock().unwrap_or_else(PoisonError::into_inner);
                *at = (*at + by).trunc_subsecs(6);
            }
            Kind::Shifted(shift) => {
                let mut shift = shift.lock().unwrap_or_else(PoisonError::into_inner);
                match shift.held {
                    Some(at) => shift.held = Some((at + by).trunc_subsecs(6)),
                    None => shift.offset += by,
                }
            }
        }
    }

    /// Stops a shifted clock where it stands: it reads the same instant until set, advanced or released,
    /// so a replayed programme's times do not depend on how long its calls take. Other clocks ignore it.
    pub fn hold(&self) {
        if let Kind::Shifted(shift) = &self.kind {
            let mut shift = shift.lock().unwrap_or_else(PoisonError::into_inner);
            let now = shift.now();
            shift.held = Some(now);
        }
    }

    /// Lets a held shifted clock run again from the instant it stands at.
    pub fn release(&self) {
        if let Kind::Shifted(shift) = &self.kind {
            let mut shift = shift.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(at) = shift.held.take() {
                shift.offset = at - Utc::now();
            }
        }
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        matches!(self.kind, Kind::Manual(_))
    }

    /// Makes this clock the process clock that [`now`] reads. The first installation wins; a later one
    /// returns false and changes nothing.
    pub fn install(&self) -> bool {
        PROCESS.set(self.clone()).is_ok()
    }
}

static PROCESS: OnceLock<Clock> = OnceLock::new();

/// The current instant on the process clock: the system clock unless a clock was installed (the
/// embedded suite's demonstration programme installs a shifted one). Record times, event times and
/// "today" of the services read it.
pub fn now() -> DateTime<Utc> {
    match PROCESS.get() {
        Some(clock) => clock.now(),
        None => Utc::now().trunc_subsecs(6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manual_clock_is_shared_by_its_clones() {
        let start =
            DateTime::parse_from_rfc3339("2024-01-15T09:00:00+08:00").expect("valid instant").with_timezone(&Utc);
        let clock = Clock::manual(start);
        let other = clock.clone();
        other.advance(TimeDelta::days(182));
        assert_eq!(clock.now(), start + TimeDelta::days(182));
        clock.set(start);
        assert_eq!(other.now(), start);
        assert!(!Clock::system().is_manual());
    }

    #[test]
    fn a_shifted_clock_runs_from_where_it_was_set() {
        let start =
            DateTime::parse_from_rfc3339("2023-01-02T09:00:00+08:00").expect("valid instant").with_timezone(&Utc);
        let clock = Clock::shifted(start);
        let read = clock.now();
        assert!(read >= start && read - start < TimeDelta::seconds(5), "{read} is not just after {start}");
        clock.advance(TimeDelta::days(30));
        assert!(clock.now() - start >= TimeDelta::days(30));
        clock.set(start);
        assert!(clock.now() - start < TimeDelta::seconds(5));
        assert!(!clock.is_manual());
        clock.hold();
        clock.set(start);
        clock.advance(TimeDelta::hours(1));
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(clock.now(), start + TimeDelta::hours(1), "a held clock stands still");
        clock.release();
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(clock.now() > start + TimeDelta::hours(1), "a released clock runs again");
    }
}
