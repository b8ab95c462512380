//! The time a service reads: the system clock in production, a clock a test sets and advances otherwise,
//! so rules about deadlines and quarters can be exercised end to end without waiting.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, SubsecRound, TimeDelta, Utc};

/// A source of the current instant, at the precision both storage backends keep (microseconds).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    manual: Option<Arc<Mutex<DateTime<Utc>>>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Self {
        Self { manual: None }
    }

    /// A clock that reads `start` until it is set or advanced; clones share it.
    pub fn manual(start: DateTime<Utc>) -> Self {
        Self { manual: Some(Arc::new(Mutex::new(start.trunc_subsecs(6)))) }
    }

    /// The current instant.
    pub fn now(&self) -> DateTime<Utc> {
        match &self.manual {
            None => Utc::now().trunc_subsecs(6),
            Some(at) => *at.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Sets a manual clock to `at`; the system clock cannot be set and ignores it.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Some(manual) = &self.manual {
            *manual.lock().unwrap_or_else(PoisonError::into_inner) = at.trunc_subsecs(6);
        }
    }

    /// Moves a manual clock forward by `by`; the system clock ignores it.
    pub fn advance(&self, by: TimeDelta) {
        if let Some(manual) = &self.manual {
            let mut at = manual.lock().unwrap_or_else(PoisonError::into_inner);
            *at = (*at + by).trunc_subsecs(6);
        }
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.manual.is_some()
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
}
