//! Which fault a request gets: drawn from one seeded generator, at most once
//! per distinct request body, so the SDK's retry of a faulted request always
//! goes through.

use crate::Config;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// Sent on after a pause.
    Stall,
    /// Refused before it reaches the table.
    Throttle,
    /// HTTP 500 before it reaches the table.
    Error,
    /// Applied, then answered with HTTP 500 (writes only).
    Lost,
}

pub struct Faults {
    rates: [(Fault, f64); 4],
    rng: Mutex<StdRng>,
    /// Bodies already faulted once.
    seen: Mutex<HashSet<u64>>,
}

impl Faults {
    pub fn new(config: &Config) -> Self {
        Faults {
            rates: [
                (Fault::Stall, config.stall),
                (Fault::Throttle, config.throttle),
                (Fault::Error, config.error),
                (Fault::Lost, config.lost),
            ],
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// The fault for a request; `Lost` only for writes.
    pub fn draw(&self, body: &[u8], is_write: bool) -> Fault {
        let roll: f64 = self.rng.lock().unwrap().random();
        let mut threshold = 0.0;
        let fault = self
            .rates
            .iter()
            .filter(|(fault, _)| is_write || *fault != Fault::Lost)
            .find(|(_, rate)| {
                threshold += rate;
                roll < threshold
            })
            .map_or(Fault::None, |(fault, _)| *fault);
        if fault == Fault::None {
            return fault;
        }
        let mut hasher = DefaultHasher::new();
        body.hash(&mut hasher);
        if self.seen.lock().unwrap().insert(hasher.finish()) {
            fault
        } else {
            Fault::None
        }
    }

    /// How long a transaction holds its items before it is sent on.
    pub fn hold(&self, max: Duration) -> Duration {
        let millis = max.as_millis() as u64;
        Duration::from_millis(self.rng.lock().unwrap().random_range(0..=millis))
    }
}
