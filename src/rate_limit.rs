//! Request quotas with `governor`: per API key, and per client IP for requests without a valid key.
//! Every decision carries the values of the `RateLimit-*` headers.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::config::RateLimitSettings;

type Keyed<K> = RateLimiter<K, DefaultKeyedStateStore<K>, DefaultClock, StateInformationMiddleware>;

/// The outcome of one check, with what the `RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Requests allowed in a burst (`RateLimit-Limit`).
    pub limit: u32,
    /// Requests left right now (`RateLimit-Remaining`).
    pub remaining: u32,
    /// Seconds until the quota is whole again (`RateLimit-Reset`).
    pub reset: u64,
    /// Set when the request is refused: seconds to wait (`Retry-After`).
    pub retry_after: Option<u64>,
}

struct Limiter<K: Clone + Hash + Eq> {
    state: Keyed<K>,
    burst: u32,
    per_second: u32,
}

impl<K: Clone + Hash + Eq> Limiter<K> {
    fn new(per_second: u32, burst: u32) -> Self {
        let per_second_nz = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst_nz = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(per_second_nz).allow_burst(burst_nz);
        Self {
            state: RateLimiter::keyed(quota).with_middleware::<StateInformationMiddleware>(),
            burst,
            per_second,
        }
    }

    fn check(&self, key: &K) -> Decision {
        match self.state.check_key(key) {
            Ok(snapshot) => {
                let remaining = snapshot.remaining_burst_capacity();
                let missing = u64::from(self.burst.saturating_sub(remaining));
                Decision {
                    limit: self.burst,
                    remaining,
                    reset: missing.div_ceil(u64::from(self.per_second)),
                    retry_after: None,
                }
            }
            Err(not_until) => {
                let wait = not_until.wait_time_from(self.state.clock().now());
                let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let seconds = seconds.max(1);
                Decision {
                    limit: self.burst,
                    remaining: 0,
                    reset: seconds,
                    retry_after: Some(seconds),
                }
            }
        }
    }

    fn purge(&self) {
        self.state.retain_recent();
        self.state.shrink_to_fit();
    }
}

/// Both limiters.
pub struct RateLimits {
    keys: Limiter<String>,
    ips: Limiter<IpAddr>,
}

impl RateLimits {
    /// Limiters with the configured quotas.
    #[must_use]
    pub fn new(settings: &RateLimitSettings) -> Self {
        Self {
            keys: Limiter::new(settings.per_second, settings.burst),
            ips: Limiter::new(settings.ip_per_second, settings.ip_burst),
        }
    }

    /// Spends one request of an API key's quota (keyed by the key's id).
    #[must_use]
    pub fn check_key(&self, key_id: &str) -> Decision {
        self.keys.check(&key_id.to_owned())
    }

    /// Spends one request of a client IP's quota (requests without a valid key).
    #[must_use]
    pub fn check_ip(&self, ip: IpAddr) -> Decision {
        self.ips.check(&ip)
    }

    /// Forgets keys and IPs whose quota is whole again, so the state stays bounded.
    pub fn purge(&self) {
        self.keys.purge();
        self.ips.purge();
    }

    /// Keys and IPs currently tracked.
    #[must_use]
    pub fn tracked(&self) -> usize {
        self.keys.state.len() + self.ips.state.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_second: u32, burst: u32) -> RateLimits {
        RateLimits::new(&RateLimitSettings {
            per_second,
            burst,
            ip_per_second: 1,
            ip_burst: 2,
        })
    }

    #[test]
    fn a_burst_is_allowed_then_refused_with_a_wait() {
        let limits = limits(1, 3);
        let remaining: Vec<u32> = (0..3).map(|_| limits.check_key("k").remaining).collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = limits.check_key("k");
        assert_eq!(refused.retry_after, Some(1));
        assert_eq!(refused.remaining, 0);
        assert!(
            limits.check_key("other").retry_after.is_none(),
            "other keys keep their quota"
        );
    }

    #[test]
    fn purging_forgets_whole_quotas_only() {
        let limits = limits(1, 5);
        let _ = limits.check_key("k");
        assert_eq!(limits.tracked(), 1);
        limits.purge();
        assert_eq!(limits.tracked(), 1, "a partly spent quota is kept");
    }
}
