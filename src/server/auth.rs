//! Password checks that an attacker cannot turn against the server (AUTHINFO PASS).
//!
//! - [`Pool`]: argon2 runs on a few threads of its own, as many as the memory budget
//!   (`auth_memory_mb`) holds hashes of the configured cost; each thread keeps its hashing
//!   memory and reuses it, so nothing is left behind in per-thread allocator arenas. Checks
//!   wait in a bounded queue, first come first served among equals, but a request from an
//!   address and for a user name without recent failures goes before suspect ones (a user's
//!   login is not queued behind an attack); when the queue is full the newest suspect request
//!   is refused (`403`), never a new thread.
//! - [`Limiter`]: recent failures per source address and per user name, kept for a window and
//!   in bounded maps. After a failure the answer waits (a delay doubling with the failures of
//!   the connection, the address or the user name, up to a cap); past a budget of failures an
//!   address's attempts are not checked at all (still answered `481`, after the longest
//!   delay). The session closes a connection after a few failures.
//! - An unknown user name is checked against a credential of the same cost, so it costs the
//!   same time and gets the same `481`.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{Output, PasswordHash};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::oneshot;

/// The first failure's delay; each further one doubles it, up to [`MAX_DELAY`].
pub const BASE_DELAY: Duration = Duration::from_millis(500);
pub const MAX_DELAY: Duration = Duration::from_secs(8);
/// How long a failure counts against an address or a user name.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries each failure map keeps at most (addresses, user names): an attacker inventing
/// names or addresses cannot grow them further.
const MAX_ENTRIES: usize = 1 << 16;

/// A stored password hash, parsed once.
pub struct Credential {
    algorithm: Algorithm,
    version: Version,
    params: Params,
    salt: Vec<u8>,
    expected: Output,
}

impl Credential {
    /// Parses a PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    pub fn parse(phc: &str) -> Option<Credential> {
        let hash = PasswordHash::new(phc).ok()?;
        let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
        let version = hash.version.map_or(Some(Version::default()), |v| Version::try_from(v).ok())?;
        let params = Params::try_from(&hash).ok()?;
        let mut salt = [0u8; 64];
        let salt = hash.salt?.decode_b64(&mut salt).ok()?.to_vec();
        Some(Credential { algorithm, version, params, salt, expected: hash.hash? })
    }

    /// A credential of the same cost as `like` that no password matches: what an unknown user
    /// name is checked against.
    fn decoy(like: &Credential) -> Credential {
        let zeros = vec![0u8; like.expected.len()];
        Credential {
            algorithm: like.algorithm,
            version: like.version,
            params: like.params.clone(),
            salt: like.salt.iter().map(|b| b ^ 0x5a).collect(),
            expected: Output::new(&zeros).unwrap_or(like.expected),
        }
    }

    /// Bytes of hashing memory one check takes.
    pub fn memory(&self) -> usize {
        self.params.block_count() * Block::SIZE
    }

    /// Checks `password`, hashing in `memory` (grown to fit, never shrunk).
    fn verify(&self, password: &[u8], memory: &mut Vec<Block>) -> bool {
        let blocks = self.params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let argon = Argon2::new(self.algorithm, self.version, self.params.clone());
        let mut out = vec![0u8; self.expected.len()];
        argon.hash_password_into_with_memory(password, &self.salt, &mut out, &mut memory[..blocks]).is_ok()
            && Output::new(&out).is_ok_and(|got| got == self.expected)
    }
}

/// The configured users' credentials.
pub struct Credentials {
    users: HashMap<String, Arc<Credential>>,
    decoy: Option<Arc<Credential>>,
}

impl Credentials {
    /// From `(name, PHC string)` pairs; unparsable hashes (the config refuses them) are left out.
    pub fn new<'a>(users: impl IntoIterator<Item = (&'a str, &'a str)>) -> Credentials {
        let users: HashMap<String, Arc<Credential>> = users
            .into_iter()
            .filter_map(|(name, phc)| Some((name.to_string(), Arc::new(Credential::parse(phc)?))))
            .collect();
        let costliest = users.values().max_by_key(|c| c.memory());
        let decoy = costliest.map(|c| Arc::new(Credential::decoy(c)));
        Credentials { users, decoy }
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    pub fn knows(&self, user: &str) -> bool {
        self.users.contains_key(user)
    }

    /// What to check a password of `user` against: theirs, or the decoy for an unknown name.
    pub fn for_user(&self, user: &str) -> Option<Arc<Credential>> {
        self.users.get(user).or(self.decoy.as_ref()).cloned()
    }

    /// The largest hashing memory one check takes.
    pub fn max_memory(&self) -> usize {
        self.users.values().map(|c| c.memory()).max().unwrap_or(0)
    }
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Accepted,
    Rejected,
    /// The queue was full: not checked.
    Busy,
}

struct Job {
    credential: Arc<Credential>,
    password: Vec<u8>,
    reply: Option<oneshot::Sender<Verdict>>,
}

impl Job {
    fn answer(mut self, verdict: Verdict) {
        if let Some(reply) = self.reply.take() {
            let _ = reply.send(verdict);
        }
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        // The password does not linger in freed memory.
        self.password.iter_mut().for_each(|b| *b = 0);
    }
}

#[derive(Default)]
struct Queue {
    /// By (suspicion, arrival): the first entry is the next to check.
    jobs: BTreeMap<(u32, u64), Job>,
    arrivals: u64,
    closed: bool,
}

struct Inner {
    queue: Mutex<Queue>,
    ready: Condvar,
    capacity: usize,
}

/// The password-check threads and their queue. Dropping the pool stops its threads once the
/// queue is empty.
pub struct Pool {
    inner: Arc<Inner>,
    pub workers: usize,
}

impl Pool {
    /// Threads for `budget` bytes of hashing memory at `per_check` bytes each (at least one,
    /// and no more than the machine has cores: hashing is all CPU, more threads would only
    /// hold more memory), and a queue of `capacity` waiting checks.
    pub fn new(budget: usize, per_check: usize, capacity: usize) -> Pool {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = (budget / per_check.max(1)).min(cores).clamp(1, 64);
        let inner = Arc::new(Inner { queue: Mutex::new(Queue::default()), ready: Condvar::new(), capacity });
        for i in 0..workers {
            let inner = inner.clone();
            let spawned = std::thread::Builder::new().name(format!("auth-{i}")).spawn(move || work(&inner));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password-check thread");
            }
        }
        Pool { inner, workers }
    }

    /// Queues a check; `suspicion` orders it behind requests with fewer recent failures.
    pub async fn check(&self, credential: Arc<Credential>, password: &[u8], suspicion: u32) -> Verdict {
        let (reply, answer) = oneshot::channel();
        let job = Job { credential, password: password.to_vec(), reply: Some(reply) };
        {
            let mut queue = self.inner.queue.lock().unwrap_or_else(|e| e.into_inner());
            if queue.jobs.len() >= self.inner.capacity {
                // Full: the newest of the most suspect requests goes, if it is more suspect than
                // this one; otherwise this one.
                match queue.jobs.last_key_value().map(|(k, _)| *k) {
                    Some(last) if last.0 > suspicion => {
                        if let Some(evicted) = queue.jobs.remove(&last) {
                            evicted.answer(Verdict::Busy);
                        }
                    }
                    _ => return Verdict::Busy,
                }
            }
            queue.arrivals += 1;
            let key = (suspicion, queue.arrivals);
            queue.jobs.insert(key, job);
        }
        self.inner.ready.notify_one();
        answer.await.unwrap_or(Verdict::Busy)
    }

    /// Checks waiting now.
    pub fn waiting(&self) -> usize {
        self.inner.queue.lock().unwrap_or_else(|e| e.into_inner()).jobs.len()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.inner.queue.lock().unwrap_or_else(|e| e.into_inner()).closed = true;
        self.inner.ready.notify_all();
    }
}

fn work(inner: &Inner) {
    let mut memory: Vec<Block> = Vec::new();
    loop {
        let job = {
            let mut queue = inner.queue.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if let Some((_, job)) = queue.jobs.pop_first() {
                    break job;
                }
                if queue.closed {
                    return;
                }
                queue = inner.ready.wait(queue).unwrap_or_else(|e| e.into_inner());
            }
        };
        let ok = job.credential.verify(&job.password, &mut memory);
        job.answer(if ok { Verdict::Accepted } else { Verdict::Rejected });
    }
}

#[derive(Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    /// For a user name: when the next check from a suspect address may start.
    gate: Instant,
}

/// Recent failures in a bounded map.
struct Failures<K> {
    map: HashMap<K, Record>,
}

impl<K: Hash + Eq + Clone> Failures<K> {
    fn new() -> Self {
        Failures { map: HashMap::new() }
    }

    fn get(&self, key: &K, now: Instant) -> u32 {
        self.map.get(key).filter(|r| now.duration_since(r.last) < WINDOW).map_or(0, |r| r.failures)
    }

    fn add(&mut self, key: &K, now: Instant) -> u32 {
        if self.map.len() >= MAX_ENTRIES && !self.map.contains_key(key) {
            self.map.retain(|_, r| now.duration_since(r.last) < WINDOW);
            if self.map.len() >= MAX_ENTRIES {
                // Still full of recent entries: keep the newer half.
                let mut ages: Vec<Instant> = self.map.values().map(|r| r.last).collect();
                ages.sort_unstable();
                let cut = ages[ages.len() / 2];
                self.map.retain(|_, r| r.last > cut);
            }
        }
        let record = self.map.entry(key.clone()).or_insert(Record { failures: 0, last: now, gate: now });
        if now.duration_since(record.last) >= WINDOW {
            record.failures = 0;
        }
        record.failures = record.failures.saturating_add(1);
        record.last = now;
        record.failures
    }
}

/// When a check may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Now,
    /// A suspect attempt on a user name under attack waits its turn: checks of that name from
    /// addresses that have failed are spaced by the name's delay, however many addresses the
    /// attacker has.
    At(Instant),
    /// Its turn would be further away than the longest delay: not checked.
    Refused,
}

/// Failures per source address and per user name, shared by every session (and kept across
/// configuration reloads).
pub struct Limiter {
    addresses: Mutex<Failures<IpAddr>>,
    users: Mutex<Failures<String>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter { addresses: Mutex::new(Failures::new()), users: Mutex::new(Failures::new()) }
    }
}

impl Limiter {
    /// Recent failures of (address, user name).
    pub fn failures(&self, address: IpAddr, user: &str) -> (u32, u32) {
        let now = Instant::now();
        let a = self.addresses.lock().unwrap_or_else(|e| e.into_inner()).get(&address, now);
        let u = self.users.lock().unwrap_or_else(|e| e.into_inner()).get(&user.to_string(), now);
        (a, u)
    }

    /// When an attempt from `address` on `user` may be checked. Attempts from an address
    /// without recent failures, or on a name without any, go at once; the others are spaced
    /// out per user name.
    pub fn admit(&self, address: IpAddr, user: &str) -> Admission {
        let now = Instant::now();
        if self.addresses.lock().unwrap_or_else(|e| e.into_inner()).get(&address, now) == 0 {
            return Admission::Now;
        }
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let failures = users.get(&user.to_string(), now);
        let Some(record) = users.map.get_mut(user).filter(|_| failures > 0) else { return Admission::Now };
        let slot = record.gate.max(now);
        if slot.duration_since(now) > MAX_DELAY {
            return Admission::Refused;
        }
        record.gate = slot + delay(failures);
        if slot == now { Admission::Now } else { Admission::At(slot) }
    }

    /// Counts a failure; returns the failures of (address, user name) now.
    pub fn failed(&self, address: IpAddr, user: &str) -> (u32, u32) {
        let now = Instant::now();
        let a = self.addresses.lock().unwrap_or_else(|e| e.into_inner()).add(&address, now);
        let u = self.users.lock().unwrap_or_else(|e| e.into_inner()).add(&user.to_string(), now);
        (a, u)
    }
}

/// How long to wait before answering the `n`th failure.
pub fn delay(n: u32) -> Duration {
    let doublings = n.saturating_sub(1).min(16);
    (BASE_DELAY * 2u32.pow(doublings)).min(MAX_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(password: &str) -> String {
        use argon2::PasswordHasher;
        let params = Params::new(64, 1, 1, None).unwrap();
        let salt = argon2::password_hash::SaltString::encode_b64(b"0123456789abcdef").unwrap();
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn checks_agree_with_the_argon2_crate() {
        let creds = Credentials::new([("alice", hash("right").as_str())]);
        let pool = Pool::new(1 << 20, creds.max_memory(), 4);
        let alice = creds.for_user("alice").unwrap();
        assert_eq!(pool.check(alice.clone(), b"right", 0).await, Verdict::Accepted);
        assert_eq!(pool.check(alice, b"wrong", 0).await, Verdict::Rejected);
        // An unknown name is checked against a decoy of the same cost: never accepted.
        let nobody = creds.for_user("nobody").unwrap();
        assert_eq!(nobody.memory(), creds.for_user("alice").unwrap().memory());
        assert_eq!(pool.check(nobody, b"right", 0).await, Verdict::Rejected);
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        assert_eq!(delay(1), BASE_DELAY);
        assert_eq!(delay(2), BASE_DELAY * 2);
        assert_eq!(delay(3), BASE_DELAY * 4);
        assert_eq!(delay(40), MAX_DELAY);
    }

    #[test]
    fn attempts_on_a_name_under_attack_are_spaced_out() {
        let limiter = Limiter::default();
        let (attacker, user): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "198.51.100.1".parse().unwrap());
        assert_eq!(limiter.admit(attacker, "alice"), Admission::Now);
        limiter.failed(attacker, "alice");
        limiter.failed(attacker, "alice");
        // Suspect attempts on alice: one now, the next a delay later, and so on, until the
        // queue of turns is longer than the longest delay.
        assert_eq!(limiter.admit(attacker, "alice"), Admission::Now);
        assert!(matches!(limiter.admit(attacker, "alice"), Admission::At(_)));
        let mut refused = false;
        for _ in 0..20 {
            refused |= limiter.admit(attacker, "alice") == Admission::Refused;
        }
        assert!(refused);
        // A clean address, or another name, is not held up.
        assert_eq!(limiter.admit(user, "alice"), Admission::Now);
        assert_eq!(limiter.admit(attacker, "bob"), Admission::Now);
    }

    #[test]
    fn failure_maps_stay_bounded() {
        let mut f = Failures::new();
        let now = Instant::now();
        for i in 0..(MAX_ENTRIES as u32 + 10) {
            f.add(&i, now);
        }
        assert!(f.map.len() <= MAX_ENTRIES);
        assert_eq!(f.add(&7u32, now + WINDOW), 1, "an old failure no longer counts");
    }
}
