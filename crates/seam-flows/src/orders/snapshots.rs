//! Orders the events poll read in bulk, held briefly for the jobs that the
//! same poll queued.
//!
//! Centra's request budget (60 per 10 s on the Growth tier) is what bounds
//! order intake: reading each order on its own costs a request per event,
//! and every order has at least two events (created, and updated by Seam's
//! own confirmation). The poll reads the orders of a page of events in one
//! request instead and leaves each here, tagged with the events it answers.
//! A job takes the snapshot only for its own event: the snapshot was read
//! after that event happened, so it is at least as new as the job needs.
//! Anything else (a webhook, the updatedAt poll, a restart, another process
//! on PostgreSQL, an entry pushed out) finds nothing and reads the order
//! itself, as before. Nothing here is durable, and nothing needs to be.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// Orders held at most; the oldest go first. Enough for a few polls' worth
/// of pages while the runner catches up.
const CAPACITY: usize = 20_000;

/// Generic over the order type so that its rules are tested on their own;
/// the flow holds `seam_connectors::centra::Order`s.
pub(crate) struct Snapshots<Order> {
    inner: Mutex<Inner<Order>>,
}

impl<Order> Default for Snapshots<Order> {
    fn default() -> Self {
        Snapshots {
            inner: Mutex::new(Inner {
                by_number: HashMap::new(),
                arrival: VecDeque::new(),
            }),
        }
    }
}

struct Inner<Order> {
    by_number: HashMap<i64, Snapshot<Order>>,
    /// Insertion order, for eviction (a number may appear more than once).
    arrival: VecDeque<i64>,
}

struct Snapshot<Order> {
    order: Order,
    /// The queue events this snapshot answers, not yet taken.
    events: Vec<String>,
}

impl<Order: Clone> Snapshots<Order> {
    /// Holds `order` for the jobs of `events`. A newer read of the same
    /// order replaces the older one and answers its events too.
    pub fn put(&self, number: i64, order: Order, events: Vec<String>) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut answered = events;
        if let Some(previous) = inner.by_number.remove(&number) {
            answered.extend(previous.events);
        }
        inner.by_number.insert(
            number,
            Snapshot {
                order,
                events: answered,
            },
        );
        inner.arrival.push_back(number);
        while inner.by_number.len() > CAPACITY {
            let Some(oldest) = inner.arrival.pop_front() else {
                break;
            };
            inner.by_number.remove(&oldest);
        }
        // Numbers re-put or taken leave stale arrivals behind; keep the
        // queue bounded too.
        if inner.arrival.len() > CAPACITY * 2 {
            let Inner {
                by_number, arrival, ..
            } = &mut *inner;
            arrival.retain(|n| by_number.contains_key(n));
        }
    }

    /// The snapshot read for `event` of order `number`, if the poll left one.
    pub fn take(&self, number: i64, event: &str) -> Option<Order> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let snapshot = inner.by_number.get_mut(&number)?;
        let position = snapshot.events.iter().position(|e| e == event)?;
        snapshot.events.swap_remove(position);
        let order = snapshot.order.clone();
        if snapshot.events.is_empty() {
            inner.by_number.remove(&number);
        }
        Some(order)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .by_number
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_answers_only_the_events_it_was_read_for_and_each_once() {
        let snapshots = Snapshots::default();
        snapshots.put(7, "v1", vec!["100".into(), "101".into()]);
        assert_eq!(snapshots.take(7, "999"), None, "another event reads itself");
        assert_eq!(snapshots.take(8, "100"), None, "another order");
        assert_eq!(snapshots.take(7, "100"), Some("v1"));
        assert_eq!(snapshots.take(7, "100"), None, "taken once");
        assert_eq!(snapshots.take(7, "101"), Some("v1"));
        assert_eq!(snapshots.len(), 0, "gone once every event took it");
    }

    #[test]
    fn a_newer_read_answers_the_older_events_too() {
        let snapshots = Snapshots::default();
        snapshots.put(7, "v1", vec!["100".into()]);
        snapshots.put(7, "v2", vec!["102".into()]);
        assert_eq!(snapshots.take(7, "100"), Some("v2"));
        assert_eq!(snapshots.take(7, "102"), Some("v2"));
    }

    #[test]
    fn it_holds_at_most_its_capacity_dropping_the_oldest() {
        let snapshots = Snapshots::default();
        for number in 0..(CAPACITY as i64 + 10) {
            snapshots.put(number, number, vec![number.to_string()]);
        }
        assert_eq!(snapshots.len(), CAPACITY);
        assert_eq!(snapshots.take(0, "0"), None, "the oldest went first");
        let last = CAPACITY as i64 + 9;
        assert_eq!(snapshots.take(last, &last.to_string()), Some(last));
    }
}
