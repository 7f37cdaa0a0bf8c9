//! A token bucket for what one peer sends: `burst` messages at once, then `per_second`.

use std::time::Instant;

/// How fast one peer may send, for a WebSocket handler's `on_message`:
///
/// ```ignore
/// if !self.limit.allow() {
///     self.sender.close(close_code::POLICY, "too fast");
/// }
/// ```
#[derive(Clone, Debug)]
pub struct RateLimit {
    burst: f64,
    per_second: f64,
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    /// `burst` messages at once, refilled at `per_second` (both at least 1).
    #[must_use]
    pub fn new(per_second: u32, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        RateLimit {
            burst,
            per_second: f64::from(per_second.max(1)),
            tokens: burst,
            at: Instant::now(),
        }
    }

    /// Whether one more message may go now (it is counted if so).
    pub fn allow(&mut self) -> bool {
        self.allow_at(Instant::now())
    }

    fn allow_at(&mut self, now: Instant) -> bool {
        let refill = now.duration_since(self.at).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_rate() {
        let mut limit = RateLimit::new(2, 5);
        let start = limit.at;
        let first: Vec<bool> = (0..7).map(|_| limit.allow_at(start)).collect();
        assert_eq!(first, [true, true, true, true, true, false, false]);
        // Half a second later: one more (2 per second).
        let later = start + Duration::from_millis(500);
        assert!(limit.allow_at(later));
        assert!(!limit.allow_at(later));
        // A long pause refills the burst, no more.
        let much_later = later + Duration::from_mins(1);
        assert_eq!((0..6).filter(|_| limit.allow_at(much_later)).count(), 5);
    }
}
