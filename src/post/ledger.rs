//! What posting remembers across sessions (and reloads): posts per hour by user, From
//! address and client address, and the Message-IDs posted in the last day. Bounded: keys
//! whose posts are all older than the window are dropped, and past [`MAX_KEYS`] the oldest go.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The rate window.
pub const HOUR: Duration = Duration::from_secs(3600);
/// Message-IDs are remembered this long.
const REMEMBER: Duration = Duration::from_secs(24 * 3600);
/// At most this many rate keys and remembered ids (each a few dozen bytes).
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct Ledger {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Post times per key (`user:…`, `from:…`, `addr:…`), oldest first.
    posts: HashMap<String, VecDeque<Instant>>,
    /// Message-IDs posted or being posted, with when.
    ids: HashMap<String, Instant>,
    /// The same ids in the order they came, for expiry.
    id_order: VecDeque<(Instant, String)>,
}

impl Ledger {
    /// The first key that reached `per_hour` posts in the last hour, with how long until it
    /// may post again.
    pub fn over_limit(&self, keys: &[String], per_hour: u32) -> Option<(String, Duration)> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        for key in keys {
            if let Some(times) = inner.posts.get_mut(key) {
                while times.front().is_some_and(|t| now.duration_since(*t) >= HOUR) {
                    times.pop_front();
                }
                if times.len() >= per_hour as usize
                    && let Some(oldest) = times.front()
                {
                    return Some((key.clone(), HOUR.saturating_sub(now.duration_since(*oldest))));
                }
            }
        }
        None
    }

    /// Counts a post against each key.
    pub fn record(&self, keys: &[String]) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if inner.posts.len() + keys.len() > MAX_KEYS {
            inner.posts.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < HOUR));
            while inner.posts.len() + keys.len() > MAX_KEYS {
                let Some(oldest) = inner.posts.iter().min_by_key(|(_, t)| t.back().copied()).map(|(k, _)| k.clone())
                else {
                    break;
                };
                inner.posts.remove(&oldest);
            }
        }
        for key in keys {
            inner.posts.entry(key.clone()).or_default().push_back(now);
        }
    }

    /// Claims a Message-ID for a post: false when it was posted (or is being posted) within
    /// the last day.
    pub fn claim(&self, id: &str) -> bool {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        while let Some((when, _)) = inner.id_order.front() {
            if now.duration_since(*when) < REMEMBER && inner.id_order.len() < MAX_KEYS {
                break;
            }
            if let Some((when, old)) = inner.id_order.pop_front()
                && inner.ids.get(&old) == Some(&when)
            {
                inner.ids.remove(&old);
            }
        }
        if inner.ids.contains_key(id) {
            return false;
        }
        inner.ids.insert(id.to_string(), now);
        inner.id_order.push_back((now, id.to_string()));
        true
    }

    /// Gives back a claimed id whose post failed (it may be posted again).
    pub fn release(&self, id: &str) {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).ids.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_per_key() {
        let l = Ledger::default();
        let keys = vec!["user:alice".to_string(), "addr:127.0.0.1".to_string()];
        for _ in 0..3 {
            assert_eq!(l.over_limit(&keys, 3), None);
            l.record(&keys);
        }
        let (key, wait) = l.over_limit(&keys, 3).unwrap();
        assert_eq!(key, "user:alice");
        assert!(wait > Duration::from_secs(3590));
        assert_eq!(l.over_limit(&["user:bob".to_string()], 3), None);
    }

    #[test]
    fn ids_are_claimed_once_until_released() {
        let l = Ledger::default();
        assert!(l.claim("<a@x>"));
        assert!(!l.claim("<a@x>"));
        l.release("<a@x>");
        assert!(l.claim("<a@x>"));
    }
}
