//! Idle sessions' wake-ups. A session waiting for its next command holds no timer and no
//! shutdown watch of its own (a tokio `Sleep` and a `watch::Receiver::changed` future were a
//! fifth of an idle connection's memory): it joins the bucket of the moment it went idle, and
//! one task fires each bucket once the idle timeout of its members has passed, and every
//! bucket at shutdown. A timeout is late by at most one granule: 1/16 of the timeout, between
//! 10 ms and 1 s.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Sessions that went idle within one granule of each other (with the same timeout).
#[derive(Default)]
pub struct Bucket {
    fired: AtomicBool,
    notify: Notify,
}

impl Bucket {
    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        self.notify.notify_waiters();
    }

    /// Resolves once the bucket has fired (at once if it already has).
    pub async fn fired(&self) {
        let notified = self.notify.notified();
        if self.fired.load(Ordering::SeqCst) {
            return;
        }
        notified.await;
    }
}

#[derive(Default)]
pub struct IdleClock {
    inner: Mutex<Inner>,
    /// A bucket was queued in front of the one the clock's task sleeps for.
    sooner: Notify,
    stopping: AtomicBool,
}

#[derive(Default)]
struct Inner {
    /// The bucket sessions join now: when it opened, for which timeout.
    open: Option<(Instant, Duration, Arc<Bucket>)>,
    /// Buckets not fired yet, by deadline.
    pending: VecDeque<(Instant, Weak<Bucket>)>,
}

fn granule(timeout: Duration) -> Duration {
    (timeout / 16).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

impl IdleClock {
    /// The bucket a session going idle now, with this timeout, waits on. It fires no sooner
    /// than `timeout` from now (or at shutdown).
    pub fn bucket(&self, timeout: Duration) -> Arc<Bucket> {
        let now = Instant::now();
        let granule = granule(timeout);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((opened, t, bucket)) = &inner.open
            && *t == timeout
            && now < *opened + granule
        {
            return bucket.clone();
        }
        let bucket = Arc::new(Bucket::default());
        if self.stopping.load(Ordering::SeqCst) {
            bucket.fire();
            return bucket;
        }
        // Every member joined within `granule` after `now`, and waits at least `timeout`.
        let deadline = now + granule + timeout;
        let at = inner.pending.partition_point(|(d, _)| *d <= deadline);
        inner.pending.insert(at, (deadline, Arc::downgrade(&bucket)));
        inner.open = Some((now, timeout, bucket.clone()));
        if at == 0 {
            self.sooner.notify_one();
        }
        bucket
    }

    /// Is the server shutting down?
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Fires every bucket, now and from now on.
    fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.open = None;
        for (_, bucket) in inner.pending.drain(..) {
            if let Some(bucket) = bucket.upgrade() {
                bucket.fire();
            }
        }
    }

    /// Fires the buckets whose deadline has passed; returns the next deadline.
    fn fire_due(&self) -> Option<Instant> {
        let now = Instant::now();
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((deadline, bucket)) = inner.pending.front() {
            if *deadline > now {
                return Some(*deadline);
            }
            if let Some(bucket) = bucket.upgrade() {
                bucket.fire();
            }
            inner.pending.pop_front();
        }
        None
    }

    /// The clock's task: fires buckets as they fall due, and all of them once `shutdown`
    /// says so (or its sender is gone).
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            let next = self.fire_due();
            let sooner = self.sooner.notified();
            tokio::select! {
                _ = async {
                    match next {
                        Some(deadline) => tokio::time::sleep_until(deadline).await,
                        None => std::future::pending().await,
                    }
                } => {}
                _ = sooner => {}
                changed = shutdown.changed() => if changed.is_err() {
                    break;
                },
            }
        }
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn buckets_fire_after_their_timeout_and_all_at_shutdown() {
        let clock = Arc::new(IdleClock::default());
        let (stop, shutdown) = watch::channel(false);
        let task = tokio::spawn(clock.clone().run(shutdown));
        let start = Instant::now();
        let short = clock.bucket(Duration::from_secs(16));
        // Joined within the granule (1 s): the same bucket.
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(Arc::ptr_eq(&short, &clock.bucket(Duration::from_secs(16))));
        let long = clock.bucket(Duration::from_secs(600));
        short.fired().await;
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(16) && waited <= Duration::from_secs(18), "{waited:?}");
        assert!(!long.fired.load(Ordering::SeqCst));
        stop.send(true).unwrap();
        long.fired().await;
        assert!(clock.stopping());
        assert!(clock.bucket(Duration::from_secs(600)).fired.load(Ordering::SeqCst));
        task.await.unwrap();
    }
}
