//! A topic as one process keeps it: its channel, its last id, its replay buffer; when it is
//! forgotten; where its ids start; and what a cursor gets from it.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use tokio::sync::broadcast;

use super::{Message, Received};

/// The topics of this process, and when those nobody uses were last forgotten.
#[derive(Debug)]
pub(super) struct Topics {
    pub(super) map: HashMap<String, Topic>,
    pub(super) swept: Instant,
}

#[derive(Debug)]
pub(super) struct Topic {
    pub(super) sender: broadcast::Sender<Received>,
    /// The last id seen (0: none yet).
    pub(super) last_id: u64,
    /// The first id of the sequence this process follows: a cursor before it is from an
    /// earlier sequence, or from before this process listened.
    pub(super) first_id: u64,
    pub(super) recent: VecDeque<Message>,
    /// When it last had a message or lost a subscriber.
    pub(super) touched: Instant,
}

impl Topic {
    pub(super) fn new(capacity: usize) -> Self {
        Topic {
            sender: broadcast::channel(capacity).0,
            last_id: 0,
            first_id: 0,
            recent: VecDeque::new(),
            touched: Instant::now(),
        }
    }
}

/// A topic nobody subscribes to is forgotten this long after its last message: long enough
/// for a browser to reconnect and get what it missed.
pub(super) const IDLE: Duration = Duration::from_mins(2);
/// How often idle topics are looked for.
pub(super) const SWEEP: Duration = Duration::from_secs(30);

/// Where a topic's ids start: a random number (below 2^51, so that ids stay exact in
/// JavaScript), so that a cursor from an earlier sequence of the same topic (the process
/// restarted, the topic was forgotten, a backend lost its counter) is never taken for one of
/// this sequence: it is told it lagged instead.
pub(super) fn first_id() -> u64 {
    (rand::random::<u64>() >> 13) + 1
}

/// What `topic` holds after the message `after`: its messages, led by a `Lagged` when the
/// replay buffer no longer reaches back that far.
pub(super) fn backlog(t: &Topic, after: u64) -> Vec<Received> {
    if after > t.last_id {
        // An id from another process (a restart, another instance): what was missed is
        // unknown.
        return vec![Received::Lagged(0)];
    }
    if after == t.last_id {
        return Vec::new();
    }
    if after == 0 {
        // No cursor: everything kept.
        return t.recent.iter().cloned().map(Received::Message).collect();
    }
    if after.saturating_add(1) < t.first_id {
        // From an earlier sequence of this topic, or from before this process followed it:
        // what was missed is unknown.
        let mut out = vec![Received::Lagged(0)];
        out.extend(t.recent.iter().cloned().map(Received::Message));
        return out;
    }
    let mut out = Vec::new();
    let oldest = t.recent.front().map_or(t.last_id + 1, |m| m.id);
    if after + 1 < oldest {
        out.push(Received::Lagged(oldest - after - 1));
    }
    out.extend(
        t.recent
            .iter()
            .filter(|m| m.id > after)
            .cloned()
            .map(Received::Message),
    );
    out
}
